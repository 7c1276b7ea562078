using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;

namespace RuntimeAuthz.Cluster.Tests;

[Collection(ClusterCollection.Name)]
public sealed class DistributionAndFailoverTests(ClusterEnvironment env)
{
    [Fact]
    public async Task Published_version_is_pushed_to_every_silo_and_decides_there()
    {
        var cluster = await env.GetSharedClusterAsync();
        var scenario = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var policyGrain = cluster.Client.GetGrain<IPolicyGrain>(0);
        var text = (await policyGrain.Current())!;

        var published = await policyGrain.Publish(new PolicyPublishRequest { Policies = text.Policies, Schema = text.Schema, Author = "tests", Note = "distribution" });
        var version = published.Value!.Version;
        var caches = cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<PolicyCache>()).ToArray();
        Assert.Equal(3, caches.Length);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, version, timeout: TimeSpan.FromSeconds(30));
        Assert.All(caches, c => Assert.Equal(version, c.Version));
        // Pushed, not only polled: every silo's refresher handled a push announcing the version (a deadline under the
        // 2 s poll would say the same, but flakes on a loaded machine).
        await Eventually.TrueAsync($"a push of policy version {version} handled on every silo",
            () => cluster.Silos.All(s => s.ServiceProvider.GetRequiredService<PolicyCacheService>().LastPushedVersionRefreshed >= version), TimeSpan.FromSeconds(30));

        // Decisions from session grains on every silo use the new version.
        var agent = await scenario.NewAgentAsync();
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        var sessionsBySilo = new Dictionary<SiloAddress, string>();
        // Placement is load-based, so keep opening sessions until every silo hosts one.
        for (var i = 0; i < 500 && sessionsBySilo.Count < cluster.Silos.Count; i++)
        {
            var session = await scenario.OpenSessionAsync(agent);
            var host = await management.GetActivationAddress(cluster.Client.GetGrain<IAgentSessionGrain>(session));
            if (host is not null) sessionsBySilo.TryAdd(host, session);
        }
        Assert.Equal(cluster.Silos.Count, sessionsBySilo.Count);
        foreach (var session in sessionsBySilo.Values)
        {
            var decision = await scenario.ReadOwnDocumentAsync(session);
            Assert.Equal(DecisionOutcome.Allow, decision.Outcome);
            Assert.Equal(version, decision.PolicyVersion);
        }
    }

    [Fact]
    public async Task Rollback_publishes_the_old_text_as_a_new_version_everywhere()
    {
        var cluster = await env.GetSharedClusterAsync();
        var policyGrain = cluster.Client.GetGrain<IPolicyGrain>(0);
        var before = (await policyGrain.Current())!;
        var restrictive = await policyGrain.Publish(new PolicyPublishRequest { Policies = "forbid (principal, action, resource);", Author = "tests" });
        Assert.True(restrictive.IsSuccess, restrictive.Message);

        var rolledBack = await policyGrain.Rollback(before.Version, "tests", null);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, rolledBack.Value!.Version);
        var scenario = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var decision = await scenario.ReadOwnDocumentAsync(await scenario.OpenSessionAsync(await scenario.NewAgentAsync()));

        Assert.Equal(restrictive.Value!.Version + 1, rolledBack.Value.Version);
        Assert.Equal(before.Version, rolledBack.Value.RolledBackFrom);
        Assert.Equal(before.Policies, rolledBack.Value.Policies);
        Assert.Equal(DecisionOutcome.Allow, decision.Outcome);
        Assert.Equal(rolledBack.Value.Version, decision.PolicyVersion);
        Assert.Equal(rolledBack.Value.Version, (await policyGrain.List())[0].Version);
    }

    [Fact]
    public async Task Invalid_policy_is_rejected_with_line_and_column_and_changes_nothing()
    {
        var cluster = await env.GetSharedClusterAsync();
        var policyGrain = cluster.Client.GetGrain<IPolicyGrain>(0);
        var before = await policyGrain.CurrentVersion();

        var result = await policyGrain.Publish(new PolicyPublishRequest { Policies = "permit (principal, action, resource);\npermit (principal action, resource);", Author = "tests" });

        Assert.Equal(CommandError.Invalid, result.Error);
        var issue = Assert.Single(result.Issues);
        Assert.Equal(2, issue.Line);
        Assert.True(issue.Column > 1);
        Assert.StartsWith($"policies.cedar:2:{issue.Column}:", result.Message);
        Assert.Equal(before, await policyGrain.CurrentVersion());
    }

    [Fact]
    public async Task Policy_that_does_not_match_its_schema_is_rejected_with_its_location()
    {
        var cluster = await env.GetSharedClusterAsync();
        var policyGrain = cluster.Client.GetGrain<IPolicyGrain>(0);
        var before = await policyGrain.CurrentVersion();
        var schema = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "schema.cedarschema"));

        var result = await policyGrain.Publish(new PolicyPublishRequest
        {
            Policies = "permit (principal is Agent, action == Action::\"read_file\", resource is Document);\npermit (principal is Agent, action == Action::\"launch\", resource is Spaceship);",
            Schema = schema, Author = "tests",
        });

        Assert.Equal(CommandError.Invalid, result.Error);
        Assert.NotEmpty(result.Issues);
        Assert.All(result.Issues, i => Assert.Equal(2, i.Line));
        Assert.All(result.Issues, i => Assert.Equal("policies.cedar", i.Source));
        Assert.Equal(before, await policyGrain.CurrentVersion());
    }

    [Fact]
    public async Task Without_a_published_policy_decisions_are_denied()
    {
        var cluster = await env.StartClusterAsync(1);
        var scenario = new Scenario(cluster.Client, () => DateTimeOffset.UtcNow);
        var session = await scenario.OpenSessionAsync(await scenario.NewAgentAsync());

        var decision = await scenario.ReadOwnDocumentAsync(session);

        Assert.Equal(DecisionOutcome.Deny, decision.Outcome);
        Assert.Equal(DenyReasons.NoPolicy, decision.DenyReason);
        Assert.Equal(0, decision.PolicyVersion);
    }

    [Fact]
    public async Task Killing_the_silos_that_host_the_grains_loses_no_acknowledged_state()
    {
        var cluster = await env.StartClusterAsync(3);
        var client = cluster.Client;
        var scenario = new Scenario(client, () => DateTimeOffset.UtcNow);
        var published = await client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")), Author = "tests", Note = "before the crash",
        });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
        var agentId = await scenario.NewAgentAsync();
        var sessionId = await scenario.OpenSessionAsync(agentId);
        var decision = await scenario.ReadOwnDocumentAsync(sessionId);
        Assert.Equal(DecisionOutcome.Allow, decision.Outcome);
        var agentBefore = (await client.GetGrain<IAgentGrain>(agentId).Get())!;

        // Keep one silo that hosts nothing yet, then kill every silo hosting our grains.
        await cluster.StartAdditionalSiloAsync();
        var management = client.GetGrain<IManagementGrain>(0);
        IAddressable[] grains =
        [
            client.GetGrain<IAgentGrain>(agentId), client.GetGrain<IAgentSessionGrain>(sessionId),
            client.GetGrain<IPolicyGrain>(0), client.GetGrain<IPolicyVersionGrain>(published.Value.Version),
            client.GetGrain<IAgentDirectoryGrain>(0),
        ];
        var hosts = new HashSet<SiloAddress>();
        foreach (var grain in grains)
        {
            if (await management.GetActivationAddress(grain) is { } address) hosts.Add(address);
        }
        Assert.NotEmpty(hosts);
        var victims = cluster.Silos.Where(s => hosts.Contains(s.SiloAddress)).ToArray();
        Assert.Equal(hosts.Count, victims.Length);
        Assert.True(victims.Length < cluster.Silos.Count, "at least one silo must survive");
        foreach (var victim in victims) await cluster.KillSiloAsync(victim);

        var agentAfter = await SiloFailover.RetryAsync(() => client.GetGrain<IAgentGrain>(agentId).Get());
        var sessionAfter = await SiloFailover.RetryAsync(() => client.GetGrain<IAgentSessionGrain>(sessionId).Get());
        var policyAfter = await SiloFailover.RetryAsync(() => client.GetGrain<IPolicyGrain>(0).Current());
        var listed = await SiloFailover.RetryAsync(() => AgentListing.AllIdsAsync(client));

        Assert.NotNull(agentAfter);
        Assert.Equal(agentBefore.Delegations.Single().Id, agentAfter.Delegations.Single().Id);
        Assert.Equal(agentBefore.RegisteredAt, agentAfter.RegisteredAt);
        var recorded = Assert.Single(sessionAfter!.Events);
        Assert.Equal(decision.DecisionId, recorded.DecisionId);
        Assert.Equal(1, sessionAfter.CumulativeRisk);
        Assert.Equal(published.Value.Version, policyAfter!.Version);
        Assert.Equal("before the crash", policyAfter.Note);
        Assert.Contains(agentId, listed);

        // The survivors keep deciding with the recovered state.
        var after = await SiloFailover.RetryAsync(() => scenario.ReadOwnDocumentAsync(sessionId));
        Assert.Equal(DecisionOutcome.Allow, after.Outcome);
        Assert.Equal(2, after.CumulativeRisk);
    }
}
