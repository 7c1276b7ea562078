using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Decisions;

namespace RuntimeAuthz.Grains;

/// <summary>Persisted state of <see cref="AgentSessionGrain"/>.</summary>
public sealed record SessionState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public SessionInfo? Session { get; init; }
    /// <summary>Head of the session's evidence chain: the last record's sequence (0 = none) and hash.</summary>
    public long EvidenceSequence { get; init; }
    public string? EvidenceHash { get; init; }
}

/// <summary>
/// Bounds that keep a session row well under Azure Table's 1 MiB entity limit: the timeline
/// keeps the most recent <see cref="MaxEvents"/> events and at most <see cref="MaxTimelineBytes"/>
/// bytes of stored JSON (an upper bound that counts escaping), each event's detail truncated to
/// <see cref="MaxDetailChars"/> characters. Totals (<see cref="SessionInfo.TotalEvents"/> and per
/// kind) count every event ever recorded.
/// </summary>
public static class SessionLimits
{
    public const int MaxEvents = 1000;
    public const int MaxDetailChars = 2048;
    public const int MaxTimelineBytes = 600_000;
    /// <summary>Property names, numbers, the GUID and timestamps of one stored event.</summary>
    public const int EventOverheadBytes = 260;
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(7);

    public static int EstimateBytes(SessionEvent e) =>
        EventOverheadBytes + JsonSize.EscapedUtf8Bytes(e.Action) + JsonSize.EscapedUtf8Bytes(e.Resource) + JsonSize.EscapedUtf8Bytes(e.Detail)
        + (e.Reasons?.Sum(r => JsonSize.EscapedUtf8Bytes(r) + 1) ?? 0);

    public static string? Truncate(string? text) =>
        text is null || text.Length <= MaxDetailChars ? text : string.Concat(text.AsSpan(0, MaxDetailChars - 1), "…");

    /// <summary>Appends an event (numbering it), drops the oldest beyond the bounds, and updates the totals.</summary>
    public static SessionInfo Append(SessionInfo session, SessionEvent recorded)
    {
        var seq = session.TotalEvents + 1;
        var events = new List<SessionEvent>(session.Events.Count + 1);
        events.AddRange(session.Events);
        events.Add(recorded with { Seq = seq });
        var bytes = events.Sum(EstimateBytes);
        var drop = 0;
        while (events.Count - drop > MaxEvents || (bytes > MaxTimelineBytes && events.Count - drop > 1))
        {
            bytes -= EstimateBytes(events[drop]);
            drop++;
        }
        return session with
        {
            Events = drop == 0 ? events : events.GetRange(drop, events.Count - drop),
            TotalEvents = seq,
            RequestEvents = session.RequestEvents + (recorded.Kind == SessionEventKind.Request ? 1 : 0),
            ResponseEvents = session.ResponseEvents + (recorded.Kind == SessionEventKind.Response ? 1 : 0),
            ErrorEvents = session.ErrorEvents + (recorded.Kind == SessionEventKind.Error ? 1 : 0),
        };
    }
}

public sealed class AgentSessionGrain(
    [PersistentState("session", AuthzStorage.ProviderName)] IPersistentState<SessionState> state,
    [PersistentState("temporal", AuthzStorage.ProviderName)] IPersistentState<SessionTemporalState> temporalState,
    PolicyCache policyCache,
    AuthzClock clock,
    EvidenceRecorder evidence,
    ILogger<AgentSessionGrain> logger) : Grain, IAgentSessionGrain, IRevocationObserverGrain
{
    /// <summary>Upper bound for the identity lookup and policy load inside one decision.</summary>
    public static readonly TimeSpan DecisionDependencyTimeout = TimeSpan.FromSeconds(5);

    private string SessionId => this.GetPrimaryKeyString();

    private TemporalHistoryKeeper? temporalKeeper;
    /// <summary>The session's Dogwood history (its own storage row), for policies with temporal conditions.</summary>
    private TemporalHistoryKeeper Temporal => temporalKeeper ??= new TemporalHistoryKeeper(temporalState, logger);

    public async Task<CommandResult<SessionInfo>> Open(SessionOpenRequest request)
    {
        if (state.State.Session is not null)
            return CommandResult<SessionInfo>.Fail(CommandError.Conflict, $"session '{SessionId}' already exists");
        if (request.Lifetime <= TimeSpan.Zero || request.Lifetime > SessionLimits.MaxLifetime)
            return CommandResult<SessionInfo>.Fail(CommandError.Invalid, $"lifetime must be between 1 second and {SessionLimits.MaxLifetime.TotalSeconds:0} seconds");
        if (request.IdleTimeout <= TimeSpan.Zero || request.IdleTimeout > SessionLimits.MaxLifetime)
            return CommandResult<SessionInfo>.Fail(CommandError.Invalid, $"idle timeout must be between 1 second and {SessionLimits.MaxLifetime.TotalSeconds:0} seconds");
        var agent = await GrainFactory.GetGrain<IAgentGrain>(request.AgentId).RegisterSession(SessionId);
        if (agent is null)
            return CommandResult<SessionInfo>.Fail(CommandError.NotFound, $"agent '{request.AgentId}' not found");
        // A suspended agent may hold sessions (every decision is denied, with evidence, until it is
        // reactivated); a revoked agent is gone for good.
        if (agent.Status == AgentStatus.Revoked)
            return CommandResult<SessionInfo>.Fail(CommandError.Conflict, $"agent '{request.AgentId}' is revoked");

        var now = clock.UtcNow;
        var session = new SessionInfo
        {
            Id = SessionId, AgentId = agent.Id, Status = SessionStatus.Open, OpenedAt = now,
            ExpiresAt = now + request.Lifetime, IdleTimeout = request.IdleTimeout, LastActivityAt = now,
        };
        state.State = state.State with { Session = session };
        await state.WriteStateAsync();
        logger.LogInformation("Session {SessionId} opened for agent {AgentId} until {ExpiresAt}", SessionId, agent.Id, session.ExpiresAt);
        return CommandResult<SessionInfo>.Ok(session);
    }

    public Task<string?> AgentOf() => Task.FromResult(state.State.Session?.AgentId);

    public async Task<SessionInfo?> Get()
    {
        if (state.State.Session is not { } session) return null;
        if (session.Status == SessionStatus.Open && SessionGate.ExpiryOf(session, clock.UtcNow) is not null)
        {
            state.State = state.State with { Session = session with { Status = SessionStatus.Expired } };
            await state.WriteStateAsync();
        }
        return state.State.Session;
    }

    public async Task<CommandResult<SessionInfo>> Close(string? reason)
    {
        if (state.State.Session is not { } session)
            return CommandResult<SessionInfo>.Fail(CommandError.NotFound, $"session '{SessionId}' not found");
        if (session.Status != SessionStatus.Open) return CommandResult<SessionInfo>.Ok(session);
        var closed = session with { Status = SessionStatus.Closed, ClosedAt = clock.UtcNow, CloseReason = SessionLimits.Truncate(reason) };
        state.State = state.State with { Session = closed };
        await state.WriteStateAsync();
        logger.LogInformation("Session {SessionId} closed", SessionId);
        return CommandResult<SessionInfo>.Ok(closed);
    }

    public async Task<CommandResult<SessionEvent>> ReportOutcome(OutcomeReport report)
    {
        if (state.State.Session is not { } session)
            return CommandResult<SessionEvent>.Fail(CommandError.NotFound, $"session '{SessionId}' not found");
        if (report.Kind == SessionEventKind.Request)
            return CommandResult<SessionEvent>.Fail(CommandError.Invalid, "kind must be response or error");
        var request = session.Events.LastOrDefault(e => e.Kind == SessionEventKind.Request && e.DecisionId == report.DecisionId);
        if (request is null)
            return CommandResult<SessionEvent>.Fail(CommandError.NotFound, $"decision '{report.DecisionId}' not found in session '{SessionId}'");
        var recorded = new SessionEvent
        {
            Kind = report.Kind, At = clock.UtcNow, DecisionId = report.DecisionId, Action = request.Action, Resource = request.Resource,
            Detail = SessionLimits.Truncate(report.Kind == SessionEventKind.Error ? report.Error ?? report.OutputJson : report.OutputJson),
        };
        var appended = SessionLimits.Append(session, recorded);
        state.State = state.State with { Session = appended };
        await state.WriteStateAsync();
        // Temporal policies see the outcome as a `response` (with the output) or `error` event.
        await Temporal.RecordOutcomeAsync(await policyCache.GetAsync().WaitAsync(DecisionDependencyTimeout), report, recorded.At, SessionId);
        return CommandResult<SessionEvent>.Ok(appended.Events[^1]);
    }

    public async Task<AuthzDecision> Decide(DecisionRequest request)
    {
        var call = new DecisionCall(SessionId, Guid.NewGuid(), clock.UtcNow, request);
        if (state.State.Session is not { } session) return Denials.UnknownSession(call);
        Verdict verdict;
        try
        {
            verdict = await DecideAsync(session, call);
            // The request event is durable before the answer leaves (a failure here is a deny).
            await Temporal.CommitAsync(call.DecisionId);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Decision {DecisionId} in session {SessionId} failed; denying", call.DecisionId, SessionId);
            verdict = Denials.InternalError(policyCache.Version);
        }
        try
        {
            return await RecordAsync(session, call, verdict);
        }
        catch (Exception ex)
        {
            // Last line of defence: whatever failed while recording, the answer is a deny.
            logger.LogError(ex, "Decision {DecisionId} in session {SessionId} could not be recorded; denying", call.DecisionId, SessionId);
            DeactivateOnIdle();
            return Denials.InternalError(verdict.PolicyVersion).ToAnswer(call, session.AgentId, session.CumulativeRisk);
        }
    }

    /// <summary>The stages in order; each returns a denial or lets the call through to the next.</summary>
    private async Task<Verdict> DecideAsync(SessionInfo session, DecisionCall call)
    {
        if (await SessionGate.CheckAsync(session, call, AgentExistsAsync) is { } closed) return closed;

        var agent = await GrainFactory.GetGrain<IAgentGrain>(session.AgentId).Get().WaitAsync(DecisionDependencyTimeout);
        if (AuthorityStage.CheckIdentity(agent) is { } notActive) return notActive;

        var policy = await policyCache.GetAsync().WaitAsync(DecisionDependencyTimeout);
        if (policy is null) return Denials.Deny(DenyReasons.NoPolicy);

        var (authority, unauthorized) = await AuthorityStage.ResolveGrantsAsync(GrainFactory, agent!, call, policy.Version).WaitAsync(DecisionDependencyTimeout);
        if (unauthorized is not null) return unauthorized;

        var facts = new CedarRequestBuilder.SessionFacts(SessionId, session.CumulativeRisk, session.DecisionCount,
            (long)Math.Max(0, (call.Now - session.OpenedAt).TotalSeconds));
        return EvaluationStage.Evaluate(policy, agent!, facts, call, authority!,
            (request, entities) => Temporal.Decide(policy, request, entities, call.Request, session.AgentId, call.DecisionId, call.Now, SessionId));
    }

    private async Task<bool> AgentExistsAsync(string agentId) =>
        await GrainFactory.GetGrain<IAgentGrain>(agentId).Get().WaitAsync(DecisionDependencyTimeout) is not null;

    /// <summary>Recording stage: seals the verdict, then updates the session; the answer is what the record says.</summary>
    private async Task<AuthzDecision> RecordAsync(SessionInfo session, DecisionCall call, Verdict verdict)
    {
        var decision = verdict.ToAnswer(call, session.AgentId, session.CumulativeRisk);
        var evidenceHead = await evidence.AppendAsync(
            DecisionEvidence.Build(evidence.Redactor, SessionId, call.ResourceLiteral, call.Request, decision, verdict.Detail),
            new(state.State.EvidenceSequence, state.State.EvidenceHash ?? RuntimeAuthz.Evidence.EvidenceBody.GenesisHash));
        if (evidenceHead is null) return Denials.NoEvidence(verdict).ToAnswer(call, session.AgentId, session.CumulativeRisk);

        var updated = session with
        {
            Status = verdict.ExpiresSession ? SessionStatus.Expired : session.Status,
            CumulativeRisk = decision.CumulativeRisk,
            DecisionCount = session.DecisionCount + 1,
            LastActivityAt = verdict.CountsAsActivity ? call.Now : session.LastActivityAt,
        };
        updated = SessionLimits.Append(updated, new SessionEvent
        {
            Kind = SessionEventKind.Request, At = call.Now, DecisionId = call.DecisionId, Action = SessionLimits.Truncate(call.Request.Action) ?? "",
            Resource = SessionLimits.Truncate(call.ResourceLiteral) ?? "", Outcome = decision.Outcome,
            PolicyVersion = decision.PolicyVersion, Reasons = decision.Reasons,
            Detail = SessionLimits.Truncate(decision.DenyReason is null ? verdict.Detail : $"{decision.DenyReason}: {verdict.Detail}".TrimEnd(' ', ':')),
        });
        state.State = state.State with { Session = updated, EvidenceSequence = evidenceHead.Sequence, EvidenceHash = evidenceHead.Hash };
        await state.WriteStateAsync();
        return decision;
    }

    /// <summary>Notes a revocation of the agent's authority in the timeline of a live session (enforcement does not depend on it).</summary>
    public async Task NoteRevocation(RevocationNotice notice)
    {
        if (state.State.Session is not { Status: SessionStatus.Open } session) return;
        state.State = state.State with
        {
            Session = SessionLimits.Append(session, new SessionEvent
            {
                Kind = SessionEventKind.Revocation, At = notice.At, Action = "", Resource = "",
                Detail = SessionLimits.Truncate($"{notice.What} revoked by {notice.Actor}: {notice.Reason}"),
            }),
        };
        await state.WriteStateAsync();
    }
}
