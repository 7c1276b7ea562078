using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Sessions;
using RuntimeAuthz.Replay.PolicyTests;

namespace RuntimeAuthz.Replay.WhatIf;

/// <summary>
/// Re-decides recorded decisions with a candidate policy version. Each session is replayed in order
/// from its first record with an <see cref="OfflineSession"/> under the candidate, so the session's risk,
/// decision count and Dogwood history are what the candidate would have made of them: an outcome
/// report counts only for a call the candidate allows too. Decisions are rebuilt from their signed
/// records alone; a redacted, truncated or unparsed input is never guessed, and since the session's
/// history after it is then unknown, its session's later decisions are not replayable either.
/// </summary>
public static partial class WhatIfReplayer
{
    /// <summary>Deny reasons the policies give; every other deny happened before them and stays what it was.</summary>
    private static readonly HashSet<string> PolicyDenyReasons = new(StringComparer.Ordinal) { DenyReasons.NotPermitted, DenyReasons.EvaluationBudgetExceeded };

    public static WhatIfReport Run(CompiledPolicy candidate, IEnumerable<RecordedSession> sessions, WhatIfOptions options, CancellationToken cancellationToken)
    {
        var decisions = new List<ReplayedDecision>();
        var sessionCount = 0;
        var truncated = false;
        foreach (var session in sessions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!Selected(session, options)) continue;
            sessionCount++;
            foreach (var decision in Replay(candidate, session))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (options.Since is { } since && decision.At < since) continue;
                if (decisions.Count >= options.MaxDecisions)
                {
                    truncated = true;
                    break;
                }
                decisions.Add(decision);
            }
            if (truncated) break;
        }
        return Summarize(decisions, sessionCount, truncated, options.KeepDecisions);
    }

    private static bool Selected(RecordedSession session, WhatIfOptions options)
    {
        var agentId = session.Agent?.Id ?? session.Records.FirstOrDefault(r => r.AgentId is not null)?.AgentId;
        if (options.AgentId is { } agent && !string.Equals(agentId, agent, StringComparison.Ordinal)) return false;
        if (options.Fleet is { } fleet && !string.Equals(session.Agent?.Fleet, fleet, StringComparison.Ordinal)) return false;
        return true;
    }

    /// <summary>Every decision of one session, in order, as the candidate would have decided it.</summary>
    public static IEnumerable<ReplayedDecision> Replay(CompiledPolicy candidate, RecordedSession recorded)
    {
        var outcomesRead = OutcomesRead(candidate);
        // It passed the identity stage when it was decided, whatever its status is now.
        var session = recorded.Agent is { } agent ? new OfflineSession(candidate, agent with { Status = AgentStatus.Active }, recorded.SessionId, recorded.OpenedAt) : null;
        var superseded = recorded.Records.Where(r => r.Supersedes is not null).Select(r => r.Supersedes!.Value).ToHashSet();
        // Set once the session's state under the candidate is no longer known: every later decision says why.
        string? unknownAfter = session is null ? NotReplayableReasons.UnknownAgent : null;
        foreach (var record in recorded.Records)
        {
            var at = SessionLedger.ParseTime(record.Time);
            switch (record.Kind)
            {
                case EvidenceKinds.Decision when record.Supersedes is null:
                    var result = Decide(session, record, at, superseded.Contains(record.Sequence), unknownAfter, out var taints);
                    if (taints is not null) unknownAfter ??= taints;
                    if (result is { Status: ReplayStatus.Replayed, CandidateOutcome: nameof(DecisionOutcome.Allow) }
                        && result.RecordedOutcome != nameof(DecisionOutcome.Allow) && outcomesRead.Contains(result.Action))
                        unknownAfter ??= NotReplayableReasons.AfterNewlyAllowed;
                    yield return result;
                    break;
                case EvidenceKinds.Outcome when unknownAfter is null && session is not null:
                    if (!Guid.TryParse(record.DecisionId, out var decided) || !session.IsReportable(decided)) break;
                    if (OutputOf(record) is not { } output)
                    {
                        if (outcomesRead.Contains(record.Action ?? "")) unknownAfter = NotReplayableReasons.AfterUnreplayable;
                        break;
                    }
                    session.ReportOutcome(decided, record.Report == TemporalEvent.ErrorKind, output, record.ReporterKind ?? ReporterKinds.Agent, at);
                    break;
                case EvidenceKinds.Approval when outcomesRead.Contains(Grains.Approvals.ApprovalStage.ApproveAction) && record.Approval?.Act == ApprovalActs.Approved:
                    // A granted approval is an Approve::response event; its call is not in this record.
                    unknownAfter ??= NotReplayableReasons.AfterUnreplayable;
                    break;
            }
        }
    }

    private static ReplayedDecision Decide(OfflineSession? session, EvidenceBody record, DateTimeOffset at, bool superseded, string? unknownAfter, out string? taints)
    {
        taints = null;
        var result = new ReplayedDecision
        {
            DecisionId = record.DecisionId ?? "", SessionId = record.SessionId ?? "", AgentId = record.AgentId ?? "", At = at,
            Action = record.Action ?? "", Resource = record.Resource ?? "", RecordedOutcome = record.Outcome ?? nameof(DecisionOutcome.Deny),
            RecordedDenyReason = record.DenyReason, RecordedPolicies = record.DeterminingPolicies ?? [], RecordedVersion = record.PolicyVersion,
        };
        if (unknownAfter is not null || session is null)
            return result with { Status = ReplayStatus.NotReplayable, NotReplayableReason = unknownAfter ?? NotReplayableReasons.UnknownAgent };
        if (record.DenyReason is { } reason && !PolicyDenyReasons.Contains(reason))
        {
            session.CountUndecided();
            return result with { Status = ReplayStatus.DecidedBeforePolicy, CandidateOutcome = result.RecordedOutcome, CandidateDenyReason = reason };
        }
        string? problem = superseded ? NotReplayableReasons.Superseded
            : record.Approval is { Act: not ApprovalActs.Requested } ? NotReplayableReasons.UsesApproval
            : null;
        DecisionRequest? request = null;
        if (problem is null) (request, problem) = RequestOf(record);
        if (problem is not null)
        {
            taints = NotReplayableReasons.AfterUnreplayable;
            return result with { Status = ReplayStatus.NotReplayable, NotReplayableReason = problem };
        }
        var decisionId = Guid.TryParse(record.DecisionId, out var id) ? id : Guid.NewGuid();
        var verdict = session.Decide(request!, decisionId, at, OfflineSession.AsRecorded);
        return result with
        {
            Status = ReplayStatus.Replayed, CandidateOutcome = verdict.Outcome.ToString(), CandidateDenyReason = verdict.DenyReason,
            CandidatePolicies = [.. verdict.Reasons.Select(p => PolicySuiteRunner.NameOf(session.Policy, p))],
        };
    }

    /// <summary>
    /// The actions whose outcome events (<c>Action::"a"::response</c> or <c>::error</c>) the candidate's temporal
    /// conditions read: only for these does a missing or unknown outcome change what later decisions see.
    /// </summary>
    private static HashSet<string> OutcomesRead(CompiledPolicy candidate)
    {
        var actions = new HashSet<string>(StringComparer.Ordinal);
        if (!candidate.Temporal.HasTemporalConditions) return actions;
        foreach (var policy in candidate.Policies.Policies)
            foreach (System.Text.RegularExpressions.Match match in OutcomePredicate().Matches(policy.Text)) actions.Add(match.Groups["action"].Value);
        return actions;
    }

    [System.Text.RegularExpressions.GeneratedRegex("""Action::"(?<action>(?:[^"\\]|\\.)*)"\s*::\s*(?:response|error)\b""")]
    private static partial System.Text.RegularExpressions.Regex OutcomePredicate();

    /// <summary>The decision request exactly as the record's input holds it, or why it cannot be rebuilt.</summary>
    private static (DecisionRequest? Request, string? Problem) RequestOf(EvidenceBody record)
    {
        if (record.InputTruncated == true) return (null, NotReplayableReasons.Truncated);
        if (record.Input is not { } stored) return (null, NotReplayableReasons.Unparsed);
        if (stored.Contains(RedactedLiteral, StringComparison.Ordinal)) return (null, NotReplayableReasons.Redacted);
        JsonObject? input;
        try { input = JsonNode.Parse(stored) as JsonObject; }
        catch (JsonException) { return (null, NotReplayableReasons.Unparsed); }
        if (input?["resource"] is not JsonObject resource || input["action"]?.GetValueKind() != JsonValueKind.String
            || resource["type"]?.GetValueKind() != JsonValueKind.String || resource["id"]?.GetValueKind() != JsonValueKind.String)
            return (null, NotReplayableReasons.Unparsed);
        var properties = resource["properties"];
        var context = input["context"];
        var toolInput = input["input"];
        if (IsUnparsed(properties) || IsUnparsed(context) || IsUnparsed(toolInput)) return (null, NotReplayableReasons.Unparsed);
        return (new DecisionRequest
        {
            AgentId = input["agentId"]?.GetValue<string>(), Action = input["action"]!.GetValue<string>(),
            ResourceType = resource["type"]!.GetValue<string>(), ResourceId = resource["id"]!.GetValue<string>(),
            ResourcePropertiesJson = properties?.ToJsonString(), ContextJson = context?.ToJsonString(), InputJson = toolInput?.ToJsonString(),
            Caller = record.Actor,
        }, null);
    }

    /// <summary>The reported output (JSON text; null for an error), or null when it is redacted or cut.</summary>
    private static string? OutputOf(EvidenceBody record)
    {
        if (record.InputTruncated == true || record.Input is not { } stored || stored.Contains(RedactedLiteral, StringComparison.Ordinal)) return null;
        try
        {
            var reported = JsonNode.Parse(stored) as JsonObject;
            return reported?["output"]?.ToJsonString() ?? "null";
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static readonly string RedactedLiteral = JsonSerializer.Serialize(EvidenceInput.Redacted);

    /// <summary>How a record keeps a caller's JSON text that did not parse.</summary>
    private static bool IsUnparsed(JsonNode? node) => node is JsonObject { Count: 1 } kept && kept["unparsed"]?.GetValueKind() == JsonValueKind.String;

    private static WhatIfReport Summarize(List<ReplayedDecision> decisions, int sessions, bool truncated, bool keepAll)
    {
        var changed = decisions.Where(d => d.Changed).ToList();
        static string Direction(ReplayedDecision d) =>
            d.RecordedOutcome == nameof(DecisionOutcome.Deny) ? "deny-to-allow" : d.CandidateOutcome == nameof(DecisionOutcome.Deny) ? "allow-to-deny" : "other";
        static IReadOnlyList<ChangeGroup> Group(IEnumerable<(string Key, ReplayedDecision Decision)> keyed) =>
        [
            .. keyed.GroupBy(k => k.Key, StringComparer.Ordinal)
                .Select(g => new ChangeGroup(g.Key, g.Count(),
                    g.Count(k => Direction(k.Decision) == "allow-to-deny"), g.Count(k => Direction(k.Decision) == "deny-to-allow"), g.Count(k => Direction(k.Decision) == "other"),
                    [.. g.Take(3).Select(k => k.Decision.DecisionId)]))
                .OrderByDescending(g => g.Changed).ThenBy(g => g.Key, StringComparer.Ordinal),
        ];
        var notReplayable = decisions.Where(d => d.Status == ReplayStatus.NotReplayable).ToList();
        return new WhatIfReport
        {
            Sessions = sessions,
            Decisions = decisions.Count,
            Replayed = decisions.Count(d => d.Status == ReplayStatus.Replayed),
            Changed = changed.Count,
            Unchanged = decisions.Count(d => d.Status == ReplayStatus.Replayed && !d.Changed),
            DecidedBeforePolicy = decisions.Count(d => d.Status == ReplayStatus.DecidedBeforePolicy),
            NotReplayable = notReplayable.Count,
            NotReplayableByReason = notReplayable.GroupBy(d => d.NotReplayableReason ?? "").ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            Changes = [.. changed.GroupBy(d => (d.RecordedOutcome, d.CandidateOutcome!)).Select(g => new OutcomeChange(g.Key.RecordedOutcome, g.Key.Item2, g.Count())).OrderByDescending(c => c.Count)],
            ByPolicy = Group(changed.SelectMany(d => d.CandidatePolicies.Count == 0
                ? [("(no permit)", d)]
                : d.CandidatePolicies.Select(p => (p, d)))),
            ByAgent = Group(changed.Select(d => (d.AgentId, d))),
            Examples = [.. changed.Take(WhatIfOptions.ExampleCount)],
            NotReplayableExamples = [.. notReplayable.Take(WhatIfOptions.ExampleCount)],
            Truncated = truncated,
            All = keepAll ? decisions : null,
        };
    }
}
