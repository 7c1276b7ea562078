using System.Text.Json;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;
using RuntimeAuthz.Grains.Governance;

namespace RuntimeAuthz.Grains.Decisions;

/// <summary>
/// Third stage: the policies decide. Builds the Cedar request, picks the covering grant whose
/// conditions hold, decides (over the session's history when the version has temporal
/// conditions) and applies the version's compiled <c>@risk</c> and <c>@approval</c>.
/// </summary>
public static class EvaluationStage
{
    /// <param name="decide">Decides the Cedar request: plain Cedar, or temporal over the session's history (which records the request).</param>
    public static Verdict Evaluate(
        CompiledPolicy policy, AgentInfo agent, CedarRequestBuilder.SessionFacts facts, DecisionCall call,
        GrantAuthority.Resolution authority, Func<AuthorizationRequest, EntityStore, AuthorizationResponse> decide, Entities.EntitySnapshot? stored = null)
    {
        var verdict = Decide(policy, agent, facts, call, authority, decide, stored);
        return stored is null ? verdict : verdict with { EntityStoreVersion = stored.Version };
    }

    private static Verdict Decide(
        CompiledPolicy policy, AgentInfo agent, CedarRequestBuilder.SessionFacts facts, DecisionCall call,
        GrantAuthority.Resolution authority, Func<AuthorizationRequest, EntityStore, AuthorizationResponse> decide, Entities.EntitySnapshot? stored)
    {
        AuthorizationRequest request;
        EntityStore entities;
        try
        {
            (request, entities) = CedarRequestBuilder.Build(agent, facts, call, policy.Catalog.DescribeForCedar(call.Request.Action), stored);
        }
        catch (Exception ex) when (ex is CedarSyntaxException or JsonException or ArgumentException or FormatException)
        {
            return Denials.Deny(DenyReasons.InvalidRequest, policy.Version, ex.Message);
        }
        if (authority.Select(request, entities) is not { } delegation)
            return Denials.Deny(DenyReasons.NoDelegation, policy.Version, "the conditions of the covering grants do not hold");

        return Judge(policy, decide(request, entities), $"delegation {delegation.Id}");
    }

    /// <summary>The verdict of the policies' response: budget exceeded, deny, or allow with the determining policies' risk and approval.</summary>
    public static Verdict Judge(CompiledPolicy policy, AuthorizationResponse response, string allowDetail)
    {
        var reasons = response.Reasons.ToArray();
        var errors = response.Errors.Select(e => new PolicyErrorInfo { PolicyId = e.PolicyId, Message = e.Message }).ToArray();
        if (response.BudgetExceeded)
            return Denials.Deny(DenyReasons.EvaluationBudgetExceeded, policy.Version, "the decision spent its evaluation budget (the input is too large for the policies' work)") with { Errors = errors };
        if (response.Decision != Decision.Allow)
        {
            return Denials.Deny(DenyReasons.NotPermitted, policy.Version, reasons.Length > 0 ? $"forbidden by {string.Join(", ", reasons)}" : "no policy permits")
                with { Reasons = reasons, Errors = errors };
        }
        var traits = policy.TraitsOf(reasons);
        return new Verdict(traits.RequiresApproval ? DecisionOutcome.ApprovalRequired : DecisionOutcome.Allow, null, policy.Version, allowDetail)
        {
            Reasons = reasons, Errors = errors, RiskAdded = traits.Risk, RequiredApprovals = traits.Approvers,
        };
    }
}
