using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;

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

    private const string ApprovalAnnotation = "approval";
    private const string RiskAnnotation = "risk";

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
        if (session.Status == SessionStatus.Open && ExpiryOf(session, clock.UtcNow) is not null)
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
        var now = clock.UtcNow;
        var decisionId = Guid.NewGuid();
        if (state.State.Session is not { } session)
        {
            return new AuthzDecision
            {
                DecisionId = decisionId, Outcome = DecisionOutcome.Deny, DenyReason = DenyReasons.UnknownSession,
                SessionId = SessionId, AgentId = request.AgentId ?? "", DecidedAt = now,
            };
        }
        try
        {
            return await DecideAndRecord(session, request, decisionId, now);
        }
        catch (Exception ex)
        {
            // Last line of defence: whatever failed (recording included), the answer is a deny.
            logger.LogError(ex, "Decision {DecisionId} in session {SessionId} could not be made or recorded; denying", decisionId, SessionId);
            DeactivateOnIdle();
            return new AuthzDecision
            {
                DecisionId = decisionId, Outcome = DecisionOutcome.Deny, DenyReason = DenyReasons.InternalError,
                SessionId = SessionId, AgentId = session.AgentId, DecidedAt = now, CumulativeRisk = session.CumulativeRisk,
            };
        }
    }

    private async Task<AuthzDecision> DecideAndRecord(SessionInfo session, DecisionRequest request, Guid decisionId, DateTimeOffset now)
    {
        Evaluation evaluation;
        try
        {
            evaluation = await Evaluate(session, request, now, decisionId);
            // The request event is durable before the answer leaves (a failure here is a deny).
            await Temporal.CommitAsync(decisionId);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Decision {DecisionId} in session {SessionId} failed; denying", decisionId, SessionId);
            evaluation = Evaluation.Denied(DenyReasons.InternalError, policyVersion: policyCache.Version, detail: "internal error while deciding");
        }

        var decision = new AuthzDecision
        {
            DecisionId = decisionId, Outcome = evaluation.Outcome, Reasons = evaluation.Reasons, Errors = evaluation.Errors,
            PolicyVersion = evaluation.PolicyVersion, DenyReason = evaluation.DenyReason, SessionId = SessionId,
            AgentId = session.AgentId, DecidedAt = now, RiskAdded = evaluation.RiskAdded,
            CumulativeRisk = session.CumulativeRisk + evaluation.RiskAdded,
        };
        var updated = session with
        {
            Status = evaluation.ExpireSession ? SessionStatus.Expired : session.Status,
            CumulativeRisk = decision.CumulativeRisk,
            DecisionCount = session.DecisionCount + 1,
            LastActivityAt = evaluation.CountsAsActivity ? now : session.LastActivityAt,
        };
        updated = SessionLimits.Append(updated, new SessionEvent
        {
            Kind = SessionEventKind.Request, At = now, DecisionId = decisionId, Action = SessionLimits.Truncate(request.Action) ?? "",
            Resource = SessionLimits.Truncate(SafeResourceLiteral(request)) ?? "", Outcome = decision.Outcome,
            PolicyVersion = decision.PolicyVersion, Reasons = decision.Reasons,
            Detail = SessionLimits.Truncate(decision.DenyReason is null ? evaluation.Detail : $"{decision.DenyReason}: {evaluation.Detail}".TrimEnd(' ', ':')),
        });
        // No evidence, no allow: the signed record is durable before any answer leaves; on failure the head stays put.
        var evidenceHead = await evidence.AppendAsync(
            DecisionEvidence.Build(evidence.Redactor, SessionId, SafeResourceLiteral(request), request, decision, evaluation.Detail),
            new(state.State.EvidenceSequence, state.State.EvidenceHash ?? RuntimeAuthz.Evidence.EvidenceBody.GenesisHash));
        if (evidenceHead is null)
        {
            return decision with
            {
                Outcome = DecisionOutcome.Deny, DenyReason = EvidenceDenyReasons.NoEvidence, RiskAdded = 0, CumulativeRisk = session.CumulativeRisk,
            };
        }
        state.State = state.State with { Session = updated, EvidenceSequence = evidenceHead.Sequence, EvidenceHash = evidenceHead.Hash };
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            // No durable evidence, no permission. Drop the activation so the next call reloads the stored state.
            logger.LogError(ex, "Could not persist decision {DecisionId} of session {SessionId}; denying", decisionId, SessionId);
            DeactivateOnIdle();
            return decision with
            {
                Outcome = DecisionOutcome.Deny, DenyReason = DenyReasons.InternalError, RiskAdded = 0,
                CumulativeRisk = session.CumulativeRisk,
            };
        }
        // Debug: the session timeline is the durable record of every decision; this is for tracing.
        logger.LogDebug("Decision {DecisionId} session {SessionId} agent {AgentId} action {Action}: {Outcome} {DenyReason} policy v{PolicyVersion}",
            decisionId, SessionId, session.AgentId, request.Action, decision.Outcome, decision.DenyReason, decision.PolicyVersion);
        return decision;
    }

    private async Task<Evaluation> Evaluate(SessionInfo session, DecisionRequest request, DateTimeOffset now, Guid decisionId)
    {
        if (request.AgentId is not null && !string.Equals(request.AgentId, session.AgentId, StringComparison.Ordinal))
        {
            // The caller claims another agent: an agent that does not exist is "unknown", an existing one is a mismatch.
            var claimed = await GrainFactory.GetGrain<IAgentGrain>(request.AgentId).Get().WaitAsync(DecisionDependencyTimeout);
            return claimed is null
                ? Evaluation.Denied(DenyReasons.UnknownAgent, detail: $"agent '{request.AgentId}' is not registered")
                : Evaluation.Denied(DenyReasons.SessionAgentMismatch, detail: $"session belongs to another agent, not '{request.AgentId}'");
        }
        if (session.Status == SessionStatus.Closed)
            return Evaluation.Denied(DenyReasons.SessionClosed);
        if (session.Status == SessionStatus.Expired)
            return Evaluation.Denied(DenyReasons.SessionExpired);
        if (ExpiryOf(session, now) is { } expiry)
            return Evaluation.Denied(DenyReasons.SessionExpired, detail: expiry) with { ExpireSession = true };

        var agent = await GrainFactory.GetGrain<IAgentGrain>(session.AgentId).Get().WaitAsync(DecisionDependencyTimeout);
        if (agent is null) return Evaluation.Denied(DenyReasons.UnknownAgent) with { CountsAsActivity = true };
        if (agent.Status == AgentStatus.Revoked) return Evaluation.Denied(DenyReasons.AgentRevoked) with { CountsAsActivity = true };
        if (agent.Status == AgentStatus.Suspended) return Evaluation.Denied(DenyReasons.AgentSuspended) with { CountsAsActivity = true };

        var policy = await policyCache.GetAsync().WaitAsync(DecisionDependencyTimeout);
        if (policy is null) return Evaluation.Denied(DenyReasons.NoPolicy) with { CountsAsActivity = true };

        if (string.IsNullOrWhiteSpace(request.Action) || string.IsNullOrWhiteSpace(request.ResourceType) || request.ResourceId is null)
            return Evaluation.Denied(DenyReasons.InvalidRequest, policy.Version, "action and resource type are required") with { CountsAsActivity = true };

        var authority = await GrantAuthority.ResolveAsync(GrainFactory, agent, SessionId, request, now).WaitAsync(DecisionDependencyTimeout);
        if (authority.DenyReason is { } authorityDenied)
            return Evaluation.Denied(authorityDenied, policy.Version, authority.Detail) with { CountsAsActivity = true };

        AuthorizationRequest cedarRequest;
        EntityStore entities;
        try
        {
            var facts = new CedarRequestBuilder.SessionFacts(SessionId, session.CumulativeRisk, session.DecisionCount,
                (long)Math.Max(0, (now - session.OpenedAt).TotalSeconds));
            (cedarRequest, entities) = CedarRequestBuilder.Build(agent, facts, request);
        }
        catch (Exception ex) when (ex is CedarSyntaxException or JsonException or ArgumentException or FormatException)
        {
            return Evaluation.Denied(DenyReasons.InvalidRequest, policy.Version, ex.Message) with { CountsAsActivity = true };
        }
        if (authority.Select(cedarRequest, entities) is not { } delegation)
            return Evaluation.Denied(DenyReasons.NoDelegation, policy.Version, "the conditions of the covering grants do not hold") with { CountsAsActivity = true };

        // With temporal policies the request is recorded as a `request` event, then decided over the session's history.
        var response = Temporal.Decide(policy, cedarRequest, entities, request, session.AgentId, decisionId, now, SessionId);
        var errors = response.Errors.Select(e => new PolicyErrorInfo { PolicyId = e.PolicyId, Message = e.Message }).ToArray();
        if (response.Decision != RuntimeAuthz.Policy.Decision.Allow)
        {
            return new Evaluation(DecisionOutcome.Deny, response.Reasons.ToArray(), errors, policy.Version, DenyReasons.NotPermitted, 0,
                response.Reasons.Count > 0 ? $"forbidden by {string.Join(", ", response.Reasons)}" : "no policy permits") { CountsAsActivity = true };
        }

        var determining = response.Reasons
            .Select(id => policy.PoliciesById.GetValueOrDefault(id))
            .OfType<RuntimeAuthz.Policy.Policy>()
            .ToArray();
        var needsApproval = determining.Any(p =>
            p.Annotations.TryGetValue(ApprovalAnnotation, out var value) && string.Equals(value, "required", StringComparison.OrdinalIgnoreCase));
        long risk = 0;
        foreach (var p in determining)
        {
            if (!p.Annotations.TryGetValue(RiskAnnotation, out var value)) continue;
            if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) && parsed > risk) risk = parsed;
            else if (!long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                logger.LogWarning("Policy {PolicyId} has a non-integer @risk annotation {Risk}; ignored", p.Id, value);
        }
        return new Evaluation(needsApproval ? DecisionOutcome.ApprovalRequired : DecisionOutcome.Allow, response.Reasons.ToArray(), errors,
            policy.Version, null, risk, $"delegation {delegation.Id}") { CountsAsActivity = true };
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

    /// <summary>Why an open session is no longer usable at <paramref name="now"/>, or null when it still is.</summary>
    private static string? ExpiryOf(SessionInfo session, DateTimeOffset now)
    {
        if (now >= session.ExpiresAt) return $"lifetime ended at {session.ExpiresAt:O}";
        if (now - session.LastActivityAt >= session.IdleTimeout) return $"idle for more than {session.IdleTimeout.TotalSeconds:0} seconds";
        return null;
    }

    private static string SafeResourceLiteral(DecisionRequest request)
    {
        try
        {
            return CedarRequestBuilder.ResourceLiteral(request.ResourceType, request.ResourceId);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            return $"{request.ResourceType}::\"{request.ResourceId}\"";
        }
    }

    private sealed record Evaluation(
        DecisionOutcome Outcome, IReadOnlyList<string> Reasons, IReadOnlyList<PolicyErrorInfo> Errors,
        long PolicyVersion, string? DenyReason, long RiskAdded, string? Detail)
    {
        public bool ExpireSession { get; init; }
        public bool CountsAsActivity { get; init; }

        public static Evaluation Denied(string reason, long policyVersion = 0, string? detail = null) =>
            new(DecisionOutcome.Deny, [], [], policyVersion, reason, 0, detail);
    }
}
