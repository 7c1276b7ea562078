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
/// Entities and context are built as Cedar values directly; the caller's JSON was read once, without
/// the schema, so its values use Cedar's explicit JSON forms (<c>{"__entity": …}</c>, <c>{"__extn": …}</c>)
/// when they are not plain JSON.
/// </summary>
public static class CedarRequestBuilder
{
    public const string AgentType = "Agent";
    public const string FleetType = "Fleet";
    public const string ActionType = "Action";

    public sealed record SessionFacts(string SessionId, long Risk, long Decisions, long AgeSeconds);

    /// <summary>The Cedar request of a call, from the call's input read once (its values are shared, never changed here).</summary>
    /// <param name="action">The action catalog's <c>context.action</c> for the request (it replaces any the caller sent).</param>
    /// <param name="stored">
    /// The entity store: the resource's stored attributes (winning over the caller's properties) and parents, the
    /// agent's stored parents and further attributes (its registered facts win), and every stored entity they reach.
    /// </param>
    public static (AuthorizationRequest Request, EntityStore Entities) Build(AgentInfo agent, SessionFacts session, Decisions.DecisionCall call, CedarValue? action = null, EntitySnapshot? stored = null)
    {
        var request = call.Request;
        var principal = new EntityUid(AgentType, agent.Id);
        var fleet = new EntityUid(FleetType, agent.Fleet);
        var resource = new EntityUid(request.ResourceType, request.ResourceId);

        var storedAgent = stored?.Find(Key(principal))?.Cedar;
        var attributes = storedAgent is null ? new CedarRecordBuilder() : new CedarRecordBuilder(storedAgent.Attributes);
        attributes.Set("name", CedarValue.String(agent.Name))
            .Set("owner", CedarValue.String(agent.Owner))
            .Set("fleet", CedarValue.String(agent.Fleet))
            .Set("labels", CedarValue.Record(agent.Labels.Select(l => KeyValuePair.Create(l.Key, CedarValue.String(l.Value)))))
            .Set("status", CedarValue.String(agent.Status.ToString().ToLowerInvariant()))
            .Set("grants", GrantRecords(agent, session.SessionId));
        var entities = new List<CedarEntity>
        {
            new(principal, attributes.ToValue(), [fleet, .. storedAgent?.Parents ?? []]),
            new(fleet, CedarValue.EmptyRecord, []),
        };
        if (resource != principal && resource != fleet) entities.Add(StoredOrGiven(resource, call.Parsed.Properties.ToBuilder(), stored));
        AddReachable(entities, stored, [principal, fleet, resource], call.Parsed.Context.References);

        var context = SessionContext(session, call.Parsed.Context.ToBuilder(), call.Parsed.Input, action);
        return (new AuthorizationRequest(principal, new EntityUid(ActionType, request.Action), resource, context), EntityStore.FromEntities(entities));
    }

    /// <summary>
    /// A session-less request of any principal: principal and resource with their stored attributes (winning
    /// over the given properties, which are the trusted caller's only) and parents, the stored entities they
    /// reach, and a context of the caller's keys, <c>input</c> and the catalog's <c>action</c> (no <c>session</c>).
    /// </summary>
    public static (AuthorizationRequest Request, EntityStore Entities) BuildForSubject(
        EntityUid principal, CedarJsonRecord? subjectProperties, Decisions.DecisionCall call, CedarValue? action, EntitySnapshot? stored)
    {
        var request = call.Request;
        var resource = new EntityUid(request.ResourceType, request.ResourceId);
        var entities = new List<CedarEntity> { StoredOrGiven(principal, subjectProperties is null ? new() : new(subjectProperties), stored) };
        if (resource != principal) entities.Add(StoredOrGiven(resource, call.Parsed.Properties.ToBuilder(), stored));
        AddReachable(entities, stored, [principal, resource], call.Parsed.Context.References);
        var context = WithInput(call.Parsed.Context.ToBuilder(), call.Parsed.Input, action);
        return (new AuthorizationRequest(principal, new EntityUid(ActionType, request.Action), resource, context), EntityStore.FromEntities(entities));
    }

    /// <summary>The context with the catalog's <c>action</c> (when given) and <c>input</c> (the tool input, an empty record when none).</summary>
    private static CedarContext WithInput(CedarRecordBuilder context, Decisions.CallerInput.ParsedValue tool, CedarValue? action)
    {
        var input = tool.OrEmptyRecord;
        if (action is { } described) context.Set("action", described);
        return context.Set("input", input).ToContext();
    }

    private static EntityKey Key(EntityUid uid) => EntityKey.Of(uid.Type, uid.Id);

    /// <summary>The entity with the given attributes, overlaid by its stored ones (the store wins), and its stored parents.</summary>
    private static CedarEntity StoredOrGiven(EntityUid uid, CedarRecordBuilder given, EntitySnapshot? stored)
    {
        var entity = stored?.Find(Key(uid))?.Cedar;
        return entity is null ? new CedarEntity(uid, given.ToValue(), []) : entity.WithAttributes(given.SetAll(entity.Attributes).ToValue());
    }

    /// <summary>
    /// Adds the stored entities the request's entities and context reach (parents, entity-valued attributes,
    /// entity values in the caller's context such as <c>context.onBehalfOf</c>) that are not in it yet.
    /// </summary>
    private static void AddReachable(List<CedarEntity> entities, EntitySnapshot? stored, IEnumerable<EntityUid> present, IReadOnlyList<EntityUid> contextReferences)
    {
        if (stored is null || stored.Count == 0) return;
        var have = present.Select(Key).ToHashSet();
        var roots = entities.SelectMany(e => e.Parents).Select(Key)
            .Concat(have.SelectMany(k => stored.Find(k)?.References ?? []))
            .Concat(contextReferences.Select(Key));
        foreach (var entity in stored.Reachable(roots))
        {
            if (have.Add(entity.Uid)) entities.Add(entity.Cedar);
        }
    }

    /// <summary>The request context of a recorded request: the caller's keys, <c>session</c> (the facts) and <c>input</c> (the tool input).</summary>
    public static CedarContext Context(SessionFacts session, string? contextJson, string? inputJson)
    {
        var recorded = new Decisions.CallerInput(new DecisionRequest { ContextJson = contextJson, InputJson = inputJson });
        return SessionContext(session, recorded.Context.ToBuilder(), recorded.Input, action: null);
    }

    private static CedarContext SessionContext(SessionFacts session, CedarRecordBuilder callerContext, Decisions.CallerInput.ParsedValue input, CedarValue? action) =>
        WithInput(callerContext.Set("session", CedarValue.Record(
        [
            new("id", CedarValue.String(session.SessionId)),
            new("risk", CedarValue.Long(session.Risk)),
            new("decisions", CedarValue.Long(session.Decisions)),
            new("ageSeconds", CedarValue.Long(session.AgeSeconds)),
        ])), input, action);

    /// <summary>
    /// The agent's current grants as <c>principal.grants</c>: a set of records
    /// <c>{id, purpose, grantedBy, delegator, depth, elevated}</c> (delegator "" for a human grant;
    /// elevations of other sessions are left out). Whether a grant covers the request is decided
    /// by the cluster before the policies run; this lets policies reason about provenance.
    /// </summary>
    private static CedarValue GrantRecords(AgentInfo agent, string sessionId) => CedarValue.Set(agent.Delegations
        .Where(grant => grant.SessionId is null || string.Equals(grant.SessionId, sessionId, StringComparison.Ordinal))
        .Select(grant => CedarValue.Record(
        [
            new("id", CedarValue.String(grant.Id)),
            new("purpose", CedarValue.String(grant.Purpose ?? "")),
            new("grantedBy", CedarValue.String(grant.GrantedBy)),
            new("delegator", CedarValue.String(grant.DelegatorAgentId ?? "")),
            new("depth", CedarValue.Long(grant.Depth)),
            new("elevated", CedarValue.Bool(grant.SessionId is not null)),
        ])));

    /// <summary>The Cedar literal of a resource, as recorded in session events.</summary>
    public static string ResourceLiteral(string type, string id) => new EntityUid(type, id).ToString();
}
