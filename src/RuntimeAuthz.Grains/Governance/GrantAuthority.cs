using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Grains.Governance;

/// <summary>
/// Decision-time check of an agent's authority: the fleet and labels are not suspended, and some
/// live grant covers the action and resource, bound to no session or to this one, whose whole
/// delegation chain is still live (every parent grant current, unexpired, held by an active agent
/// outside any suspended fleet or label, and still covering the request). Grant conditions of the
/// whole chain are checked once the Cedar request exists (<see cref="Resolution.Select"/>).
/// Identities and suspensions are read from this silo's <see cref="AuthorityView"/>, which every
/// persisted revocation reaches before it returns, so a revoke that returned is seen by every later
/// decision on every silo.
/// </summary>
public static class GrantAuthority
{
    /// <summary>Hard bound on the chain walk, whatever a stored depth says.</summary>
    public const int MaxChainWalk = 32;

    public sealed record Candidate(Delegation Grant, IReadOnlyList<string> Conditions);

    public sealed record Resolution(string? DenyReason, string? Detail, IReadOnlyList<Candidate> Candidates)
    {
        /// <summary>The first candidate whose chain conditions all hold, or null.</summary>
        public Delegation? Select(AuthorizationRequest request, EntityStore entities) =>
            Candidates.FirstOrDefault(c => GrantRules.ConditionsHold(c.Conditions, request, entities))?.Grant;
    }

    public static async Task<Resolution> ResolveAsync(AuthorityView authority, AgentInfo agent, string sessionId, DecisionRequest request, DateTimeOffset now)
    {
        if (await FindSuspensionAsync(authority, agent.Fleet, agent.Labels) is { } suspended)
            return Denied(suspended);

        var candidates = new List<Candidate>();
        string? lastProblem = null;
        foreach (var grant in agent.Delegations)
        {
            if (!grant.IsLiveAt(now)) continue;
            if (grant.SessionId is not null && !string.Equals(grant.SessionId, sessionId, StringComparison.Ordinal)) continue;
            if (!Covers(grant, request.Action, request.ResourceType, request.ResourceId)) continue;
            var (conditions, problem) = await VerifyChainAsync(authority, grant, request, now);
            if (problem is not null)
            {
                lastProblem = problem;
                continue;
            }
            candidates.Add(new Candidate(grant, conditions!));
        }
        if (candidates.Count == 0)
        {
            var resource = $"{request.ResourceType}::\"{request.ResourceId}\"";
            return new Resolution(DenyReasons.NoDelegation, lastProblem ?? $"no live delegation covers {request.Action} on {resource}", []);
        }
        return new Resolution(null, null, candidates);
    }

    private static Resolution Denied((string Reason, string Detail) suspended) => new(suspended.Reason, suspended.Detail, []);

    /// <summary>Whether the grant's actions and resource patterns cover the request (time and revocation aside).</summary>
    public static bool Covers(Delegation grant, string action, string resourceType, string resourceId) =>
        grant.Actions.Any(a => a == DelegationScope.AnyAction || string.Equals(a, action, StringComparison.Ordinal)) &&
        grant.Resources.Any(r => ResourcePattern.TryParse(r, out var pattern, out _) && pattern.Matches(resourceType, resourceId));

    /// <summary>Walks the parents of a derived grant; returns the chain's conditions or why the chain is broken.</summary>
    private static async Task<(IReadOnlyList<string>? Conditions, string? Problem)> VerifyChainAsync(
        AuthorityView authority, Delegation grant, DecisionRequest request, DateTimeOffset now)
    {
        var conditions = new List<string>();
        if (grant.Condition is { Length: > 0 } own) conditions.Add(own);
        var link = grant;
        for (var steps = 0; link.ParentGrantId is not null; steps++)
        {
            if (steps >= MaxChainWalk || steps >= grant.Depth || link.DelegatorAgentId is null)
                return (null, $"grant {grant.Id}: delegation chain longer than its recorded depth");
            var parent = AgentGrain.LinkOf(await authority.AgentAsync(link.DelegatorAgentId), link.ParentGrantId);
            if (parent.Grant is not { } parentGrant)
                return (null, $"grant {grant.Id}: parent grant {link.ParentGrantId} of agent '{link.DelegatorAgentId}' no longer exists");
            if (parentGrant.RevokedAt is not null)
                return (null, $"grant {grant.Id}: parent grant {parentGrant.Id} of agent '{link.DelegatorAgentId}' was revoked");
            if (!parentGrant.IsLiveAt(now))
                return (null, $"grant {grant.Id}: parent grant {parentGrant.Id} of agent '{link.DelegatorAgentId}' is not in force");
            if (parent.HolderStatus != AgentStatus.Active)
                return (null, $"grant {grant.Id}: delegating agent '{link.DelegatorAgentId}' is {parent.HolderStatus?.ToString().ToLowerInvariant() ?? "unknown"}");
            if (!Covers(parentGrant, request.Action, request.ResourceType, request.ResourceId))
                return (null, $"grant {grant.Id}: parent grant {parentGrant.Id} does not cover the request");
            if (await FindSuspensionAsync(authority, parent.HolderFleet, parent.HolderLabels) is { } suspended)
                return (null, $"grant {grant.Id}: delegating agent '{link.DelegatorAgentId}': {suspended.Detail}");
            if (parentGrant.Condition is { Length: > 0 } inherited) conditions.Add(inherited);
            link = parentGrant;
        }
        return (conditions, null);
    }

    /// <summary>The first suspended scope among the fleet and labels, as (deny reason, detail); null when none is.</summary>
    public static async Task<(string Reason, string Detail)?> FindSuspensionAsync(AuthorityView authority, string fleet, IReadOnlyDictionary<string, string> labels)
    {
        if (Suspended(await authority.SuspensionAsync(SuspensionScopes.Fleet(fleet))) is { } fleetSuspended) return fleetSuspended;
        foreach (var (key, value) in labels)
            if (Suspended(await authority.SuspensionAsync(SuspensionScopes.Label(key, value))) is { } labelSuspended) return labelSuspended;
        return null;
    }

    private static (string Reason, string Detail)? Suspended(SuspensionInfo state)
    {
        if (!state.Suspended) return null;
        var reason = state.Scope.StartsWith("fleet/", StringComparison.Ordinal) ? GovernanceDenyReasons.FleetSuspended : GovernanceDenyReasons.LabelSuspended;
        return (reason, $"{state.Scope} suspended by {state.ChangedBy}: {state.Reason}");
    }
}
