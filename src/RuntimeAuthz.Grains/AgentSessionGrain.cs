using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Grains;

/// <summary>
/// One session. Its evidence chain is its durable history: a decision is one record (the only
/// write before the answer), and the session's state is what the records say — applied as they
/// are written, and rebuilt from the last snapshot plus the chain's tail when the grain activates.
/// Snapshots are written in the background.
/// </summary>
public sealed partial class AgentSessionGrain(
    PolicyCache policyCache,
    Entities.EntityCache entityCache,
    AuthzClock clock,
    EvidenceRecorder evidence,
    SessionIndex sessionIndex,
    ILogger<AgentSessionGrain> logger,
    Telemetry.AuthzMetrics metrics,
    Governance.AuthorityView authorityView) : Grain, IAgentSessionGrain, IRevocationObserverGrain
{
    /// <summary>Upper bound for the identity lookup and policy load inside one decision.</summary>
    public static readonly TimeSpan DecisionDependencyTimeout = TimeSpan.FromSeconds(5);
    /// <summary>A snapshot is started after this many records (and by the timer, and on deactivation).</summary>
    public const int SnapshotEvery = 100;
    /// <summary>Background upkeep: settles an unconfirmed record, snapshots a changed session (decisions never wait for it).</summary>
    private static readonly TimeSpan MaintenancePeriod = TimeSpan.FromSeconds(30);

    private string SessionId => this.GetPrimaryKeyString();
    private string Chain => EvidenceChains.ForSession(SessionId);

    private SessionLedger? ledger;
    private SessionSnapshotRow? snapshotRow;
    /// <summary>The snapshot row, read on first use (see <see cref="SessionSnapshotRow"/>): opening a new session does not read it.</summary>
    private SessionSnapshotRow Snapshot => snapshotRow ??= new(ServiceProvider.GetRequiredKeyedService<IGrainStorage>(AuthzStorage.ProviderName), this.GetGrainId());
    /// <summary>The in-memory state may differ from the chain (a record failed): rebuild before the next use.</summary>
    private bool stale;
    private Task snapshotWrite = Task.CompletedTask;
    /// <summary>A decision answered Deny whose record was not confirmed: the chain must end up saying Deny.</summary>
    private UnconfirmedDecision? unconfirmed;
    private IGrainTimer? maintenance;
    private SessionIndexFeed? indexFeed;
    /// <summary>The session's rows in the search index (written off the decision path, see <see cref="SessionIndexFeed"/>).</summary>
    private SessionIndexFeed IndexFeed => indexFeed ??=
        new(sessionIndex, async agentId => (await GrainFactory.GetGrain<IAgentGrain>(agentId).Get())?.Fleet ?? "", logger);
    /// <summary>This activation counts its session in <see cref="Telemetry.AuthzMetrics.SessionsActive"/>.</summary>
    private bool countedActive;

    private sealed record UnconfirmedDecision(long Sequence, EvidenceBody Told, SessionReplay Replay);

    /// <summary>Decisions whose callers were told Deny before the call reached this activation (bounded; newest kept).</summary>
    private readonly BoundedIdSet answeredBeforeArrival = new(capacity: 1024);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        maintenance = this.RegisterGrainTimer(MaintainAsync, MaintenancePeriod, MaintenancePeriod);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        maintenance?.Dispose();
        countedActive = metrics.TrackSession(countedActive, open: false);
        try
        {
            await ResolveUnconfirmedAsync();
            await snapshotWrite;
            // A stop without grace (its token already cancelled) writes no snapshot, as a killed process
            // could not: the chain holds every record, and the next activation replays its tail.
            if (cancellationToken.IsCancellationRequested) return;
            if (ledger is { UnsnapshottedRecords: > 0 } && CanSnapshot) await WriteSnapshotAsync();
            if (indexFeed is not null && ledger is not null) await indexFeed.FlushAsync(ledger.Session);
        }
        catch (Exception ex)
        {
            // The chain holds every record; the next activation replays more of it.
            logger.LogWarning(ex, "Session {SessionId}: no snapshot on deactivation", SessionId);
        }
    }

    public async Task<CommandResult<SessionInfo>> Open(SessionOpenRequest request)
    {
        // Known to this activation or snapshotted; otherwise whether the open record's slot is free decides.
        // With evidence on that slot alone decides (every session opened with evidence has record 1),
        // so a new session's snapshot row is never read; without evidence the row is all there is.
        if (!evidence.Enabled) await Snapshot.EnsureReadAsync();
        if (ledger is not null || Snapshot.State.Session is not null)
            return AlreadyExists();
        if (request.Lifetime <= TimeSpan.Zero || request.Lifetime > SessionLimits.MaxLifetime)
            return CommandResult<SessionInfo>.Fail(CommandError.Invalid, $"lifetime must be between 1 second and {SessionLimits.MaxLifetime.TotalSeconds:0} seconds");
        if (request.IdleTimeout <= TimeSpan.Zero || request.IdleTimeout > SessionLimits.MaxLifetime)
            return CommandResult<SessionInfo>.Fail(CommandError.Invalid, $"idle timeout must be between 1 second and {SessionLimits.MaxLifetime.TotalSeconds:0} seconds");
        // The agent keeps no list of its sessions: the session index's pointer rows, written below, list them.
        var agent = await GrainFactory.GetGrain<IAgentGrain>(request.AgentId).Get();
        if (agent is null)
            return CommandResult<SessionInfo>.Fail(CommandError.NotFound, $"agent '{request.AgentId}' not found");
        // A suspended agent may hold sessions (every decision is denied, with evidence, until it is
        // reactivated); a revoked agent is gone for good.
        if (agent.Status == AgentStatus.Revoked)
            return CommandResult<SessionInfo>.Fail(CommandError.Conflict, $"agent '{request.AgentId}' is revoked");

        var now = clock.UtcNow;
        var opened = SessionLedger.Open(new SessionInfo
        {
            Id = SessionId, AgentId = agent.Id, Status = SessionStatus.Open, OpenedAt = now,
            ExpiresAt = now + request.Lifetime, IdleTimeout = request.IdleTimeout, LastActivityAt = now,
        });
        if (evidence.Enabled)
        {
            if (!await RecordOpenAsync(opened, request.OpenedBy)) return AlreadyExists();
        }
        else
        {
            // No chain to hold it: the session's one write is its first snapshot.
            Snapshot.State = opened.ToSnapshot();
            await Snapshot.WriteStateAsync();
        }
        ledger = opened;
        await IndexFeed.OpenedAsync(opened.Session, agent.Fleet);
        TrackActive();
        LogOpened(SessionId, agent.Id, opened.Session.ExpiresAt);
        return CommandResult<SessionInfo>.Ok(opened.Session);
    }

    /// <summary>Debug, not Information: an open is audited by its open record, and at thousands of opens a second a log line each was a measurable share of the silo's CPU per open.</summary>
    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId} opened for agent {AgentId} until {ExpiresAt}")]
    private partial void LogOpened(string sessionId, string agentId, DateTimeOffset expiresAt);

    private CommandResult<SessionInfo> AlreadyExists() => CommandResult<SessionInfo>.Fail(CommandError.Conflict, $"session '{SessionId}' already exists");

    /// <summary>
    /// The open's one durable write: record 1 of the session's chain, group-committed with other
    /// sessions' records. False when record 1 is taken (the session exists). No snapshot follows: a
    /// chain of one record rebuilds the session in one read, and the first change snapshots as usual.
    /// </summary>
    private async Task<bool> RecordOpenAsync(SessionLedger opened, string? openedBy)
    {
        var session = opened.Session;
        var body = new EvidenceBody
        {
            Chain = Chain, Time = EvidenceSealer.FormatTime(session.OpenedAt), Kind = EvidenceKinds.SessionOpen,
            AgentId = session.AgentId, SessionId = SessionId, Action = "open-session", Actor = SessionLimits.Truncate(openedBy),
            Detail = $"until {EvidenceSealer.FormatTime(session.ExpiresAt)}, idle timeout {session.IdleTimeout.TotalSeconds:0} s",
        };
        var replay = new SessionReplay { Opened = session };
        var result = await evidence.TryAppendAsync(body, EvidenceHead.Empty, replay.ToJson());
        switch (result.Status)
        {
            case AppendStatus.Durable:
                opened.Apply(body, replay, result.Head, policy: null, replayTemporal: false);
                opened.MarkSnapshotted(opened.Changes);
                return true;
            case AppendStatus.Conflict:
                stale = true; // its snapshot may have been written since this activation read it
                return false;
            default:
                // Unknown: it may still land, so the next load reads the chain.
                stale = true;
                throw new InvalidOperationException($"the open record of session {SessionId} is not durable ({result.Status})");
        }
    }

    /// <summary>The session an open record created, or null for any other record.</summary>
    private static SessionInfo? SessionOpenedIn(EvidenceEntry entry) =>
        EvidenceSealer.ParseBody(entry.Body).Kind == EvidenceKinds.SessionOpen ? SessionReplay.Parse(entry.Replay)?.Opened : null;

    public async Task<string?> AgentOf()
    {
        if (ledger?.Session is { } active) return active.AgentId;
        await Snapshot.EnsureReadAsync();
        if (Snapshot.State.Session is { } known) return known.AgentId;
        // Opened elsewhere and not snapshotted yet: the open record names the agent (only read here: this call interleaves).
        if (!evidence.Enabled) return null;
        return (await ReadChainAsync(0, 1)).FirstOrDefault() is { } first ? SessionOpenedIn(first)?.AgentId : null;
    }

    public async Task<SessionInfo?> Get()
    {
        if (await LoadAsync() is not { } current) return null;
        if (current.Session.Status == SessionStatus.Open && SessionGate.ExpiryOf(current.Session, clock.UtcNow) is not null)
        {
            current.Update(s => s with { Status = SessionStatus.Expired });
            IndexFeed.Changed(current.Session);
        }
        var head = current.Head.Sequence;
        var recent = await ReadTimelineAsync(Math.Max(0, head - SessionLimits.TimelinePage), SessionLimits.TimelinePage);
        return current.Session with { Events = recent.Events };
    }

    public async Task<SessionTimelinePage?> GetTimeline(long after, int limit)
    {
        if (await LoadAsync() is null) return null;
        return await ReadTimelineAsync(Math.Max(0, after), Math.Clamp(limit, 1, SessionLimits.MaxTimelinePage));
    }

    private async Task<SessionTimelinePage> ReadTimelineAsync(long after, int limit)
    {
        if (!evidence.Enabled) return new SessionTimelinePage();
        // The open record is no event: a page from the start reads one more in its place.
        IReadOnlyList<EvidenceEntry> entries = await ReadChainAsync(after, after == 0 ? limit + 1 : limit);
        if (after == 0) entries = entries is [var first, ..] && SessionOpenedIn(first) is not null ? entries.Skip(1).ToList() : entries.Take(limit).ToList();
        return new SessionTimelinePage
        {
            Events = [.. entries.Select(SessionLedger.TimelineEvent).OfType<SessionEvent>()],
            NextAfter = entries.Count == limit ? entries[^1].Sequence : null,
        };
    }

    public async Task<CommandResult<SessionInfo>> Close(string? reason)
    {
        if (await LoadAsync() is not { } current)
            return CommandResult<SessionInfo>.Fail(CommandError.NotFound, $"session '{SessionId}' not found");
        if (current.Session.Status != SessionStatus.Open) return CommandResult<SessionInfo>.Ok(current.Session);
        await snapshotWrite;
        current.Update(s => s with { Status = SessionStatus.Closed, ClosedAt = clock.UtcNow, CloseReason = SessionLimits.Truncate(reason) });
        await WriteSnapshotAsync(throwOnFailure: true);
        await IndexFeed.FlushAsync(current.Session);
        TrackActive();
        logger.LogInformation("Session {SessionId} closed", SessionId);
        return CommandResult<SessionInfo>.Ok(current.Session);
    }

    public async Task<AuthzDecision> Decide(DecisionRequest request)
    {
        var started = metrics.Timestamp();
        var answer = await DecideUnmeasured(request);
        metrics.Decided(answer, started);
        TrackActive();
        return answer;
    }

    private void TrackActive() => countedActive = metrics.TrackSession(countedActive, ledger is { Session.Status: SessionStatus.Open });

    private async Task<AuthzDecision> DecideUnmeasured(DecisionRequest request)
    {
        var call = new DecisionCall(SessionId, request.DecisionId ?? Guid.NewGuid(), clock.UtcNow, request);
        SessionLedger? current;
        try
        {
            current = await LoadAsync();
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Session {SessionId} could not be loaded; denying", SessionId);
            stale = true;
            return Denials.InternalError(policyCache.Version).ToAnswer(call, request.AgentId ?? "", 0);
        }
        if (current is null) return Denials.UnknownSession(call);
        var session = current.Session;
        if (await RollbackRefusalAsync(current) is { } refused) return refused.ToAnswer(call, session.AgentId, session.CumulativeRisk);
        // Until the chain says what an earlier unconfirmed call was told, nothing new is recorded after it.
        if (unconfirmed is not null) return Denials.NoEvidence(policyCache.Version).ToAnswer(call, session.AgentId, session.CumulativeRisk);

        CompiledPolicy? policy = null;
        TemporalEvent? requestEvent = null;
        Verdict verdict;
        try
        {
            if (answeredBeforeArrival.Remove(call.DecisionId))
                verdict = Denials.Deny(DenyReasons.InternalError, policyCache.Version, LostAnswerDetail) with { CountsAsActivity = false };
            else
                (verdict, policy, requestEvent) = await DecideAsync(current, call);
            verdict = await ResolveApprovalAsync(current, call, verdict);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Decision {DecisionId} in session {SessionId} failed; denying", call.DecisionId, SessionId);
            verdict = Denials.InternalError(policyCache.Version);
            stale = true; // the temporal history may hold the request event already
        }
        try
        {
            var answer = await RecordAsync(current, call, verdict, policy, requestEvent);
            StartShadow(verdict, answer);
            await PublishApprovalOfAsync(current, answer);
            return answer;
        }
        catch (Exception ex)
        {
            // Last line of defence: whatever failed while recording, the answer is a deny (and the state is re-read).
            logger.LogError(ex, "Decision {DecisionId} in session {SessionId} could not be recorded; denying", call.DecisionId, SessionId);
            stale = true;
            return Denials.InternalError(verdict.PolicyVersion).ToAnswer(call, session.AgentId, session.CumulativeRisk);
        }
    }

    /// <summary>The stages in order; each returns a denial or lets the call through to the next.</summary>
    private async Task<(Verdict, CompiledPolicy?, TemporalEvent?)> DecideAsync(SessionLedger current, DecisionCall call)
    {
        var session = current.Session;
        if (await SessionGate.CheckAsync(session, call, AgentExistsAsync) is { } closed) return (closed, null, null);

        var agent = await authorityView.AgentAsync(session.AgentId).AsTask().WaitAsync(DecisionDependencyTimeout);
        if (AuthorityStage.CheckIdentity(agent) is { } notActive) return (notActive, null, null);

        var policy = await policyCache.GetAsync().WaitAsync(DecisionDependencyTimeout);
        if (policy is null) return (Denials.Deny(DenyReasons.NoPolicy), null, null);

        var (authority, unauthorized) = await AuthorityStage.ResolveGrantsAsync(authorityView, agent!, call, policy.Version).WaitAsync(DecisionDependencyTimeout);
        if (unauthorized is not null) return (unauthorized, policy, null);

        var facts = new CedarRequestBuilder.SessionFacts(SessionId, session.CumulativeRisk, session.DecisionCount,
            (long)Math.Max(0, (call.Now - session.OpenedAt).TotalSeconds));
        TemporalEvent? recorded = null;
        var stored = entityCache.Current;
        var verdict = EvaluationStage.Evaluate(policy, agent!, facts, call, authority!, (request, entities) =>
        {
            PrepareShadow(current, policy);
            var (response, inHistory) = current.Temporal.Decide(policy, request, entities, call.DecisionId, call.Now, SessionId);
            if (inHistory) recorded = RequestEvent(call, session.AgentId, facts);
            return response;
        }, stored);
        NoteShadowCall(agent!, facts, call, authority!, verdict, stored);
        return (verdict, policy, recorded);
    }

    private static TemporalEvent RequestEvent(DecisionCall call, string agentId, CedarRequestBuilder.SessionFacts facts) => new()
    {
        Kind = TemporalEvent.RequestKind, DecisionId = call.DecisionId, At = call.Now, AgentId = agentId,
        Action = call.Request.Action, ResourceType = call.Request.ResourceType, ResourceId = call.Request.ResourceId,
        ContextJson = call.Request.ContextJson, InputJson = call.Request.InputJson,
        Risk = facts.Risk, Decisions = facts.Decisions, AgeSeconds = facts.AgeSeconds,
    };

    private async Task<bool> AgentExistsAsync(string agentId) =>
        await authorityView.AgentAsync(agentId).AsTask().WaitAsync(DecisionDependencyTimeout) is not null;

    /// <summary>
    /// Recording stage: the verdict's record is the decision's one durable write. The answer is the
    /// verdict only once its record is durable; otherwise it is Deny, and a record that may still
    /// land is followed up until the chain says Deny too.
    /// </summary>
    private async Task<AuthzDecision> RecordAsync(SessionLedger current, DecisionCall call, Verdict verdict, CompiledPolicy? policy, TemporalEvent? requestEvent)
    {
        var session = current.Session;
        var answer = verdict.ToAnswer(call, session.AgentId, session.CumulativeRisk);
        var body = DecisionEvidence.Build(evidence.DecisionRedactor, call, answer, verdict.Detail, verdict.Approval);
        var replay = new SessionReplay { CountsAsActivity = verdict.CountsAsActivity, ExpiresSession = verdict.ExpiresSession, Temporal = requestEvent };
        var result = await evidence.TryAppendAsync(body, current.Head, replay.ToJson());
        if (result.Status == AppendStatus.Durable)
        {
            current.Apply(body, replay, result.Head, policy, replayTemporal: false);
            if (current.UnsnapshottedRecords >= SnapshotEvery) StartSnapshot();
            IndexFeed.Changed(current.Session);
            LogDecision(call.DecisionId, SessionId, session.AgentId, call.Request.Action, answer.Outcome, answer.DenyReason, answer.PolicyVersion);
            return answer;
        }

        var denied = Denials.NoEvidence(verdict.PolicyVersion).ToAnswer(call, session.AgentId, session.CumulativeRisk);
        // Re-read the chain before the next call when memory may now differ from it: the temporal
        // history already holds the request event, or another writer (or this record, later) took the slot.
        stale |= requestEvent is not null || result.Status != AppendStatus.NotWritten;
        if (result.Status == AppendStatus.Unknown)
        {
            unconfirmed = new UnconfirmedDecision(result.Head.Sequence + 1,
                DecisionEvidence.Build(evidence.DecisionRedactor, call, denied, "the evidence record could not be confirmed in time"),
                replay with { CountsAsActivity = false, ExpiresSession = false });
        }
        return denied;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Decision {DecisionId} session {SessionId} agent {AgentId} action {Action}: {Outcome} {DenyReason} policy v{PolicyVersion}")]
    private partial void LogDecision(Guid decisionId, string sessionId, string agentId, string action, DecisionOutcome outcome, string? denyReason, long policyVersion);

    /// <summary>
    /// Makes the chain say what the caller of an unconfirmed decision was told: the Deny record takes
    /// the slot; if the original record got there first and says otherwise, a record superseding it follows.
    /// </summary>
    private async Task ResolveUnconfirmedAsync()
    {
        if (unconfirmed is not { } pending) return;
        var before = await ReadChainAsync(pending.Sequence - 2, 2);
        var previous = before.FirstOrDefault(e => e.Sequence == pending.Sequence - 1);
        var landed = before.FirstOrDefault(e => e.Sequence == pending.Sequence);
        if (landed is null)
        {
            var slotHead = previous is null ? EvidenceHead.Empty : new EvidenceHead(previous.Sequence, previous.Hash);
            var told = await evidence.TryAppendAsync(pending.Told, slotHead, pending.Replay.ToJson());
            if (told.Status == AppendStatus.Durable) unconfirmed = null;
            if (told.Status != AppendStatus.Conflict) return;
            landed = (await ReadChainAsync(pending.Sequence - 1, 1)).FirstOrDefault();
            if (landed is null) return;
        }
        var body = EvidenceSealer.ParseBody(landed.Body);
        if (body.DecisionId != pending.Told.DecisionId || body.Outcome == nameof(DecisionOutcome.Deny))
        {
            // Another record holds the slot (ours never can), or ours says Deny as the caller was told.
            unconfirmed = null;
            return;
        }
        var supersede = pending.Told with
        {
            Supersedes = landed.Sequence,
            Detail = $"supersedes record {landed.Sequence}: it was confirmed after the answer, which was Deny ({EvidenceDenyReasons.NoEvidence})",
        };
        var head = (await ReadChainAsync(landed.Sequence, int.MaxValue)).LastOrDefault() is { } last
            ? new EvidenceHead(last.Sequence, last.Hash) : new EvidenceHead(landed.Sequence, landed.Hash);
        var written = await evidence.TryAppendAsync(supersede, head, new SessionReplay().ToJson());
        if (written.Status == AppendStatus.Durable)
        {
            logger.LogWarning("Session {SessionId}: record {Sequence} of decision {DecisionId} landed after a Deny answer; superseded by record {Superseding}",
                SessionId, landed.Sequence, body.DecisionId, written.Head.Sequence);
            unconfirmed = null;
        }
    }

    private const string LostAnswerDetail = "the caller was told Deny: the answer did not reach it in time";

    public async Task SupersedeLostAnswer(Guid decisionId)
    {
        if (await LoadAsync() is not { } current || !evidence.Enabled) return;
        if (current.FindDecision(decisionId) is not { } decision)
        {
            answeredBeforeArrival.Add(decisionId);
            return;
        }
        if (decision.Outcome != DecisionOutcome.Allow) return; // the chain already says what the caller was told
        var allowed = (await ReadChainAsync(decision.Sequence - 1, 1)).FirstOrDefault(e => e.Sequence == decision.Sequence)
            ?? throw new InvalidOperationException($"record {decision.Sequence} of session {SessionId} could not be read");
        var body = EvidenceSealer.ParseBody(allowed.Body) with
        {
            Time = EvidenceSealer.FormatTime(clock.UtcNow),
            Outcome = nameof(DecisionOutcome.Deny), DenyReason = DenyReasons.InternalError, RiskAdded = 0, Approval = null,
            Supersedes = allowed.Sequence,
            Detail = $"supersedes record {allowed.Sequence}: {LostAnswerDetail}",
        };
        var replay = new SessionReplay();
        var written = await evidence.TryAppendAsync(body, current.Head, replay.ToJson());
        if (written.Status != AppendStatus.Durable)
        {
            stale = true;
            throw new InvalidOperationException($"the record superseding {allowed.Sequence} of session {SessionId} is not durable ({written.Status})");
        }
        current.Apply(body, replay, written.Head, policy: null, replayTemporal: false);
        IndexFeed.Changed(current.Session);
        logger.LogWarning("Session {SessionId}: the Allow of decision {DecisionId} (record {Sequence}) never reached its caller, who was told Deny; superseded by record {Superseding}",
            SessionId, decisionId, allowed.Sequence, written.Head.Sequence);
    }

    /// <summary>The session's state: the snapshot plus the chain's records after it, once per activation (or after a failure).</summary>
    private async Task<SessionLedger?> LoadAsync()
    {
        if (ledger is not null && !stale) return ledger;
        if (unconfirmed is not null)
        {
            try { await ResolveUnconfirmedAsync(); }
            catch (Exception ex) { logger.LogWarning(ex, "Session {SessionId}: unconfirmed record still unresolved", SessionId); }
            // Still unresolved: decisions are denied without recording until it is; reads see the state as it was.
            if (unconfirmed is not null && ledger is not null) return ledger;
        }
        if (stale)
        {
            await snapshotWrite;
            await Snapshot.ReadStateAsync();
        }
        else await Snapshot.EnsureReadAsync();
        var rebuilt = SessionLedger.FromSnapshot(Snapshot.State);
        // The grain keeps only the snapshot's header; the ledger holds the rest.
        if (rebuilt is not null) Snapshot.State = Snapshot.State.Header();
        if (evidence.Enabled)
        {
            // Without a snapshot the chain starts the session (its open record) or there is none.
            var policy = await policyCache.GetAsync().WaitAsync(DecisionDependencyTimeout);
            for (var after = rebuilt?.Head.Sequence ?? 0; ;)
            {
                var tail = await ReadChainAsync(after, 1000);
                if (rebuilt is null)
                {
                    if (tail.Count == 0 || SessionOpenedIn(tail[0]) is not { } opened) break;
                    rebuilt = SessionLedger.Open(opened);
                }
                else if (after == 0 && tail.Count > 0 && SessionOpenedIn(tail[0]) is not null)
                {
                    // A snapshot before any record, of a chain that starts with an open record: the row is of an
                    // earlier session of this id opened without evidence (opens do not read the row). Neither is trusted.
                    throw new InvalidOperationException($"session {SessionId}: its snapshot row predates its chain's open record; refusing to rebuild it");
                }
                foreach (var entry in tail)
                    rebuilt.Apply(EvidenceSealer.ParseBody(entry.Body), SessionReplay.Parse(entry.Replay), new EvidenceHead(entry.Sequence, entry.Hash), policy, replayTemporal: true);
                if (tail.Count < 1000) break;
                after = rebuilt.Head.Sequence;
            }
        }
        if (rebuilt is null)
        {
            stale = false;
            return ledger = null;
        }
        ledger = await AnchorAsync(rebuilt, ledger, Snapshot.State.EvidenceSequence);
        stale = false;
        return ledger;
    }

    /// <summary>Records of the session's chain after <paramref name="after"/>; bounded in time like every read on a decision's path.</summary>
    private async Task<IReadOnlyList<EvidenceEntry>> ReadChainAsync(long after, int maxCount)
    {
        using var timeout = new CancellationTokenSource(DecisionDependencyTimeout);
        return await evidence.Store.ReadRangeAsync(Chain, after, maxCount, timeout.Token);
    }

    private bool CanSnapshot => ledger is not null && !stale && unconfirmed is null && rollback is null;

    /// <summary>Starts a snapshot in the background (nothing waits for it); skipped while one is being written.</summary>
    private void StartSnapshot()
    {
        if (!snapshotWrite.IsCompleted || !CanSnapshot) return;
        snapshotWrite = WriteSnapshotAsync();
    }

    private async Task WriteSnapshotAsync(bool throwOnFailure = false)
    {
        var taken = ledger!;
        var changes = taken.Changes;
        var snapshot = taken.ToSnapshot();
        var previous = Snapshot.State;
        Snapshot.State = snapshot;
        try
        {
            await Snapshot.WriteStateAsync();
            taken.MarkSnapshotted(changes);
            Snapshot.State = snapshot.Header();
        }
        catch (Exception ex)
        {
            Snapshot.State = previous;
            logger.LogWarning(ex, "Session {SessionId}: snapshot at record {Sequence} not written", SessionId, snapshot.EvidenceSequence);
            if (throwOnFailure) throw;
        }
    }

    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ResolveUnconfirmedAsync();
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Session {SessionId}: unconfirmed record still unresolved", SessionId);
        }
        await MaintainApprovalsAsync();
        if (ledger is { UnsnapshottedRecords: > 0 }) StartSnapshot();
        indexFeed?.Flush();
    }

    /// <summary>Notes a revocation of the agent's authority in the session's chain (enforcement does not depend on it).</summary>
    public async Task NoteRevocation(RevocationNotice notice)
    {
        if (!evidence.Enabled || await LoadAsync() is not { Session.Status: SessionStatus.Open } current || unconfirmed is not null) return;
        var body = DecisionEvidence.Note(SessionId, current.Session.AgentId, "revocation", notice.Actor, notice.At, $"{notice.What} revoked by {notice.Actor}: {notice.Reason}");
        var result = await evidence.TryAppendAsync(body, current.Head);
        if (result.Status == AppendStatus.Durable) current.Apply(body, null, result.Head, null, replayTemporal: false);
        else stale = true;
    }
}
