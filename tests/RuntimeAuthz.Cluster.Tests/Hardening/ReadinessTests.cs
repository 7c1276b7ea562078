using System.Diagnostics;
using System.Globalization;
using System.Net;
using RuntimeAuthz.Cluster.Tests.Infrastructure;

namespace RuntimeAuthz.Cluster.Tests.Hardening;

/// <summary>/health/ready follows the evidence store: out of rotation while storage is gone, back once it returns; /health/live stays up.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ReadinessTests(ClusterEnvironment env)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    private static async Task SignalAsync(int processId, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", processId.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    [Fact]
    public async Task Ready_turns_unhealthy_within_5_s_of_storage_stalling_and_healthy_within_5_s_of_its_return()
    {
        await using var storage = await AzuriteServer.StartAsync();
        var host = await env.StartHostAsync(
            [.. env.HostArgs("ready-" + Guid.NewGuid().ToString("N")[..8], "Production"), $"--Storage:ConnectionString={storage.ConnectionString}"]);
        var http = host.ClientWith(null);
        await Eventually.TrueAsync("the new silo to be ready", async () => (await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK);

        await SignalAsync(storage.ProcessId, "STOP");
        try
        {
            await Eventually.TrueAsync("ready to report unhealthy while storage is stopped",
                async () => (await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.ServiceUnavailable, Limit, TimeSpan.FromMilliseconds(100));
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        }
        finally
        {
            await SignalAsync(storage.ProcessId, "CONT");
        }

        await Eventually.TrueAsync("ready to report healthy again once storage answers",
            async () => (await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK, Limit, TimeSpan.FromMilliseconds(100));
        await host.StopAsync();
    }
}
