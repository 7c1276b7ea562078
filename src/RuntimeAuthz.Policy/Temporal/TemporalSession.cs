using System.Text;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Temporal;

/// <summary>
/// A Dogwood policy set (<c>.dw</c>): Cedar policies whose conditions may hold <c>temporal { … }</c>
/// blocks, parsed and checked against an event schema (AgentCore's by default).
/// </summary>
public sealed class TemporalPolicySet
{
    private TemporalPolicySet(PolicySet policies, EventSchema eventSchema, TemporalMonitor monitor)
    {
        Policies = policies;
        EventSchema = eventSchema;
        Monitor = monitor;
    }

    public PolicySet Policies { get; }
    public EventSchema EventSchema { get; }
    public bool HasTemporalConditions => Monitor.Blocks.Count > 0;
    /// <summary>How far back the temporal blocks can look (the longest nested window); older events are dropped.</summary>
    public TimeSpan Horizon => TimeSpan.FromMilliseconds(Monitor.HorizonMs);
    internal TemporalMonitor Monitor { get; }

    /// <summary>
    /// Parses and checks a policy file. Throws <see cref="CedarSyntaxException"/> ("file:line:column: detail")
    /// on a syntax error or when a temporal block breaks an acceptance rule (the detail names the rule).
    /// </summary>
    public static TemporalPolicySet Parse(string text, string sourceName = "policies.dw", EventSchema? eventSchema = null, CedarSchema? schema = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        eventSchema ??= EventSchema.AgentCore;
        var policies = PolicySet.ParseDogwood(text, sourceName);
        var blocks = new List<TemporalBlock>();
        foreach (var policy in policies.Policies)
        {
            foreach (var block in policy.TemporalBlocks)
            {
                block.PolicyId = policy.Id;
                TemporalChecker.Check(block, eventSchema, schema, ScopedActions(policy));
                blocks.Add(block);
            }
        }
        return new TemporalPolicySet(policies, eventSchema, new TemporalMonitor(blocks, eventSchema));
    }

    private static IReadOnlyList<EntityUid>? ScopedActions(Policy policy) => policy.Action.Kind switch
    {
        ScopeKind.Equal => [policy.Action.Entity!.Value],
        ScopeKind.InSet => policy.Action.Entities,
        _ => null,
    };

    /// <summary>The same checked set without the named policies (and their temporal blocks); the others keep their ids.</summary>
    public TemporalPolicySet Without(IReadOnlySet<string> policyIds)
    {
        ArgumentNullException.ThrowIfNull(policyIds);
        return new TemporalPolicySet(Policies.Without(policyIds), EventSchema,
            new TemporalMonitor([.. Monitor.Blocks.Where(b => !policyIds.Contains(b.PolicyId))], EventSchema));
    }

    /// <summary>Wraps a plain Cedar set (no temporal blocks).</summary>
    public static TemporalPolicySet FromCedar(PolicySet policies, EventSchema? eventSchema = null)
    {
        ArgumentNullException.ThrowIfNull(policies);
        var schema = eventSchema ?? EventSchema.AgentCore;
        var blocks = policies.Policies.SelectMany(p => p.TemporalBlocks).ToList();
        if (blocks.Count > 0) throw new ArgumentException("the set has temporal blocks: parse it with TemporalPolicySet.Parse so they are checked", nameof(policies));
        return new TemporalPolicySet(policies, schema, new TemporalMonitor([], schema));
    }
}

/// <summary>
/// Persisted temporal history of one session (System.Text.Json, compact: it is stored with the
/// session). Only events a window can still see are kept; their timepoints are consecutive from
/// <see cref="FirstIndex"/>.
/// </summary>
public sealed record TemporalSessionState
{
    public const int CurrentVersion = 1;
    [System.Text.Json.Serialization.JsonPropertyName("v")] public int Version { get; init; } = CurrentVersion;
    /// <summary>The timepoint the next event gets (every event of the session counts).</summary>
    [System.Text.Json.Serialization.JsonPropertyName("n")] public long NextIndex { get; init; }
    /// <summary>The timepoint of the first retained event.</summary>
    [System.Text.Json.Serialization.JsonPropertyName("i")] public long FirstIndex { get; init; }
    /// <summary>Event names (<c>Ns::Action::"Id"::kind</c>) the events refer to by position.</summary>
    [System.Text.Json.Serialization.JsonPropertyName("s")] public IReadOnlyList<string> Signatures { get; init; } = [];
    [System.Text.Json.Serialization.JsonPropertyName("e")] public IReadOnlyList<TemporalStoredEvent> Events { get; init; } = [];
    public static TemporalSessionState Empty { get; } = new();
}

/// <summary>
/// One retained event: milliseconds since the previous retained event (the first: since the Unix
/// epoch), the index of its name in <see cref="TemporalSessionState.Signatures"/> (-1 for an event no
/// predicate can match, kept only as a timepoint), and the fields predicates read, in Cedar literal syntax.
/// </summary>
public sealed record TemporalStoredEvent(
    [property: System.Text.Json.Serialization.JsonPropertyName("d")] long DeltaMs,
    [property: System.Text.Json.Serialization.JsonPropertyName("s")] int Signature = -1,
    [property: System.Text.Json.Serialization.JsonPropertyName("f"), System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Fields = null);

/// <summary>
/// The temporal side of one session: its bounded history and the decisions over it. Not thread-safe:
/// the owner (the session grain) calls it from one turn at a time.
/// </summary>
public sealed class TemporalSession
{
    private readonly TemporalPolicySet policies;
    private readonly TemporalHistory history;
    private readonly Policy[] temporalPolicies;

    public TemporalSession(TemporalPolicySet policies, TemporalSessionState? state = null)
    {
        ArgumentNullException.ThrowIfNull(policies);
        this.policies = policies;
        temporalPolicies = [.. policies.Policies.Policies.Where(p => p.TemporalBlocks.Length > 0)];
        history = policies.Monitor.CreateHistory();
        if (state is not null) Import(state);
    }

    public int RetainedEvents => history.RetainedCount;
    public long NextIndex => history.NextIndex;

    /// <summary>
    /// Records the request as a <c>request</c> event (also when it is then denied), evaluates the
    /// temporal blocks over the history including it, and decides. Any temporal evaluation failure denies.
    /// </summary>
    public AuthorizationResponse Decide(AuthorizationRequest request, EntityStore entities, DateTimeOffset time, string requestId, string sessionId, string kind = "request")
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(entities);
        var context = request.Context ?? CedarContext.Empty;
        var contextRecord = WithSession(context.Record, sessionId);
        var fields = policies.EventSchema.BuildFields(kind, request.Principal, request.Resource, contextRecord, null, requestId, sessionId);
        Append(time, request.Action, kind, fields);
        return DecideAtLatest(request, entities, fields, contextRecord);
    }

    /// <summary>Records a reported outcome (<c>response</c> with the tool's output, or <c>error</c>) as a history event.</summary>
    public void RecordOutcome(string kind, AuthorizationRequest request, DateTimeOffset time, string requestId, string sessionId, CedarContext? output = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (policies.EventSchema.Find(kind) is null) throw new ArgumentException($"event kind '{kind}' is not declared in the event schema", nameof(kind));
        var contextRecord = WithSession((request.Context ?? CedarContext.Empty).Record, sessionId);
        var fields = policies.EventSchema.BuildFields(kind, request.Principal, request.Resource, contextRecord, output?.Record, requestId, sessionId);
        Append(time, request.Action, kind, fields);
    }

    internal AuthorizationResponse DecideAtLatest(AuthorizationRequest request, EntityStore entities, RecordValue logged, RecordValue requestContext)
    {
        Dictionary<TemporalBlock, bool> values;
        try
        {
            var scope = new Evaluation.EvalEnv(new EntityValue(request.Principal), new EntityValue(request.Action), new EntityValue(request.Resource), RecordValue.Empty, entities);
            values = policies.Monitor.Evaluate(history, new DecisionInput(logged, requestContext, request.Principal, request.Resource, entities), temporalPolicies, scope);
        }
        catch (Exception e) when (e is TemporalEvaluationException or EvaluationException or InvalidOperationException or ArgumentException)
        {
            return new AuthorizationResponse(Decision.Deny, [], [new PolicyEvaluationError("temporal", CedarErrorKind.Temporal, "temporal evaluation: " + e.Message, SourceSpan.None)]);
        }
        return Authorizer.IsAuthorizedWithTemporal(request, policies.Policies, entities, values);
    }

    internal void Append(DateTimeOffset time, EntityUid action, string kind, RecordValue fields) =>
        AppendAt(time.ToUnixTimeMilliseconds(), action, kind, fields);

    internal void AppendAt(long timeMs, EntityUid action, string kind, RecordValue fields)
    {
        // History is ordered by time; a clock that steps back is held at the last time seen.
        var at = history.RetainedCount == 0 ? timeMs : Math.Max(timeMs, history.LastTimeMs);
        history.Append(at, action.Type, action.Id, kind, (RecordValue)TemporalValueOps.Normalize(fields)!);
    }

    private static RecordValue WithSession(RecordValue context, string sessionId)
    {
        if (context.Attributes.ContainsKey("sessionId")) return context;
        var copy = new Dictionary<string, Value>(context.Attributes, StringComparer.Ordinal) { ["sessionId"] = new StringValue(sessionId) };
        return new RecordValue(copy);
    }

    /// <summary>A snapshot of the retained history, for persistence.</summary>
    public TemporalSessionState ExportState()
    {
        var events = new List<TemporalStoredEvent>(history.RetainedCount);
        var signatures = new List<string>();
        var signatureIndex = new Dictionary<(string, string, string), int>();
        long previous = 0;
        foreach (var e in history.Retained())
        {
            var delta = e.TimeMs - previous;
            previous = e.TimeMs;
            if (e.IsStub)
            {
                events.Add(new TemporalStoredEvent(delta));
                continue;
            }
            if (!signatureIndex.TryGetValue((e.ActionType!, e.ActionId!, e.Kind!), out var sig))
            {
                sig = signatures.Count;
                signatureIndex[(e.ActionType!, e.ActionId!, e.Kind!)] = sig;
                signatures.Add(new EntityUid(e.ActionType!, e.ActionId!) + "::" + e.Kind);
            }
            events.Add(new TemporalStoredEvent(delta, sig, CompactText(e.Fields!)));
        }
        return new TemporalSessionState { NextIndex = history.NextIndex, FirstIndex = history.FirstRetainedIndex, Signatures = signatures, Events = events };
    }

    // Record keys are plain names here (the trace syntax reads them unquoted), which keeps the stored JSON small.
    private static string CompactText(Value value)
    {
        var builder = new StringBuilder();
        void Write(Value v)
        {
            switch (v)
            {
                case RecordValue r:
                    builder.Append('{');
                    var first = true;
                    foreach (var (key, item) in r.Attributes)
                    {
                        if (!first) builder.Append(',');
                        first = false;
                        if (IsPlainName(key)) builder.Append(key);
                        else builder.Append('"').Append(EntityUid.EscapeString(key)).Append('"');
                        builder.Append(':');
                        Write(item);
                    }
                    builder.Append('}');
                    break;
                case SetValue set:
                    builder.Append('[');
                    for (var i = 0; i < set.Items.Length; i++)
                    {
                        if (i > 0) builder.Append(',');
                        Write(set.Items[i]);
                    }
                    builder.Append(']');
                    break;
                default:
                    v.Write(builder);
                    break;
            }
        }
        Write(value);
        return builder.ToString();
    }

    private static bool IsPlainName(string key) =>
        key.Length > 0 && (char.IsAsciiLetter(key[0]) || key[0] == '_') && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private void Import(TemporalSessionState state)
    {
        if (state.Version != TemporalSessionState.CurrentVersion) throw new ArgumentException($"unsupported temporal state version {state.Version}", nameof(state));
        var signatures = new List<(string Type, string Id, string Kind)>(state.Signatures.Count);
        foreach (var text in state.Signatures)
        {
            var split = text.LastIndexOf("::", StringComparison.Ordinal);
            if (split < 0 || TraceReader.ParseValue(text[..split]) is not EntityValue action) throw new ArgumentException($"malformed event name '{text}' in the temporal state", nameof(state));
            signatures.Add((action.Uid.Type, action.Uid.Id, text[(split + 2)..]));
        }
        long time = 0;
        var index = state.FirstIndex;
        foreach (var stored in state.Events)
        {
            time += stored.DeltaMs;
            if (stored.Signature < 0 || stored.Fields is null)
            {
                history.Add(new HistoryEvent(index++, time, null, null, null, null));
                continue;
            }
            if (stored.Signature >= signatures.Count) throw new ArgumentException($"stored event {index} refers to an unknown event name", nameof(state));
            var (type, id, kind) = signatures[stored.Signature];
            var fields = TraceReader.ParseValue(stored.Fields) as RecordValue ?? throw new ArgumentException($"stored event {index} has malformed fields", nameof(state));
            history.Add(new HistoryEvent(index++, time, type, id, kind, fields));
        }
        if (state.NextIndex > history.NextIndex) history.SkipTo(state.NextIndex);
    }
}

/// <summary>Replays a Dogwood trace: one line per decision event, <c>@&lt;ts&gt; (time point &lt;i&gt;): true|false</c>.</summary>
public static class TemporalReplay
{
    /// <summary>
    /// Replays <paramref name="traceText"/> against <paramref name="policies"/>. Timestamps are seconds;
    /// i counts every event from 0. Throws <see cref="CedarSyntaxException"/> for a malformed trace.
    /// </summary>
    public static IReadOnlyList<string> Run(TemporalPolicySet policies, string traceText, string traceName = "trace.log", CedarSchema? schema = null) =>
        Run(policies, traceText, traceName, roundTripState: false, schema);

    /// <param name="roundTripState">Persist each session's state as JSON and restore it after every event (what a grain deactivation does).</param>
    internal static IReadOnlyList<string> Run(TemporalPolicySet policies, string traceText, string traceName, bool roundTripState, CedarSchema? schema = null)
    {
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(traceText);
        var events = TraceReader.Parse(traceText, traceName);
        var pins = policies.EventSchema.UniversalPins;
        var sessions = new Dictionary<ValueKey, TemporalSession>();
        var lines = new List<string>();
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var contextRecord = e.RequestContext ?? new RecordValue(e.Logged.Attributes.TryGetValue("input", out var input) && input is RecordValue
                ? new Dictionary<string, Value>(StringComparer.Ordinal) { ["input"] = input }
                : new Dictionary<string, Value>(StringComparer.Ordinal));
            // With a universal symmetric pin the history is partitioned by the pinned values (one
            // session per key), exactly as the session grain keeps it.
            var keyParts = new Value[pins.Count];
            for (var p = 0; p < pins.Count; p++)
                keyParts[p] = TemporalValueOps.Lookup(e.Logged, pins[p].Path) ?? NullValue.Instance;
            var key = new ValueKey(keyParts);
            if (!sessions.TryGetValue(key, out var session)) sessions[key] = session = new TemporalSession(policies);
            var action = new EntityUid(e.ActionType, e.ActionId);
            session.AppendAt(checked(e.Timestamp * 1000), action, e.Kind, (RecordValue)TemporalValueOps.Normalize(e.Logged)!);
            if (!policies.EventSchema.IsDecisionKind(e.Kind))
            {
                if (roundTripState) sessions[key] = RoundTrip(policies, session);
                continue;
            }
            bool allowed;
            if (e.Principal is null || e.Resource is null)
            {
                allowed = false; // a decision event without a principal or resource denies
            }
            else
            {
                var entities = e.EntitiesJson is null ? EntityStore.Empty : EntityStore.FromJson(e.EntitiesJson, schema, traceName);
                var request = new AuthorizationRequest(e.Principal.Value, action, e.Resource.Value, new CedarContext((RecordValue)TemporalValueOps.ToCedar(contextRecord)));
                var response = session.DecideAtLatest(request, entities, e.Logged, contextRecord);
                allowed = response.Decision == Decision.Allow;
            }
            lines.Add($"@{e.Timestamp} (time point {i}): {(allowed ? "true" : "false")}");
            if (roundTripState) sessions[key] = RoundTrip(policies, session);
        }
        return lines;
    }

    private static TemporalSession RoundTrip(TemporalPolicySet policies, TemporalSession session)
    {
        var json = System.Text.Json.JsonSerializer.Serialize(session.ExportState());
        return new TemporalSession(policies, System.Text.Json.JsonSerializer.Deserialize<TemporalSessionState>(json));
    }
}
