using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;

namespace RuntimeAuthz.Cluster.Tests;

/// <summary>Tests on a dedicated 2-silo cluster, for policies and faults the shared cluster must not see.</summary>
[Collection(ClusterCollection.Name)]
public sealed class PolicyMappingTests(ClusterEnvironment env)
{
    private const string DeployPolicy = """
        @risk("7")
        permit (principal in Fleet::"ops", action == Action::"deploy", resource is Service)
        when {
          principal.labels.env == "prod" &&
          principal.status == "active" &&
          resource.tier == "web" &&
          context.input.replicas < 5 &&
          context.ticket == "T-1" &&
          context.session.decisions >= 0 &&
          context.session.id like "map-*"
        };
        """;

    [Fact]
    public async Task Principal_fleet_labels_resource_properties_input_and_caller_context_reach_cedar()
    {
        var cluster = await env.StartClusterAsync(2);
        var client = cluster.Client;
        var published = await client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest { Policies = DeployPolicy, Author = "tests" });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
        var agentId = "deployer-" + Guid.NewGuid().ToString("N")[..8];
        var agent = client.GetGrain<IAgentGrain>(agentId);
        Assert.True((await agent.Register(new AgentRegistration { Name = "d", Owner = "o", Fleet = "ops", Labels = new Dictionary<string, string> { ["env"] = "prod" } })).IsSuccess);
        Assert.True((await agent.AddDelegation(new DelegationGrant { Actions = ["*"], Resources = ["Service::*"], GrantedBy = "g", ExpiresAt = DateTimeOffset.UtcNow.AddDays(1) })).IsSuccess);
        var sessionId = "map-" + Guid.NewGuid().ToString("N")[..8];
        Assert.True((await client.GetGrain<IAgentSessionGrain>(sessionId).Open(new SessionOpenRequest { AgentId = agentId })).IsSuccess);
        var session = client.GetGrain<IAgentSessionGrain>(sessionId);

        DecisionRequest Deploy(int replicas, string ticket, string tier = "web") => new()
        {
            Action = "deploy", ResourceType = "Service", ResourceId = "checkout",
            ResourcePropertiesJson = $$"""{"tier":"{{tier}}"}""", InputJson = $$"""{"replicas":{{replicas}}}""", ContextJson = $$"""{"ticket":"{{ticket}}"}""",
        };

        var allowed = await session.Decide(Deploy(3, "T-1"));
        var tooMany = await session.Decide(Deploy(9, "T-1"));
        var wrongTicket = await session.Decide(Deploy(3, "T-2"));
        var wrongTier = await session.Decide(Deploy(3, "T-1", tier: "db"));
        var floatInput = await session.Decide(Deploy(3, "T-1") with { InputJson = """{"replicas":2.5}""" });

        Assert.Equal(DecisionOutcome.Allow, allowed.Outcome);
        Assert.Equal(7, allowed.RiskAdded);
        Assert.Equal(DenyReasons.NotPermitted, tooMany.DenyReason);
        Assert.Equal(DenyReasons.NotPermitted, wrongTicket.DenyReason);
        Assert.Equal(DenyReasons.NotPermitted, wrongTier.DenyReason);
        Assert.Equal(DecisionOutcome.Deny, floatInput.Outcome);
        Assert.Equal(DenyReasons.InvalidRequest, floatInput.DenyReason);
    }

    [Fact]
    public async Task Silos_that_miss_the_push_catch_up_by_polling()
    {
        var cluster = await env.StartClusterAsync(2);
        var policyGrain = cluster.Client.GetGrain<IPolicyGrain>(0);
        var first = await policyGrain.Publish(new PolicyPublishRequest { Policies = "permit (principal, action, resource);", Author = "tests" });
        await ClusterEnvironment.WaitForPolicyAsync(cluster, first.Value!.Version);

        // Drop every silo's subscription: the next publish pushes to nobody.
        foreach (var silo in cluster.Silos)
        {
            var observer = silo.ServiceProvider.GetRequiredService<PolicyCacheService>().ObserverReference;
            Assert.NotNull(observer);
            await policyGrain.Unsubscribe(observer);
        }
        var second = await policyGrain.Publish(new PolicyPublishRequest { Policies = "forbid (principal, action, resource);", Author = "tests" });

        await ClusterEnvironment.WaitForPolicyAsync(cluster, second.Value!.Version, TimeSpan.FromSeconds(20));
        Assert.All(cluster.Silos, s => Assert.Equal(second.Value.Version, s.ServiceProvider.GetRequiredService<PolicyCache>().Version));
    }
}
