using System.Security.Claims;

namespace RuntimeAuthz.HttpGateway;

/// <summary>The agent behind a request, read from its validated token (never from a header or the body), as the silo reads callers.</summary>
public sealed record AgentCaller(string Subject, string AgentId)
{
    public const string AgentRole = "agent";

    /// <summary>The agent, or null with the reason when the token is not an agent's.</summary>
    public static AgentCaller? Read(ClaimsPrincipal user, GatewayOptions.AuthenticationSettings claims, out string refusal)
    {
        refusal = "";
        var subject = user.FindFirst(claims.SubjectClaim)?.Value;
        if (string.IsNullOrWhiteSpace(subject))
        {
            refusal = $"the token names no subject (claim '{claims.SubjectClaim}')";
            return null;
        }
        if (!Values(user, claims.RolesClaim).Contains(AgentRole))
        {
            refusal = $"{subject} is not an agent: the gateway forwards calls of agent tokens (role '{AgentRole}') only";
            return null;
        }
        var agentId = user.FindFirst(claims.AgentIdClaim)?.Value;
        if (string.IsNullOrWhiteSpace(agentId))
        {
            refusal = $"the agent token of {subject} names no agent (claim '{claims.AgentIdClaim}')";
            return null;
        }
        return new AgentCaller(subject, agentId);
    }

    /// <summary>A list claim as JWT handlers present it: one claim per array item (or space-separated words in one).</summary>
    private static HashSet<string> Values(ClaimsPrincipal user, string type) =>
        user.FindAll(type).SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.Ordinal);
}
