namespace RuntimeAuthz.Policy.Evaluation;

/// <summary>Everything one evaluation reads: the request variables and the entity store.</summary>
internal sealed class EvalEnv(EntityValue principal, EntityValue action, EntityValue resource, RecordValue context, EntityStore entities)
{
    public EntityValue Principal { get; } = principal;
    public EntityValue Action { get; } = action;
    public EntityValue Resource { get; } = resource;
    public RecordValue Context { get; } = context;
    public EntityStore Entities { get; } = entities;
    // Looked up once per request: scope checks and the index read them for every candidate policy.
    public AncestorSet PrincipalAncestors { get; } = entities.AncestorsOf(principal);
    public AncestorSet ActionAncestors { get; } = entities.AncestorsOf(action);
    public AncestorSet ResourceAncestors { get; } = entities.AncestorsOf(resource);
    /// <summary>The verdicts of the policy set's temporal blocks, computed over the session's history; null outside a session.</summary>
    public IReadOnlyDictionary<Temporal.TemporalBlock, bool>? Temporal { get; init; }
}
