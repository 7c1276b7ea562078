using RuntimeAuthz.Policy;
using RuntimeAuthz.Policy.Temporal;

namespace RuntimeAuthz.Grains;

/// <summary>
/// A session's Dogwood history in memory: the request event of each decision (recorded while it
/// is decided), and the response/error events of reported outcomes. It is persisted only in the
/// session's snapshots; between snapshots the evidence chain's records replay it.
/// </summary>
public sealed class TemporalHistoryKeeper(TemporalSessionState? stored)
{
    /// <summary>Snapshots above this are not written (the chain replays from the previous one).</summary>
    public const int MaxStateBytes = 900_000;

    private TemporalSessionState stored = stored ?? TemporalSessionState.Empty;
    private TemporalSession? session;
    private long sessionPolicyVersion = -1;

    /// <summary>The history for this version's temporal policies, or null when the version has none.</summary>
    private TemporalSession? SessionFor(CompiledPolicy? policy)
    {
        if (policy is null || !policy.Temporal.HasTemporalConditions) return null;
        if (session is null || sessionPolicyVersion != policy.Version)
        {
            // A new version reads the history as the previous one left it.
            session = new TemporalSession(policy.Temporal, Export());
            sessionPolicyVersion = policy.Version;
        }
        return session;
    }

    public TemporalSessionState Export() => session?.ExportState() ?? stored;

    /// <summary>Decides; with temporal policies the request is first recorded as a <c>request</c> event. True in Recorded when it was.</summary>
    public (AuthorizationResponse Response, bool Recorded) Decide(CompiledPolicy policy, AuthorizationRequest request, EntityStore entities, Guid decisionId, DateTimeOffset now, string sessionId)
    {
        if (SessionFor(policy) is not { } temporal) return (Authorizer.IsAuthorized(request, policy.Policies, entities), false);
        return (temporal.Decide(request, entities, now, decisionId.ToString("N"), sessionId), true);
    }

    /// <summary>Replays a recorded event (a request when rebuilding, or a reported outcome).</summary>
    public void Record(CompiledPolicy? policy, TemporalEvent recorded, string sessionId)
    {
        if (SessionFor(policy) is not { } temporal) return;
        var principal = new EntityUid(CedarRequestBuilder.AgentType, recorded.AgentId);
        var action = new EntityUid(CedarRequestBuilder.ActionType, recorded.Action);
        var resource = new EntityUid(recorded.ResourceType, recorded.ResourceId);
        if (recorded.Kind == TemporalEvent.RequestKind)
        {
            var facts = new CedarRequestBuilder.SessionFacts(sessionId, recorded.Risk, recorded.Decisions, recorded.AgeSeconds);
            temporal.RecordOutcome(TemporalEvent.RequestKind, new AuthorizationRequest(principal, action, resource, CedarRequestBuilder.Context(facts, recorded.ContextJson, recorded.InputJson)),
                recorded.At, recorded.DecisionId.ToString("N"), sessionId);
            return;
        }
        // Outcome events carry the request's input, and who reported it (context.reporter).
        var input = string.IsNullOrWhiteSpace(recorded.InputJson) ? CedarValue.EmptyRecord : CedarValue.FromJson(recorded.InputJson, "input");
        var context = new CedarRecordBuilder().Set("input", input).Set("reporter", CedarValue.String(recorded.Reporter ?? "")).ToContext();
        temporal.RecordOutcome(recorded.Kind, new AuthorizationRequest(principal, action, resource, context), recorded.At,
            recorded.DecisionId.ToString("N"), sessionId, OutputOf(recorded));
    }

    private static CedarContext? OutputOf(TemporalEvent recorded)
    {
        if (recorded.Kind != TemporalEvent.ResponseKind || string.IsNullOrWhiteSpace(recorded.OutputJson)) return null;
        try
        {
            return CedarContext.FromJson(recorded.OutputJson, sourceName: "output.json");
        }
        catch (CedarSyntaxException)
        {
            // Not a JSON object: the event carries the output as a single "value" field.
            return new CedarRecordBuilder().Set("value", CedarValue.String(recorded.OutputJson)).ToContext();
        }
    }
}

/// <summary>
/// A temporal event as stored beside its evidence record (unredacted: the history needs the
/// values), enough to replay it: the request's facts and input, or the outcome's output and reporter.
/// </summary>
public sealed record TemporalEvent
{
    public const string RequestKind = "request";
    public const string ResponseKind = "response";
    public const string ErrorKind = "error";

    public string Kind { get; init; } = RequestKind;
    public Guid DecisionId { get; init; }
    public DateTimeOffset At { get; init; }
    public string AgentId { get; init; } = "";
    public string Action { get; init; } = "";
    public string ResourceType { get; init; } = "";
    public string ResourceId { get; init; } = "";
    public string? ContextJson { get; init; }
    public string? InputJson { get; init; }
    public string? OutputJson { get; init; }
    /// <summary>Outcome events: <c>agent</c> or <c>enforcement-point</c>.</summary>
    public string? Reporter { get; init; }
    public long Risk { get; init; }
    public long Decisions { get; init; }
    public long AgeSeconds { get; init; }
}
