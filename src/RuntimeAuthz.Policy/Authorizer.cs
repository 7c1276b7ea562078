using RuntimeAuthz.Policy.Evaluation;

namespace RuntimeAuthz.Policy;

public sealed record AuthorizationRequest(EntityUid Principal, EntityUid Action, EntityUid Resource, CedarContext Context);

public enum Decision { Allow, Deny }

public sealed record PolicyEvaluationError(string PolicyId, string Message);

public sealed record AuthorizationResponse(Decision Decision, IReadOnlyList<string> Reasons, IReadOnlyList<PolicyEvaluationError> Errors);

/// <summary>Cedar's authorizer: forbid overrides permit, default deny, erroring policies are skipped and reported.</summary>
public static class Authorizer
{
    [ThreadStatic] private static List<int>? scratch;

    public static AuthorizationResponse IsAuthorized(AuthorizationRequest request, PolicySet policies, EntityStore entities)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentNullException.ThrowIfNull(entities);
        var env = new EvalEnv(new EntityValue(request.Principal), new EntityValue(request.Action), new EntityValue(request.Resource),
            (request.Context ?? CedarContext.Empty).Record, entities);
        var candidates = policies.Index.Candidates(request.Principal, request.Action, request.Resource, entities, scratch ??= []);

        List<string>? permits = null, forbids = null;
        List<PolicyEvaluationError>? errors = null;
        foreach (var policy in candidates)
        {
            if (!policy.ScopeMatches(env)) continue;
            bool satisfied;
            try
            {
                satisfied = policy.ConditionsHold(env);
            }
            catch (EvaluationException e)
            {
                (errors ??= []).Add(new PolicyEvaluationError(policy.Id, e.Message));
                continue;
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
