using System.Text.Json;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Grains;

/// <summary>
/// Persisted temporal state of a session grain, in its own row beside the session: the Dogwood
/// history the policies' windows can still see, and the recent decided requests an outcome report
/// refers to (a response/error event carries the request's input).
/// </summary>
public sealed record SessionTemporalState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public TemporalSessionState History { get; init; } = TemporalSessionState.Empty;
    public IReadOnlyList<PendingOutcome> Pending { get; init; } = [];
}

/// <summary>A decided request whose outcome may still be reported.</summary>
public sealed record PendingOutcome(Guid DecisionId, string AgentId, string Action, string ResourceType, string ResourceId, string? InputJson);

/// <summary>
/// The session grain's temporal side: records each decision request as a <c>request</c> event
/// before deciding, evaluates the temporal blocks over the session's history, feeds reported
/// outcomes as <c>response</c>/<c>error</c> events, and persists the bounded state.
/// </summary>
public sealed class TemporalHistoryKeeper(IPersistentState<SessionTemporalState> state, ILogger logger)
{
    /// <summary>How many decided requests an outcome may still be reported for.</summary>
    public const int MaxPending = 64;
    /// <summary>Stored JSON above this would not fit beside the row's other properties: decisions then deny.</summary>
    public const int MaxStateBytes = 900_000;

    private TemporalSession? session;
    private long sessionPolicyVersion = -1;
    private PendingOutcome? lastDecided;
    private bool dirty;

    private TemporalSession SessionFor(CompiledPolicy policy)
    {
        if (session is null || sessionPolicyVersion != policy.Version)
        {
            session = new TemporalSession(policy.Temporal, state.State.History);
            sessionPolicyVersion = policy.Version;
        }
        return session;
    }

    /// <summary>Decides; with temporal policies the request is first recorded in the session's history.</summary>
    public AuthorizationResponse Decide(CompiledPolicy policy, AuthorizationRequest request, EntityStore entities, DecisionRequest call, string agentId, Guid decisionId, DateTimeOffset now, string sessionId)
    {
        if (!policy.Temporal.HasTemporalConditions) return Authorizer.IsAuthorized(request, policy.Policies, entities);
        lastDecided = new PendingOutcome(decisionId, agentId, call.Action, call.ResourceType, call.ResourceId, call.InputJson);
        var response = SessionFor(policy).Decide(request, entities, now, decisionId.ToString("N"), sessionId);
        dirty = true;
        return response;
    }

    /// <summary>Persists the history (when it changed) and remembers the decision for its outcome. Throws when it cannot.</summary>
    public async Task CommitAsync(Guid decisionId)
    {
        var remember = lastDecided is { } last && last.DecisionId == decisionId;
        if (!dirty && !remember) return; // nothing temporal happened in this call
        var pending = state.State.Pending;
        if (lastDecided is { } decided && decided.DecisionId == decisionId)
            pending = [.. pending.Skip(Math.Max(0, pending.Count - MaxPending + 1)), decided];
        var next = state.State with { Pending = pending, History = dirty && session is not null ? session.ExportState() : state.State.History };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(next).Length;
        if (bytes > MaxStateBytes)
        {
            Reset();
            throw new InvalidOperationException($"the session's temporal history would take {bytes} bytes (limit {MaxStateBytes})");
        }
        var previous = state.State;
        state.State = next;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = previous;
            Reset();
            throw;
        }
        dirty = false;
    }

    /// <summary>Records a reported outcome as a response/error event. False when the decision is no longer known.</summary>
    public async Task<bool> RecordOutcomeAsync(CompiledPolicy? policy, OutcomeReport report, DateTimeOffset now, string sessionId)
    {
        if (policy is null || !policy.Temporal.HasTemporalConditions) return false;
        var pending = state.State.Pending.LastOrDefault(p => p.DecisionId == report.DecisionId);
        if (pending is null)
        {
            logger.LogWarning("Outcome of decision {DecisionId} in session {SessionId} is older than the temporal history keeps; not recorded as an event", report.DecisionId, sessionId);
            return false;
        }
        var input = string.IsNullOrWhiteSpace(pending.InputJson) ? "{}" : pending.InputJson;
        var request = new AuthorizationRequest(
            new EntityUid(CedarRequestBuilder.AgentType, pending.AgentId), new EntityUid(CedarRequestBuilder.ActionType, pending.Action),
            new EntityUid(pending.ResourceType, pending.ResourceId), CedarContext.FromJson($"{{\"input\": {input}}}"));
        CedarContext? output = null;
        if (report.Kind == SessionEventKind.Response && !string.IsNullOrWhiteSpace(report.OutputJson))
        {
            try
            {
                output = CedarContext.FromJson(report.OutputJson, sourceName: "output.json");
            }
            catch (CedarSyntaxException)
            {
                // Not a JSON object: the event carries the output as a single "value" field.
                output = CedarContext.FromJson(JsonSerializer.Serialize(new Dictionary<string, string> { ["value"] = report.OutputJson }));
            }
        }
        SessionFor(policy).RecordOutcome(report.Kind == SessionEventKind.Error ? "error" : "response", request, now, report.DecisionId.ToString("N"), sessionId, output);
        dirty = true;
        lastDecided = null;
        await CommitAsync(Guid.Empty);
        return true;
    }

    /// <summary>Forgets the in-memory session so the next call reloads from the stored state.</summary>
    private void Reset()
    {
        session = null;
        sessionPolicyVersion = -1;
        dirty = false;
    }
}
