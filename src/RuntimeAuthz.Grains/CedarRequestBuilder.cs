using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;
using RuntimeAuthz.Grains.Entities;

namespace RuntimeAuthz.Grains;

/// <summary>
/// Turns an agent, a session and a decision request into a Cedar request, per the HTTP API's
/// "Cedar mapping": principal <c>Agent::"id"</c> (parent <c>Fleet::"fleet"</c>, attribute
/// <c>grants</c>: the agent's current grants), action
/// <c>Action::"name"</c>, the resource with its properties as attributes, and a context holding
/// the session facts, the tool input and the caller's other keys.
/// Entities and context are read without the schema, so attribute values use Cedar's explicit
/// JSON forms (<c>{"__entity": …}</c>, <c>{"__extn": …}</c>) when they are not plain JSON.
/// </summary>
public static class CedarRequestBuilder
{
    public const string AgentType = "Agent";
    public const string FleetType = "Fleet";
    public const string ActionType = "Action";

    public sealed record SessionFacts(string SessionId, long Risk, long Decisions, long AgeSeconds);

    public static (AuthorizationRequest Request, EntityStore Entities) Build(AgentInfo agent, SessionFacts session, DecisionRequest request) =>
        Build(agent, session, new Decisions.DecisionCall(session.SessionId, Guid.Empty, default, request));

    /// <summary>As above, from the call's JSON parsed once (copied here: the evidence record keeps the originals).</summary>
    /// <param name="action">The action catalog's <c>context.action</c> for the request (it replaces any the caller sent).</param>
    /// <param name="stored">
    /// The entity store: the resource's stored attributes (winning over the caller's properties) and parents, the
    /// agent's stored parents and further attributes (its registered facts win), and every stored entity they reach.
    /// </param>
    public static (AuthorizationRequest Request, EntityStore Entities) Build(AgentInfo agent, SessionFacts session, Decisions.DecisionCall call, JsonObject? action = null, EntitySnapshot? stored = null)
    {
        var request = call.Request;
        var principal = new EntityUid(AgentType, agent.Id);
        var fleet = new EntityUid(FleetType, agent.Fleet);
        var resource = new EntityUid(request.ResourceType, request.ResourceId);

        var labels = new JsonObject();
        foreach (var (key, value) in agent.Labels) labels[key] = value;
        var registered = new JsonObject
        {
            ["name"] = agent.Name,
            ["owner"] = agent.Owner,
            ["fleet"] = agent.Fleet,
            ["labels"] = labels,
            ["status"] = agent.Status.ToString().ToLowerInvariant(),
            ["grants"] = GrantRecords(agent, session.SessionId),
        };
        var storedAgent = stored?.Find(Key(principal));
        var entities = new JsonArray
        {
            Entity(principal, Overlay(storedAgent?.AttrsCopy() ?? new JsonObject(), registered), [fleet, .. ParentsOf(storedAgent)]),
            Entity(fleet, new JsonObject(), []),
        };
        if (resource != principal && resource != fleet) entities.Add(StoredOrGiven(resource, ObjectOf(call.Json.Properties, "resource.properties"), stored));
        AddReachable(entities, stored, [principal, fleet, resource], call.Json.Context.Node);

        var store = EntityStore.FromJson(entities.ToJsonString(), schema: null, sourceName: "entities.json");
        var cedarContext = Context(session, ObjectOf(call.Json.Context, "context"), call.Json.Input, action);
        return (new AuthorizationRequest(principal, new EntityUid(ActionType, request.Action), resource, cedarContext), store);
    }

    /// <summary>
    /// A session-less request of any principal: principal and resource with their stored attributes (winning
    /// over the given properties, which are the trusted caller's only) and parents, the stored entities they
    /// reach, and a context of the caller's keys, <c>input</c> and the catalog's <c>action</c> (no <c>session</c>).
    /// </summary>
    public static (AuthorizationRequest Request, EntityStore Entities) BuildForSubject(
        EntityUid principal, JsonObject? subjectProperties, Decisions.DecisionCall call, JsonObject? action, EntitySnapshot? stored)
    {
        var request = call.Request;
        var resource = new EntityUid(request.ResourceType, request.ResourceId);
        var entities = new JsonArray { StoredOrGiven(principal, subjectProperties ?? new JsonObject(), stored) };
        if (resource != principal) entities.Add(StoredOrGiven(resource, ObjectOf(call.Json.Properties, "resource.properties"), stored));
        AddReachable(entities, stored, [principal, resource], call.Json.Context.Node);

        var context = ObjectOf(call.Json.Context, "context");
        if (call.Json.Input.Error is { } invalid) throw invalid;
        if (action is not null) context["action"] = action;
        context["input"] = call.Json.Input.Node?.DeepClone() ?? new JsonObject();
        var store = EntityStore.FromJson(entities.ToJsonString(), schema: null, sourceName: "entities.json");
        var cedarContext = CedarContext.FromJson(context.ToJsonString(), schema: null, action: null, sourceName: "context.json");
        return (new AuthorizationRequest(principal, new EntityUid(ActionType, request.Action), resource, cedarContext), store);
    }

    private static EntityKey Key(EntityUid uid) => EntityKey.Of(uid.Type, uid.Id);

    private static IEnumerable<EntityUid> ParentsOf(CachedEntity? entity) =>
        entity?.Document.Parents.Select(p => new EntityUid(p.Type, p.Id)) ?? [];

    /// <summary>The entity with the given attributes, overlaid by its stored ones (the store wins), and its stored parents.</summary>
    private static JsonObject StoredOrGiven(EntityUid uid, JsonObject given, EntitySnapshot? stored)
    {
        var entity = stored?.Find(Key(uid));
        return Entity(uid, entity is null ? given : Overlay(given, entity.AttrsCopy()), ParentsOf(entity));
    }

    /// <summary><paramref name="under"/> with every key of <paramref name="over"/> set on it (over wins).</summary>
    private static JsonObject Overlay(JsonObject under, JsonObject over)
    {
        foreach (var key in over.Select(p => p.Key).ToArray())
        {
            var value = over[key];
            over.Remove(key);
            under[key] = value;
        }
        return under;
    }

    /// <summary>
    /// Adds the stored entities the request's entities and context reach (parents, entity-valued attributes,
    /// <c>{"__entity": …}</c> context values such as <c>context.onBehalfOf</c>) that are not in it yet.
    /// </summary>
    private static void AddReachable(JsonArray entities, EntitySnapshot? stored, IEnumerable<EntityUid> present, JsonNode? context)
    {
        if (stored is null || stored.Count == 0) return;
        var have = present.Select(Key).ToHashSet();
        var roots = entities.OfType<JsonObject>().SelectMany(e => ((JsonArray)e["parents"]!).OfType<JsonObject>()
                .Select(p => EntityKey.Of(p["type"]!.GetValue<string>(), p["id"]!.GetValue<string>())))
            .Concat(have.SelectMany(k => stored.Find(k)?.References ?? []))
            .Concat(EntityJson.References(context));
        foreach (var entity in stored.Reachable(roots))
        {
            if (have.Add(entity.Uid)) entities.Add(EntityJson.ToNode(entity.Document));
        }
    }

    /// <summary>The request context: the caller's keys, <c>session</c> (the facts) and <c>input</c> (the tool input).</summary>
    public static CedarContext Context(SessionFacts session, string? contextJson, string? inputJson)
    {
        var call = new Decisions.CallerJson(new DecisionRequest { ContextJson = contextJson, InputJson = inputJson });
        return Context(session, ObjectOf(call.Context, "context"), call.Input);
    }

    private static CedarContext Context(SessionFacts session, JsonObject context, (JsonNode? Node, JsonException? Error) input, JsonObject? action = null)
    {
        context["session"] = new JsonObject
        {
            ["id"] = session.SessionId,
            ["risk"] = session.Risk,
            ["decisions"] = session.Decisions,
            ["ageSeconds"] = session.AgeSeconds,
        };
        if (input.Error is { } invalid) throw invalid;
        if (action is not null) context["action"] = action;
        context["input"] = input.Node?.DeepClone() ?? new JsonObject();
        return CedarContext.FromJson(context.ToJsonString(), schema: null, action: null, sourceName: "context.json");
    }

    /// <summary>
    /// The agent's current grants as <c>principal.grants</c>: a set of records
    /// <c>{id, purpose, grantedBy, delegator, depth, elevated}</c> (delegator "" for a human grant;
    /// elevations of other sessions are left out). Whether a grant covers the request is decided
    /// by the cluster before the policies run; this lets policies reason about provenance.
    /// </summary>
    private static JsonArray GrantRecords(AgentInfo agent, string sessionId)
    {
        var grants = new JsonArray();
        foreach (var grant in agent.Delegations)
        {
            if (grant.SessionId is not null && !string.Equals(grant.SessionId, sessionId, StringComparison.Ordinal)) continue;
            grants.Add(new JsonObject
            {
                ["id"] = grant.Id,
                ["purpose"] = grant.Purpose ?? "",
                ["grantedBy"] = grant.GrantedBy,
                ["delegator"] = grant.DelegatorAgentId ?? "",
                ["depth"] = grant.Depth,
                ["elevated"] = grant.SessionId is not null,
            });
        }
        return grants;
    }

    private static JsonObject Entity(EntityUid uid, JsonObject attributes, IEnumerable<EntityUid> parents)
    {
        var parentArray = new JsonArray();
        foreach (var parent in parents) parentArray.Add(Uid(parent));
        return new JsonObject { ["uid"] = Uid(uid), ["attrs"] = attributes, ["parents"] = parentArray };
    }

    private static JsonObject Uid(EntityUid uid) => new() { ["type"] = uid.Type, ["id"] = uid.Id };

    /// <summary>A copy of the parsed object (an absent or JSON-null value is an empty object).</summary>
    private static JsonObject ObjectOf((JsonNode? Node, JsonException? Error) parsed, string what)
    {
        if (parsed.Error is { } invalid) throw invalid;
        if (parsed.Node is null) return new JsonObject();
        return parsed.Node.DeepClone() as JsonObject ?? throw new JsonException($"{what} must be a JSON object");
    }

    /// <summary>The Cedar literal of a resource, as recorded in session events.</summary>
    public static string ResourceLiteral(string type, string id) => new EntityUid(type, id).ToString();
}
