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
        GrantAuthority.Resolution authority, Func<AuthorizationRequest, EntityStore, AuthorizationResponse> decide)
    {
        AuthorizationRequest request;
        EntityStore entities;
        try
        {
            (request, entities) = CedarRequestBuilder.Build(agent, facts, call, policy.Catalog.Describe(call.Request.Action));
        }
        catch (Exception ex) when (ex is CedarSyntaxException or JsonException or ArgumentException or FormatException)
        {
            return Denials.Deny(DenyReasons.InvalidRequest, policy.Version, ex.Message);
        }
        if (authority.Select(request, entities) is not { } delegation)
            return Denials.Deny(DenyReasons.NoDelegation, policy.Version, "the conditions of the covering grants do not hold");

        var response = decide(request, entities);
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
        return new Verdict(traits.RequiresApproval ? DecisionOutcome.ApprovalRequired : DecisionOutcome.Allow, null, policy.Version, $"delegation {delegation.Id}")
        {
            Reasons = reasons, Errors = errors, RiskAdded = traits.Risk, RequiredApprovals = traits.Approvers,
        };
    }
}
