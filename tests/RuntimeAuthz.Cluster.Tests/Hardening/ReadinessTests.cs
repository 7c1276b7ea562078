using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using RuntimeAuthz.Cluster.Tests.Infrastructure;

namespace RuntimeAuthz.Cluster.Tests.Hardening;

/// <summary>/health/ready follows the evidence store: out of rotation while storage is gone, back once it returns; /health/live stays up.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ReadinessTests(ClusterEnvironment env)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Ready_turns_unhealthy_within_5_s_of_storage_stalling_and_healthy_within_5_s_of_its_return()
    {
        await using var storage = await AzuriteServer.StartAsync();
        var host = await env.StartHostAsync(
            [.. env.HostArgs("ready-" + Guid.NewGuid().ToString("N")[..8], "Production"), $"--Storage:ConnectionString={storage.ConnectionString}"]);
        var http = host.ClientWith(null);
        await Eventually.TrueAsync("the new silo to be ready", async () => (await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK);

        await storage.SuspendAsync();
        try
        {
            await Eventually.TrueAsync("ready to report unhealthy while storage is stopped",
                async () => (await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.ServiceUnavailable, Limit, TimeSpan.FromMilliseconds(100));
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        }
        finally
        {
            await storage.ResumeAsync();
        }

        await Eventually.TrueAsync("ready to report healthy again once storage answers",
            async () => (await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK, Limit, TimeSpan.FromMilliseconds(100));
        await host.StopAsync();
    }
}

/// <summary>The policy-cache half of readiness, on a real silo's cache: current while the refresh loop hears the policy grain, stale after three missed polls.</summary>
[Collection(ClusterCollection.Name)]
public sealed class PolicyCacheReadinessTests(ClusterEnvironment env)
{
    [Fact]
    public async Task A_cache_that_has_not_heard_from_the_policy_grain_for_three_polls_is_not_ready()
    {
        var host = await env.GetSharedHostAsync();
        var cache = host.App.Services.GetRequiredService<RuntimeAuthz.Grains.PolicyCache>();
        await Eventually.TrueAsync("the refresh loop to confirm the cache", () => cache.ConfirmedAt is not null);
        var confirmed = cache.ConfirmedAt!.Value;

        var now = await new RuntimeAuthz.Silo.Health.PolicyCacheHealthCheck(cache, new FakeTimeProvider(confirmed)).CheckHealthAsync(new());
        var stale = await new RuntimeAuthz.Silo.Health.PolicyCacheHealthCheck(cache, new FakeTimeProvider(confirmed + RuntimeAuthz.Silo.Health.PolicyCacheHealthCheck.StaleAfter + TimeSpan.FromSeconds(1)))
            .CheckHealthAsync(new());

        Assert.Equal(HealthStatus.Healthy, now.Status);
        Assert.Equal(HealthStatus.Unhealthy, stale.Status);
        Assert.Contains("has not heard from the policy grain", stale.Description, StringComparison.Ordinal);
    }
}
