using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Cluster.Tests.Governance;

/// <summary>Grants are visible to policies as <c>principal.grants</c>.</summary>
[Collection(ClusterCollection.Name)]
public sealed class GrantsInPolicyTests(ClusterEnvironment env)
{
    [Fact]
    public async Task Policies_can_require_a_grant_with_a_given_provenance()
    {
        var cluster = await env.StartClusterAsync(1);
        var scenario = new Scenario(cluster.Client, () => DateTimeOffset.UtcNow);
        var audited = await scenario.NewAgentAsync(actions: []);
        var other = await scenario.NewAgentAsync(actions: []);
        var grant = await cluster.Client.GetGrain<IAgentGrain>(audited).AddDelegation(new DelegationGrant
        {
            Actions = ["read_file"], Resources = ["Document::*"], GrantedBy = "gov", Purpose = "audit", ExpiresAt = DateTimeOffset.UtcNow.AddDays(1),
        });
        Assert.True(grant.IsSuccess, grant.Message);
        var otherGrant = await cluster.Client.GetGrain<IAgentGrain>(other).AddDelegation(new DelegationGrant
        {
            Actions = ["read_file"], Resources = ["Document::*"], GrantedBy = "gov", Purpose = "other", ExpiresAt = DateTimeOffset.UtcNow.AddDays(1),
        });
        Assert.True(otherGrant.IsSuccess, otherGrant.Message);
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = $$"""
                permit (principal is Agent, action == Action::"read_file", resource is Document)
                when { principal.grants.contains({id: "{{grant.Value!.Id}}", purpose: "audit", grantedBy: "gov", delegator: "", depth: 0, elevated: false}) };
                """,
            Author = "tests",
        });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);

        var allowed = await scenario.ReadOwnDocumentAsync(await scenario.OpenSessionAsync(audited));
        var denied = await scenario.ReadOwnDocumentAsync(await scenario.OpenSessionAsync(other));

        Assert.Equal(DecisionOutcome.Allow, allowed.Outcome);
        Assert.Equal(DenyReasons.NotPermitted, denied.DenyReason);
    }
}
