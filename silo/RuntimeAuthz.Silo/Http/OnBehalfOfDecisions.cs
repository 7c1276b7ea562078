using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Entities;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary>
/// Decisions of an agent acting on behalf of a user (a token exchanged under RFC 8693: <c>sub</c> = the user,
/// <c>act.sub</c> = the agent). A user may delegate no more than the user holds, so the answer is the AND of two
/// evaluations of the same call: first the user's own (session-less, principal <c>User::"&lt;sub&gt;"</c> with its stored
/// attributes, <c>context.actor</c> = the agent), and only if that allows, the agent's (as principal, with its grants and
/// session, <c>context.onBehalfOf</c> = the user entity, so policies can also ask about the user directly). Each is sealed
/// into its own chain and both records carry <c>onBehalfOf</c>; a Deny from the user is the answer, and the agent's
/// decision is then never taken (so no chain holds an Allow for a call that was answered Deny).
/// </summary>
public sealed class OnBehalfOfDecisions(IGrainFactory grains, IOptions<CallerAuthenticationOptions> options)
{
    /// <summary>The context key of the user entity in the agent's evaluation.</summary>
    public const string UserKey = "onBehalfOf";
    /// <summary>The context key of the agent entity in the user's evaluation.</summary>
    public const string ActorKey = "actor";

    private readonly string userType = options.Value.Claims.OnBehalfOfType;

    /// <summary>
    /// The request as the agent's evaluation should see it, or the user's refusal. Callers that act for nobody may not
    /// send <c>context.onBehalfOf</c>: only a delegated token sets it.
    /// </summary>
    public async Task<(DecisionRequest Request, AuthzDecision? Refused)> CheckUserAsync(string sessionId, DecisionRequest request, Caller caller)
    {
        if (caller.OnBehalfOf is not { } userId)
        {
            // Parsed only when the text could hold the key: this runs on every decision.
            if (request.ContextJson?.Contains(UserKey, StringComparison.Ordinal) == true && ContextOf(request).ContainsKey(UserKey))
                throw new BadRequestException($"context.{UserKey} is set by the service for an agent acting on behalf of a user (a token with an act claim); a request may not send it");
            return (request, null);
        }
        var context = ContextOf(request);
        var user = EntityKey.Of(userType, userId);
        var agentId = caller.AgentId!;
        var userContext = (JsonObject)context.DeepClone();
        userContext[ActorKey] = Reference(Grains.CedarRequestBuilder.AgentType, agentId);
        var userDecision = await grains.GetGrain<ISessionlessDecisionGrain>(SessionlessDecisionGrain.KeyOf(user)).Decide(new SessionlessDecisionRequest
        {
            Principal = user,
            Request = request with
            {
                AgentId = null, ContextJson = userContext.ToJsonString(), OnBehalfOf = user.ToString(), Caller = $"agent:{agentId}",
                ApprovalId = null, DecisionId = Guid.NewGuid(),
            },
        });
        if (userDecision.Outcome != DecisionOutcome.Allow)
        {
            return (request, userDecision with
            {
                Outcome = DecisionOutcome.Deny, DenyReason = DenyReasons.UserNotPermitted, SessionId = sessionId, AgentId = agentId,
                RiskAdded = 0, CumulativeRisk = 0, Approval = null,
            });
        }
        context[UserKey] = Reference(user.Type, user.Id);
        return (request with { ContextJson = context.ToJsonString(), OnBehalfOf = user.ToString() }, null);
    }

    private static JsonObject ContextOf(DecisionRequest request) =>
        request.ContextJson is null ? new JsonObject() : JsonNode.Parse(request.ContextJson) as JsonObject ?? new JsonObject();

    private static JsonObject Reference(string type, string id) => new() { ["__entity"] = new JsonObject { ["type"] = type, ["id"] = id } };
}
