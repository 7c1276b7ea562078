using RuntimeAuthz.Policy.Evaluation;

namespace RuntimeAuthz.Policy;

public sealed record AuthorizationRequest(EntityUid Principal, EntityUid Action, EntityUid Resource, CedarContext Context);

public enum Decision { Allow, Deny }

/// <summary>A policy skipped because evaluating it failed: what kind of error, and where in the policy.</summary>
public sealed record PolicyEvaluationError(string PolicyId, CedarErrorKind Kind, string Message, SourceSpan Span);

public sealed record AuthorizationResponse(Decision Decision, IReadOnlyList<string> Reasons, IReadOnlyList<PolicyEvaluationError> Errors)
{
    /// <summary>The evaluation stopped because it spent its budget; the decision is then Deny whatever the policies said so far.</summary>
    public bool BudgetExceeded { get; init; }
}

/// <summary>Cedar's authorizer: forbid overrides permit, default deny, erroring policies are skipped and reported.</summary>
public static class Authorizer
{
    [ThreadStatic] private static List<Policy>? scratch;

    /// <summary>
    /// Work units one decision may spend: one per policy evaluated, one per set element an <c>in</c> or
    /// <c>containsAll</c>/<c>containsAny</c> visits, and input length × (wildcards + 1) per <c>like</c>.
    /// Generous for real policies (a 64-policy set over a 64 KiB input uses a few hundred thousand); it bounds a
    /// hostile input's cost to milliseconds.
    /// </summary>
    public const long DefaultEvaluationBudget = 4_000_000;

    /// <summary>
    /// Decides a request. Only the policies the scope index selects are evaluated; the result is the
    /// same as evaluating every policy. Thread-safe.
    /// </summary>
    /// <param name="budget">Work units the decision may spend (<see cref="DefaultEvaluationBudget"/>); past it the answer is Deny with <see cref="AuthorizationResponse.BudgetExceeded"/>.</param>
    public static AuthorizationResponse IsAuthorized(AuthorizationRequest request, PolicySet policies, EntityStore entities, long budget = DefaultEvaluationBudget)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(entities);
        // Temporal conditions need the session's history: without it, fail closed.
        if (policies.HasTemporal)
            return new AuthorizationResponse(Decision.Deny, [], [new PolicyEvaluationError("temporal", CedarErrorKind.Temporal, "the policy set has temporal conditions: decide within a session", SourceSpan.None)]);
        return Decide(request, policies, entities, temporal: null, budget);
    }

    /// <summary>Decides with the verdicts of the set's temporal blocks already computed over the session's history.</summary>
    internal static AuthorizationResponse IsAuthorizedWithTemporal(AuthorizationRequest request, PolicySet policies, EntityStore entities, IReadOnlyDictionary<Temporal.TemporalBlock, bool> temporal) =>
        Decide(request, policies, entities, temporal, DefaultEvaluationBudget);

    private static AuthorizationResponse Decide(AuthorizationRequest request, PolicySet policies, EntityStore entities, IReadOnlyDictionary<Temporal.TemporalBlock, bool>? temporal, long budget)
    {
        var candidates = scratch ??= [];
        var env = CreateEnv(request, entities, temporal, budget);
        policies.Index.Candidates(env, candidates);
        try
        {
            return Decide(env, candidates);
        }
        finally
        {
            candidates.Clear();
        }
    }

    /// <summary>Evaluates every policy, bypassing the index (the reference the index is tested against).</summary>
    internal static AuthorizationResponse IsAuthorizedByFullScan(AuthorizationRequest request, PolicySet policies, EntityStore entities) =>
        Decide(CreateEnv(request, entities), policies.Index.Policies);

    /// <summary>How many policies the index hands to evaluation for this request.</summary>
    internal static int CandidateCount(AuthorizationRequest request, PolicySet policies, EntityStore entities)
    {
        var candidates = new List<Policy>();
        policies.Index.Candidates(CreateEnv(request, entities), candidates);
        return candidates.Count;
    }

    internal static EvalEnv CreateEnv(AuthorizationRequest request, EntityStore entities, IReadOnlyDictionary<Temporal.TemporalBlock, bool>? temporal = null, long budget = DefaultEvaluationBudget) =>
        new(new EntityValue(request.Principal), new EntityValue(request.Action), new EntityValue(request.Resource),
            (request.Context ?? CedarContext.Empty).Record, entities) { Temporal = temporal, Budget = budget };

    private static readonly IReadOnlyList<string> NoReasons = [];

    private static AuthorizationResponse Decide(EvalEnv env, IReadOnlyList<Policy> candidates)
    {
        List<string>? permits = null, forbids = null;
        List<PolicyEvaluationError>? errors = null;
        for (var i = 0; i < candidates.Count; i++)
        {
            var policy = candidates[i];
            if (!policy.ScopeMatches(env)) continue;
            bool satisfied;
            try
            {
                env.Charge(1);
                satisfied = policy.ConditionsHold(env);
            }
            catch (EvaluationException e)
            {
                (errors ??= []).Add(new PolicyEvaluationError(policy.Id, e.Kind, e.Message, e.Span));
                continue;
            }
            catch (EvaluationBudgetExceededException e)
            {
                // Fail closed: a permit found so far does not count, and the forbids not yet evaluated might have applied.
                (errors ??= []).Add(new PolicyEvaluationError(policy.Id, CedarErrorKind.BudgetExceeded, e.Message, SourceSpan.None));
                return new AuthorizationResponse(Decision.Deny, NoReasons, errors) { BudgetExceeded = true };
            }
            if (!satisfied) continue;
            if (policy.Effect == PolicyEffect.Forbid) (forbids ??= []).Add(policy.Id);
            else (permits ??= []).Add(policy.Id);
        }

        IReadOnlyList<PolicyEvaluationError> errorList = errors ?? (IReadOnlyList<PolicyEvaluationError>)[];
        if (forbids is not null) return new AuthorizationResponse(Decision.Deny, forbids, errorList);
        if (permits is not null) return new AuthorizationResponse(Decision.Allow, permits, errorList);
        return new AuthorizationResponse(Decision.Deny, [], errorList);
    }
}
