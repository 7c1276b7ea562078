using Orleans.Concurrency;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Governance;

/// <summary>
/// Revocations spanning agents. It never runs inside an agent grain's turn, so cascades across
/// agents that delegated to each other cannot deadlock. Every step is persisted by the agent
/// grain that holds the grant before this call returns.
/// </summary>
[StatelessWorker]
public sealed class GovernanceGrain(AuthzClock clock, Telemetry.AuthzMetrics metrics) : Grain, IGovernanceGrain
{
    public async Task<CommandResult<RevocationResult>> RevokeGrant(string agentId, string grantId, GovernanceActor by)
    {
        if (Invalid(by) is { } problem) return problem;
        var revoked = await GrainFactory.GetGrain<IAgentGrain>(agentId).RevokeDelegation(grantId, by);
        if (!revoked.IsSuccess) return CommandResult<RevocationResult>.Fail(revoked.Error, revoked.Message ?? "not revoked");
        var all = new List<RevokedGrant> { new() { AgentId = agentId, Grant = revoked.Value! } };
        await CascadeAsync(agentId, [grantId], by, all);
        return Done(all, "grant");
    }

    public async Task<CommandResult<RevocationResult>> RevokeAgent(string agentId, GovernanceActor by)
    {
        if (Invalid(by) is { } problem) return problem;
        var revoked = await GrainFactory.GetGrain<IAgentGrain>(agentId).RevokeAllDelegations(by);
        if (!revoked.IsSuccess) return CommandResult<RevocationResult>.Fail(revoked.Error, revoked.Message ?? "not revoked");
        var all = revoked.Value!.Select(g => new RevokedGrant { AgentId = agentId, Grant = g }).ToList();
        await CascadeAsync(agentId, revoked.Value!.Select(g => g.Id).ToArray(), by, all);
        return Done(all, "agent");
    }

    public async Task<CommandResult<RevocationResult>> RevokeByDelegator(string delegatorKey, GovernanceActor by)
    {
        if (Invalid(by) is { } problem) return problem;
        var issued = await GrainFactory.GetGrain<IDelegatorIndexGrain>(delegatorKey).List();
        var all = new List<RevokedGrant>();
        foreach (var entry in issued)
        {
            var revoked = await GrainFactory.GetGrain<IAgentGrain>(entry.AgentId).RevokeDelegation(entry.GrantId, by);
            if (!revoked.IsSuccess) continue; // already revoked, expired and pruned, or never stored
            all.Add(new RevokedGrant { AgentId = entry.AgentId, Grant = revoked.Value! });
            await CascadeAsync(entry.AgentId, [entry.GrantId], by, all);
        }
        return Done(all, "delegator");
    }

    /// <summary>Revokes, depth first, the grants derived from <paramref name="grantIds"/> of <paramref name="agentId"/>.</summary>
    private async Task CascadeAsync(string agentId, IReadOnlyCollection<string> grantIds, GovernanceActor by, List<RevokedGrant> all, int depth = 0)
    {
        if (grantIds.Count == 0 || depth > GrantAuthority.MaxChainWalk) return;
        var derived = (await GrainFactory.GetGrain<IDelegatorIndexGrain>(DelegatorKeys.Agent(agentId)).List())
            .Where(e => e.ParentGrantId is not null && grantIds.Contains(e.ParentGrantId))
            .GroupBy(e => e.AgentId, StringComparer.Ordinal);
        foreach (var holder in derived)
        {
            var cascaded = new List<string>();
            foreach (var parentId in holder.Select(e => e.ParentGrantId!).Distinct(StringComparer.Ordinal))
            {
                var revoked = await GrainFactory.GetGrain<IAgentGrain>(holder.Key).RevokeDerived(parentId, by);
                all.AddRange(revoked.Select(g => new RevokedGrant { AgentId = holder.Key, Grant = g }));
                cascaded.AddRange(revoked.Select(g => g.Id));
            }
            await CascadeAsync(holder.Key, cascaded, by, all, depth + 1);
        }
    }

    private CommandResult<RevocationResult> Done(List<RevokedGrant> all, string scope)
    {
        metrics.Revoked(scope, all.Count);
        return CommandResult<RevocationResult>.Ok(new RevocationResult { Revoked = all, RevokedAt = clock.UtcNow });
    }

    private static CommandResult<RevocationResult>? Invalid(GovernanceActor by) =>
        string.IsNullOrWhiteSpace(by.Actor) || by.Actor.Length > AgentGrain.MaxTextLength || by.Reason.Length > 1024
            ? CommandResult<RevocationResult>.Fail(CommandError.Invalid, "actor is required (at most 256 characters); reason is limited to 1024")
            : null;
}
