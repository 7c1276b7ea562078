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

    /// <summary>Work units this evaluation may still spend (see <see cref="Authorizer.DefaultEvaluationBudget"/>).</summary>
    public long BudgetRemaining { get; private set; } = Authorizer.DefaultEvaluationBudget;

    public long Budget { init => BudgetRemaining = value; }

    /// <summary>Spends work units; past the budget the whole decision stops (it is denied, not just this policy skipped).</summary>
    public void Charge(long units)
    {
        BudgetRemaining -= units;
        if (BudgetRemaining < 0) throw new EvaluationBudgetExceededException();
    }
}

/// <summary>A decision's evaluation spent its budget; not an <see cref="EvaluationException"/>, so no policy catches it.</summary>
internal sealed class EvaluationBudgetExceededException() : Exception("the evaluation budget of the decision is spent");
