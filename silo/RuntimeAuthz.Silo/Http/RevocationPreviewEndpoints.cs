using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Governance;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary>What a revocation would cut off, before it is made: the grants themselves and every grant derived from them.</summary>
/// <param name="Truncated">True when the walk stopped at <see cref="GrantAuthority.MaxChainWalk"/> links (the revocation itself stops there too).</param>
public sealed record RevocationPreviewDto(string AgentId, string? GrantId, DateTimeOffset At, int Count, IReadOnlyList<string> Agents,
    IReadOnlyList<RevokedGrantDto> Grants, bool Truncated);

/// <summary>
/// GET /v1/agents/{id}/grants/{grantId}/revocation-preview and GET /v1/agents/{id}/revocation-preview: the same walk as
/// <see cref="GovernanceGrain"/>'s cascade (the delegator index, then each holder's current grants derived from a revoked one),
/// made of reads only, so nothing is revoked or recorded.
/// </summary>
public static class RevocationPreviewEndpoints
{
    public static void MapRevocationPreviewEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/agents/{id}/grants/{grantId}/revocation-preview", async (string id, string grantId, IGrainFactory grains, AuthzClock clock) =>
        {
            RequestReading.CheckId(id, "agent id");
            RequestReading.CheckId(grantId, "grant id");
            var agent = await grains.GetGrain<IAgentGrain>(id).Get();
            if (agent is null) return Problems.NotFound($"agent '{id}' not found");
            var grant = agent.Delegations.FirstOrDefault(d => d.Id == grantId);
            if (grant is null) return Problems.NotFound($"grant '{grantId}' is not a current grant of agent '{id}' (unknown or already revoked)");
            return Results.Ok(await PreviewAsync(grains, clock.UtcNow, id, grantId, [grant]));
        })
        .RequirePermission(Permissions.AgentsRead)
        .WithName("PreviewGrantRevocation")
        .Produces<RevocationPreviewDto>(StatusCodes.Status200OK)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status404NotFound);

        app.MapGet("/v1/agents/{id}/revocation-preview", async (string id, IGrainFactory grains, AuthzClock clock) =>
        {
            RequestReading.CheckId(id, "agent id");
            var agent = await grains.GetGrain<IAgentGrain>(id).Get();
            if (agent is null) return Problems.NotFound($"agent '{id}' not found");
            return Results.Ok(await PreviewAsync(grains, clock.UtcNow, id, null, agent.Delegations));
        })
        .RequirePermission(Permissions.AgentsRead)
        .WithName("PreviewAgentRevocation")
        .Produces<RevocationPreviewDto>(StatusCodes.Status200OK)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<RevocationPreviewDto> PreviewAsync(IGrainFactory grains, DateTimeOffset now, string agentId, string? grantId,
        IReadOnlyList<Delegation> roots)
    {
        var found = roots.Select(g => new RevokedGrantDto(agentId, GrantDto.From(g, now))).ToList();
        var truncated = await CascadeAsync(grains, now, agentId, roots.Select(g => g.Id).ToHashSet(StringComparer.Ordinal), found, depth: 0);
        var agents = found.Select(g => g.AgentId).Distinct(StringComparer.Ordinal).ToArray();
        return new RevocationPreviewDto(agentId, grantId, now, found.Count, agents, found, truncated);
    }

    /// <returns>Whether the walk was cut at the cascade's depth limit.</returns>
    private static async Task<bool> CascadeAsync(IGrainFactory grains, DateTimeOffset now, string agentId, IReadOnlySet<string> grantIds,
        List<RevokedGrantDto> found, int depth)
    {
        if (grantIds.Count == 0) return false;
        if (depth > GrantAuthority.MaxChainWalk) return true;
        var issued = await grains.GetGrain<IDelegatorIndexGrain>(DelegatorKeys.Agent(agentId)).List();
        var truncated = false;
        foreach (var holder in issued.Where(e => e.ParentGrantId is not null && grantIds.Contains(e.ParentGrantId)).GroupBy(e => e.AgentId, StringComparer.Ordinal))
        {
            var parents = holder.Select(e => e.ParentGrantId!).ToHashSet(StringComparer.Ordinal);
            var current = (await grains.GetGrain<IAgentGrain>(holder.Key).Get())?.Delegations ?? [];
            var derived = current.Where(d => d.ParentGrantId is not null && parents.Contains(d.ParentGrantId)).ToArray();
            found.AddRange(derived.Select(d => new RevokedGrantDto(holder.Key, GrantDto.From(d, now))));
            truncated |= await CascadeAsync(grains, now, holder.Key, derived.Select(d => d.Id).ToHashSet(StringComparer.Ordinal), found, depth + 1);
        }
        return truncated;
    }
}
