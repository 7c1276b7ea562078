using Microsoft.Extensions.Options;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.McpGateway;

/// <summary>
/// With <see cref="GatewayOptions.HideUncallableTools"/>: which tools an agent could ever be allowed. Identity grants
/// nothing, so a tool whose action no current (active or not yet valid) grant of the agent names, nor <c>*</c>, can never
/// be allowed and is left out of tools/list. Listing is a convenience, not the control: every call is still decided,
/// and when the grants cannot be read the tool stays listed.
/// </summary>
public sealed class CallableTools(IOptions<GatewayOptions> options, AuthzClient cluster, ILogger<CallableTools> logger)
{
    public async Task<IReadOnlyList<GatewayTool>> FilterAsync(string agentId, IEnumerable<GatewayTool> tools, CancellationToken cancellationToken)
    {
        var all = tools.ToList();
        if (!options.Value.HideUncallableTools) return all;
        GrantList grants;
        try
        {
            grants = await cluster.ListGrantsAsync(agentId, cancellationToken);
        }
        catch (AuthzException exception)
        {
            logger.LogWarning(exception, "Could not read the grants of agent {AgentId}; listing every tool", agentId);
            return all;
        }
        var actions = grants.Grants.Where(g => g.Status is "active" or "pending").SelectMany(g => g.Actions).ToHashSet(StringComparer.Ordinal);
        return actions.Contains("*") ? all : all.Where(t => actions.Contains(t.Mapping.Action)).ToList();
    }
}
