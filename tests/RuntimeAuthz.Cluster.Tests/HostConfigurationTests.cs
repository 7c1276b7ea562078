using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Silo;

namespace RuntimeAuthz.Cluster.Tests;

[Collection(ClusterCollection.Name)]
public sealed class HostConfigurationTests(ClusterEnvironment env)
{
    [Fact]
    public void Outside_development_a_storage_connection_string_is_required()
    {
        var error = Assert.Throws<InvalidOperationException>(() => SiloHost.Build(["--environment", "Production", "--Storage:ConnectionString="]));
        Assert.Contains("Storage:ConnectionString", error.Message);
    }

    [Fact]
    public void Unknown_clustering_mode_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            SiloHost.Build(["--environment", "Production", $"--Storage:ConnectionString={env.Azurite.ConnectionString}", "--Orleans:Clustering=Consul"]));
        Assert.Contains("Orleans:Clustering", error.Message);
    }

    [Fact]
    public async Task Two_hosts_with_azure_table_clustering_form_one_cluster_and_share_state()
    {
        var id = "multi-" + Guid.NewGuid().ToString("N")[..10];
        string[] Args() =>
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Production",
            $"--Storage:ConnectionString={env.Azurite.ConnectionString}",
            "--Orleans:Clustering=AzureTable", $"--Orleans:ClusterId={id}", $"--Orleans:ServiceId={id}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}", "--Orleans:AdvertisedIPAddress=127.0.0.1",
        ];
        var first = await env.StartHostAsync(Args());
        var second = await env.StartHostAsync(Args());

        var registered = await first.Http.PostJsonAsync("/v1/agents", """{"id":"shared-agent","name":"S","owner":"o","fleet":"f"}""");
        var seenByOther = await second.Http.GetJsonAsync("/v1/agents/shared-agent");
        var management = second.App.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        var hosts = await management.GetHosts(onlyActive: true);

        Assert.Equal(HttpStatusCode.Created, registered.Status);
        Assert.Equal(HttpStatusCode.OK, seenByOther.Status);
        Assert.Equal(2, hosts.Count);
        await second.StopAsync();
        await first.StopAsync();
    }
}
