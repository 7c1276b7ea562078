using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Policy.Temporal;

namespace RuntimeAuthz.Grains.Sessions;

/// <summary>
/// Snapshot of <see cref="AgentSessionGrain"/>: the session's header and counters, its temporal
/// history and recent decisions, as they were after evidence record <see cref="EvidenceSequence"/>.
/// Written off the decision path; the records after it replay the rest.
/// </summary>
/// <remarks>
/// Version 3: <see cref="Recent"/> keeps action and resource for the last few decisions only and no
/// request events (both are in the decisions' evidence records). Version 2 rows load the same way
/// (their extra fields are not kept in memory).
/// </remarks>
public sealed record SessionState
{
    public const int CurrentSchemaVersion = 3;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public SessionInfo? Session { get; init; }
    /// <summary>The evidence chain's head this snapshot includes: the last record's sequence (0 = none) and hash.</summary>
    public long EvidenceSequence { get; init; }
    public string? EvidenceHash { get; init; }
    public TemporalSessionState? History { get; init; }
    public IReadOnlyList<RecentDecision> Recent { get; init; } = [];
    /// <summary>The session's approval requests (see <see cref="Approvals.SessionApprovals"/>).</summary>
    public IReadOnlyList<ApprovalInfo> Approvals { get; init; } = [];

    /// <summary>
    /// What the grain keeps of a snapshot once it is written or read: the header. The ledger holds
    /// the rest; a copy here would double what a busy session costs in memory.
    /// </summary>
    public SessionState Header() => this with { History = null, Recent = [], Approvals = [] };
}

/// <summary>A recent decision an outcome may be reported for (allowed, unreported, within the window) or was.</summary>
public sealed record RecentDecision
{
    public Guid DecisionId { get; init; }
    /// <summary>The decision's evidence record.</summary>
    public long Sequence { get; init; }
    public DateTimeOffset At { get; init; }
    public DecisionOutcome Outcome { get; init; }
    public long RiskAdded { get; init; }
    public bool Reported { get; init; }
    /// <summary>Empty when not known without reading the decision's record (see <see cref="SessionLedger.WithRecord"/>).</summary>
    public string Action { get; init; } = "";
    public string Resource { get; init; } = "";
    /// <summary>Version 2 snapshots only (read, not kept): the request's temporal event is in its record's replay.</summary>
    public TemporalEvent? Request { get; init; }
}

/// <summary>Bounds of a session's state and of outcome reports.</summary>
public static class SessionLimits
{
    public const int MaxDetailChars = 2048;
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(7);
    /// <summary>Decisions remembered for outcome reports (and their at-most-once check); 32 bytes each in memory.</summary>
    public const int MaxRecentDecisions = 128;
    /// <summary>An outcome must be reported within this time after its decision.</summary>
    public static readonly TimeSpan OutcomeWindow = TimeSpan.FromHours(1);
    /// <summary>Events <see cref="IAgentSessionGrain.Get"/> returns; older ones are read page by page.</summary>
    public const int TimelinePage = 100;
    public const int MaxTimelinePage = 1000;

    public static string? Truncate(string? text) =>
        text is null || text.Length <= MaxDetailChars ? text : string.Concat(text.AsSpan(0, MaxDetailChars - 1), "…");
}

/// <summary>What a session record changes beyond its signed body, stored beside it (<see cref="EvidenceEntry.Replay"/>).</summary>
public sealed record SessionReplay
{
    public bool CountsAsActivity { get; init; }
    public bool ExpiresSession { get; init; }
    public TemporalEvent? Temporal { get; init; }
    /// <summary>The session as its open record created it (that record only): what a chain without a snapshot starts from.</summary>
    public SessionInfo? Opened { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this);

    public static SessionReplay? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json)) return null;
        try { return JsonSerializer.Deserialize<SessionReplay>(json); }
        catch (JsonException) { return null; }
    }
}

/// <summary>
/// The session's state as its evidence chain tells it. Every record, whether just written or read
/// back when the grain activates, goes through <see cref="Apply"/>, so the live state and the
/// rebuilt state are the same by construction.
/// </summary>
public sealed class SessionLedger
{
    private readonly RecentDecisions recent = new();

    private SessionLedger(SessionInfo session, EvidenceHead head, TemporalHistoryKeeper temporal, IEnumerable<RecentDecision> recent)
    {
        Session = session;
        Head = head;
        Temporal = temporal;
        foreach (var decision in recent) this.recent.Add(decision);
    }

    public SessionInfo Session { get; private set; }
    public EvidenceHead Head { get; private set; }
    public TemporalHistoryKeeper Temporal { get; }
    public Approvals.SessionApprovals Approvals { get; private init; } = new(null);
    /// <summary>The last <see cref="RecentDecisions.LabelledCount"/> decisions with their action and resource, oldest first.</summary>
    public IReadOnlyList<RecentDecision> Recent =>
        [.. Enumerable.Range(Math.Max(0, recent.Count - RecentDecisions.LabelledCount), Math.Min(recent.Count, RecentDecisions.LabelledCount)).Select(i => recent[i])];
    /// <summary>Records applied (and other changes) since the last snapshot was written.</summary>
    public long UnsnapshottedRecords => Changes - SnapshottedChanges;
    /// <summary>Counts every change; a snapshot remembers the count it was taken at.</summary>
    public long Changes { get; private set; }
    private long SnapshottedChanges { get; set; }

    public void MarkSnapshotted(long changes) => SnapshottedChanges = Math.Max(SnapshottedChanges, changes);

    public static SessionLedger Open(SessionInfo session) => new(session, EvidenceHead.Empty, new TemporalHistoryKeeper(null), []);

    public static SessionLedger? FromSnapshot(SessionState state) => state.Session is { } session
        ? new SessionLedger(session with { Events = [] }, new EvidenceHead(state.EvidenceSequence, state.EvidenceHash ?? EvidenceBody.GenesisHash),
            new TemporalHistoryKeeper(state.History), state.Recent) { Approvals = new(state.Approvals) }
        : null;

    public SessionState ToSnapshot()
    {
        return new SessionState
        {
            Session = Session, EvidenceSequence = Head.Sequence, EvidenceHash = Head.Hash, History = Temporal.Export(), Recent = [.. recent.All()], Approvals = [.. Approvals.All],
        };
    }

    /// <summary>The decision as remembered (its action and resource may be empty: <see cref="WithRecord"/> adds them).</summary>
    public RecentDecision? FindDecision(Guid decisionId) => recent.FindLast(decisionId) is var index and >= 0 ? recent[index] : null;

    /// <summary>
    /// <paramref name="decision"/> with what only its evidence record keeps: action, resource and, for an
    /// allowed decision under temporal policies, the request's temporal event (stored beside the record).
    /// </summary>
    public static (RecentDecision Decision, TemporalEvent? Request) WithRecord(RecentDecision decision, EvidenceEntry? record)
    {
        if (record is null || record.Sequence != decision.Sequence) return (decision, null);
        EvidenceBody body;
        try { body = EvidenceSealer.ParseBody(record.Body); }
        catch (JsonException) { return (decision, null); }
        if (!Guid.TryParse(body.DecisionId, out var id) || id != decision.DecisionId) return (decision, null);
        var request = decision.Outcome == DecisionOutcome.Allow && body.Supersedes is null ? SessionReplay.Parse(record.Replay)?.Temporal : null;
        return (decision with { Action = body.Action ?? "", Resource = body.Resource ?? "" }, request);
    }

    /// <summary>Changes the session without a record (close; expiry found on reading).</summary>
    public void Update(Func<SessionInfo, SessionInfo> change)
    {
        Session = change(Session);
        Changes++;
    }

    /// <summary>
    /// Applies one record of the session's chain. <paramref name="replayTemporal"/> is false for a
    /// decision just made live (its request event was recorded while deciding).
    /// </summary>
    public void Apply(EvidenceBody body, SessionReplay? replay, EvidenceHead head, CompiledPolicy? policy, bool replayTemporal)
    {
        var at = ParseTime(body.Time);
        Guid.TryParse(body.DecisionId, out var decisionId);
        switch (body.Kind)
        {
            case EvidenceKinds.Decision:
                ApplyDecision(body, replay, head, decisionId, at);
                if (replayTemporal && replay?.Temporal is { } request) Temporal.Record(policy, request, Session.Id);
                break;
            case EvidenceKinds.Outcome:
                var index = recent.FindLast(decisionId);
                if (index >= 0) recent.MarkReported(index);
                Session = Session with
                {
                    TotalEvents = Session.TotalEvents + 1,
                    ResponseEvents = Session.ResponseEvents + (body.Report == TemporalEvent.ResponseKind ? 1 : 0),
                    ErrorEvents = Session.ErrorEvents + (body.Report == TemporalEvent.ErrorKind ? 1 : 0),
                };
                if (replay?.Temporal is { } outcome) Temporal.Record(policy, outcome, Session.Id);
                break;
            case EvidenceKinds.SessionNote:
                Session = Session with { TotalEvents = Session.TotalEvents + 1 };
                break;
            case EvidenceKinds.Approval:
                // A granted approval is an Approve::response event for temporal policies.
                if (replay?.Temporal is { } granted) Temporal.Record(policy, granted, Session.Id);
                break;
        }
        if (body.Approval is not null) Approvals.Apply(body, Session.Id);
        Head = head;
        Changes++;
    }

    private void ApplyDecision(EvidenceBody body, SessionReplay? replay, EvidenceHead head, Guid decisionId, DateTimeOffset at)
    {
        var outcome = Enum.TryParse<DecisionOutcome>(body.Outcome, out var parsed) ? parsed : DecisionOutcome.Deny;
        var risk = body.RiskAdded ?? 0;
        var superseded = body.Supersedes is { } earlier ? recent.FindLast(decisionId, earlier) : -1;
        if (superseded >= 0)
        {
            // The caller was told what this record says: the earlier record's risk never counted.
            var previous = recent[superseded];
            Session = Session with
            {
                CumulativeRisk = Session.CumulativeRisk - previous.RiskAdded + risk,
                DenyCount = Session.DenyCount + (outcome == DecisionOutcome.Deny && previous.Outcome != DecisionOutcome.Deny ? 1 : 0),
                TotalEvents = Session.TotalEvents + 1,
                RequestEvents = Session.RequestEvents + 1, // it is a request event of the timeline, not another decision
            };
            recent.Supersede(superseded, head.Sequence, outcome, risk);
            return;
        }
        Session = Session with
        {
            Status = replay?.ExpiresSession == true && Session.Status == SessionStatus.Open ? SessionStatus.Expired : Session.Status,
            CumulativeRisk = Session.CumulativeRisk + risk,
            DecisionCount = Session.DecisionCount + 1,
            DenyCount = Session.DenyCount + (outcome == DecisionOutcome.Deny ? 1 : 0),
            LastPolicyVersion = body.PolicyVersion is { } version and > 0 ? version : Session.LastPolicyVersion,
            LastActivityAt = replay?.CountsAsActivity == true ? at : Session.LastActivityAt,
            TotalEvents = Session.TotalEvents + 1,
            RequestEvents = Session.RequestEvents + 1,
        };
        recent.Add(new RecentDecision
        {
            DecisionId = decisionId, Sequence = head.Sequence, At = at, Outcome = outcome, RiskAdded = risk,
            Action = body.Action ?? "", Resource = body.Resource ?? "",
        });
    }

    public static DateTimeOffset ParseTime(string time) =>
        DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at) ? at : DateTimeOffset.MinValue;

    /// <summary>The timeline event a record stands for, or null for records that are not events (refused reports).</summary>
    public static SessionEvent? TimelineEvent(EvidenceEntry entry)
    {
        EvidenceBody body;
        try { body = EvidenceSealer.ParseBody(entry.Body); }
        catch (JsonException) { return null; }
        Guid.TryParse(body.DecisionId, out var decisionId);
        var common = new SessionEvent
        {
            Seq = entry.Sequence, At = ParseTime(body.Time), DecisionId = decisionId, Action = body.Action ?? "", Resource = body.Resource ?? "",
        };
        return body.Kind switch
        {
            EvidenceKinds.Decision => common with
            {
                Kind = SessionEventKind.Request,
                Outcome = Enum.TryParse<DecisionOutcome>(body.Outcome, out var outcome) ? outcome : DecisionOutcome.Deny,
                PolicyVersion = body.PolicyVersion, Reasons = body.DeterminingPolicies ?? [],
                Detail = SessionLimits.Truncate(body.DenyReason is null ? body.Detail : $"{body.DenyReason}: {body.Detail}".TrimEnd(' ', ':')),
            },
            EvidenceKinds.Outcome => common with
            {
                Kind = body.Report == TemporalEvent.ErrorKind ? SessionEventKind.Error : SessionEventKind.Response,
                Detail = SessionLimits.Truncate(ReportedText(body)),
            },
            EvidenceKinds.SessionNote => common with { Kind = SessionEventKind.Revocation, Detail = body.Detail },
            _ => null,
        };
    }

    /// <summary>The output (or error text) as stored in the record, i.e. redacted.</summary>
    private static string? ReportedText(EvidenceBody body)
    {
        if (body.Input is null || body.InputTruncated == true) return body.Input;
        try
        {
            var stored = JsonNode.Parse(body.Input) as JsonObject;
            var value = body.Report == TemporalEvent.ErrorKind ? stored?["error"] : stored?["output"];
            return value is JsonValue text && text.TryGetValue<string>(out var plain) && body.Report == TemporalEvent.ErrorKind ? plain : value?.ToJsonString();
        }
        catch (JsonException)
        {
            return body.Input;
        }
    }
}
