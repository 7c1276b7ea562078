using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Grains.Governance;

namespace RuntimeAuthz.Replay;

/// <summary>
/// One session decided in memory by the session grain's own stages after its gate: the agent must be
/// active, a grant must cover the call, then <see cref="EvaluationStage"/> decides over the session's
/// facts (risk, decision count, age) and its Dogwood history (<see cref="TemporalHistoryKeeper"/>),
/// and the session moves on exactly as <see cref="Grains.Sessions.SessionLedger"/> moves a live one:
/// every decision counts, the verdict's risk adds up, and an allowed call's request event is what its
/// outcome event is built from.
/// </summary>
public sealed class OfflineSession(CompiledPolicy policy, AgentInfo agent, string sessionId, DateTimeOffset openedAt)
{
    private readonly TemporalHistoryKeeper temporal = new(null);
    /// <summary>Allowed calls whose outcome may still be reported: their request as the history saw it.</summary>
    private readonly Dictionary<Guid, TemporalEvent> reportable = [];

    public CompiledPolicy Policy { get; } = policy;
    public AgentInfo Agent { get; } = agent;
    public string SessionId { get; } = sessionId;
    public long Risk { get; private set; }
    public long Decisions { get; private set; }

    /// <summary>
    /// Decides one call. <paramref name="authority"/> is the identity and grant stages' result when the caller
    /// knows it (a recorded decision passed them: they are not asked again); otherwise the agent must be active
    /// and its own grants are checked here (live at <paramref name="now"/>, covering the call, bound to no session
    /// or this one; parent grants of a sub-delegation are not walked: the agent is taken as given).
    /// </summary>
    public Verdict Decide(DecisionRequest request, Guid decisionId, DateTimeOffset now, GrantAuthority.Resolution? authority = null)
    {
        var verdict = Evaluate(request, decisionId, now, authority, out var requestEvent);
        Decisions++;
        Risk += verdict.RiskAdded;
        if (verdict.Outcome == DecisionOutcome.Allow && requestEvent is not null) reportable[decisionId] = requestEvent;
        return verdict;
    }

    /// <summary>A decision the policies never saw (denied at the gate or for authority): it still counts as one of the session's decisions.</summary>
    public void CountUndecided() => Decisions++;

    /// <summary>
    /// The outcome of an allowed call, as a <c>response</c> (with <paramref name="outputJson"/>) or <c>error</c>
    /// event. False when the call was not allowed here (a live session refuses such reports).
    /// </summary>
    public bool ReportOutcome(Guid decisionId, bool isError, string? outputJson, string reporter, DateTimeOffset at)
    {
        if (!reportable.Remove(decisionId, out var request)) return false;
        temporal.Record(Policy, request with
        {
            Kind = isError ? TemporalEvent.ErrorKind : TemporalEvent.ResponseKind, At = at,
            OutputJson = isError ? null : outputJson, Reporter = reporter,
        }, SessionId);
        return true;
    }

    /// <summary>Whether the call was allowed here and has no outcome yet.</summary>
    public bool IsReportable(Guid decisionId) => reportable.ContainsKey(decisionId);

    private Verdict Evaluate(DecisionRequest request, Guid decisionId, DateTimeOffset now, GrantAuthority.Resolution? authority, out TemporalEvent? requestEvent)
    {
        requestEvent = null;
        if (authority is null)
        {
            if (AuthorityStage.CheckIdentity(Agent) is { } notActive) return notActive;
            if (string.IsNullOrWhiteSpace(request.Action) || string.IsNullOrWhiteSpace(request.ResourceType) || request.ResourceId is null)
                return Denials.Deny(DenyReasons.InvalidRequest, Policy.Version, "action and resource type are required");
            authority = OwnGrants(request, now);
            if (authority.DenyReason is { } denied) return Denials.Deny(denied, Policy.Version, authority.Detail);
        }

        var call = new DecisionCall(SessionId, decisionId, now, request);
        var facts = new CedarRequestBuilder.SessionFacts(SessionId, Risk, Decisions, (long)Math.Max(0, (now - openedAt).TotalSeconds));
        TemporalEvent? recorded = null;
        var verdict = EvaluationStage.Evaluate(Policy, Agent, facts, call, authority, (cedarRequest, entities) =>
        {
            var (response, inHistory) = temporal.Decide(Policy, cedarRequest, entities, decisionId, now, SessionId);
            if (inHistory)
            {
                recorded = new TemporalEvent
                {
                    Kind = TemporalEvent.RequestKind, DecisionId = decisionId, At = now, AgentId = Agent.Id,
                    Action = request.Action, ResourceType = request.ResourceType, ResourceId = request.ResourceId,
                    ContextJson = request.ContextJson, InputJson = request.InputJson,
                    Risk = facts.Risk, Decisions = facts.Decisions, AgeSeconds = facts.AgeSeconds,
                };
            }
            return response;
        });
        requestEvent = recorded;
        return verdict;
    }

    private GrantAuthority.Resolution OwnGrants(DecisionRequest request, DateTimeOffset now)
    {
        var candidates = Agent.Delegations
            .Where(g => g.IsLiveAt(now) && (g.SessionId is null || string.Equals(g.SessionId, SessionId, StringComparison.Ordinal)))
            .Where(g => GrantAuthority.Covers(g, request.Action, request.ResourceType, request.ResourceId))
            .Select(g => new GrantAuthority.Candidate(g, g.Condition is { Length: > 0 } condition ? [condition] : []))
            .ToArray();
        return candidates.Length > 0
            ? new GrantAuthority.Resolution(null, null, candidates)
            : new GrantAuthority.Resolution(DenyReasons.NoDelegation, $"no live delegation covers {request.Action} on {request.ResourceType}::\"{request.ResourceId}\"", []);
    }

    /// <summary>The identity and grant stages as a recorded decision passed them: the agent was active and a grant's conditions held then.</summary>
    public static GrantAuthority.Resolution AsRecorded { get; } =
        new(null, null, [new GrantAuthority.Candidate(new Delegation { Id = "as-recorded" }, [])]);
}
