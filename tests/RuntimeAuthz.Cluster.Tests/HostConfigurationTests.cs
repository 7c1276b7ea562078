using System.Diagnostics;
using System.Net;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Silo;
using RuntimeAuthz.Silo.Configuration;
using RuntimeAuthz.Grains.Evidence;

namespace RuntimeAuthz.Cluster.Tests;

[Collection(ClusterCollection.Name)]
public sealed class HostConfigurationTests(ClusterEnvironment env)
{
    /// <summary>Production silo arguments (Localhost clustering, free ports); Azurite as storage unless <paramref name="settings"/> configure storage.</summary>
    private string[] Args(params string[] settings)
    {
        var args = new List<string>
        {
            "--urls", "http://127.0.0.1:0", "--environment", "Production", TestTokens.AuthorityArgument,
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}",
            "--Orleans:ServiceId=config-" + Guid.NewGuid().ToString("N")[..10],
        };
        if (!settings.Any(s => s.StartsWith("--Storage:ConnectionString=", StringComparison.Ordinal) || s.StartsWith("--Storage:Credential=", StringComparison.Ordinal)))
            args.Add($"--Storage:ConnectionString={env.Azurite.ConnectionString}");
        args.AddRange(settings);
        return [.. args];
    }

    /// <summary>Builds and starts the silo host as Program does; returns the one-line start-up failure (the test fails if it starts).</summary>
    internal static async Task<string> StartFailureAsync(string[] args)
    {
        WebApplication? app = null;
        try
        {
            app = SiloHost.Build(args, b => b.Logging.SetMinimumLevel(LogLevel.Critical));
            await app.StartAsync();
        }
        catch (Exception ex)
        {
            return StartupFailure.Describe(ex);
        }
        finally
        {
            if (app is not null)
            {
                try { await app.StopAsync(); }
                catch (Exception) { /* it never fully started */ }
                await app.DisposeAsync();
            }
        }
        Assert.Fail("the silo started although a setting is invalid");
        return "";
    }

    [Theory]
    [InlineData("Evidence:AppendTimeout", "--Evidence:AppendTimeout=-00:00:01")]
    [InlineData("Evidence:AppendTimeout", "--Evidence:AppendTimeout=00:00:00")]
    [InlineData("Evidence:AppendTimeout", "--Evidence:AppendTimeout=01:00:00")]
    [InlineData("Evidence:SessionPartitions", "--Evidence:SessionPartitions=0")]
    [InlineData("Evidence:SessionPartitions", "--Evidence:SessionPartitions=101")]
    [InlineData("Evidence:Table", "--Evidence:Table=ev")]
    [InlineData("Evidence:SigningKeyPath", "--Evidence:SigningKeyPath=/nonexistent/evidence-key.pem")]
    [InlineData("Evidence:AdditionalPublicKeys:0", "--Evidence:AdditionalPublicKeys:0=old=/nonexistent/old.pem")]
    [InlineData("Evidence:Redact:0", "--Evidence:Redact:0=input/apiKey")]
    [InlineData("Evidence:ServiceUri", "--Evidence:Credential=DefaultAzureCredential")]
    [InlineData("Evidence:ConnectionString", "--Evidence:ConnectionString=AccountName=x;AccountKey=not-base64!;TableEndpoint=http://127.0.0.1:1/x")]
    [InlineData("Orleans:Clustering:ProviderType", "--Orleans:Clustering:ProviderType=Consul")]
    [InlineData("Orleans:Clustering:ProviderType", "--Orleans:Clustering=AzureTable")]
    [InlineData("Orleans:Clustering:PrimarySiloEndPoint", "--Orleans:Clustering:ProviderType=Development", "--Orleans:Clustering:PrimarySiloEndPoint=silo-1")]
    [InlineData("Orleans:SiloPort", "--Orleans:SiloPort=70000")]
    [InlineData("Orleans:SiloPort", "--Orleans:SiloPort=eleven")]
    [InlineData("Orleans:GatewayPort", "--Orleans:GatewayPort=-1")]
    [InlineData("Orleans:AdvertisedIPAddress", "--Orleans:AdvertisedIPAddress=silo-1.internal")]
    [InlineData("Orleans:ClusterId", "--Orleans:ClusterId= ")]
    [InlineData("Storage:GrainStateTable", "--Storage:GrainStateTable=grain-state")]
    [InlineData("Storage:ConnectionString", "--Storage:ConnectionString=")]
    [InlineData("Storage:ConnectionString", "--Storage:ConnectionString=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%%%;TableEndpoint=http://127.0.0.1:1/devstoreaccount1")]
    [InlineData("Storage:ServiceUri", "--Storage:Credential=DefaultAzureCredential")]
    [InlineData("Storage:Credential", "--Storage:Credential=ManagedIdentity")]
    [InlineData("Storage:ServiceUri", "--Storage:Credential=DefaultAzureCredential", "--Storage:ServiceUri=http://account.table.core.windows.net")]
    [InlineData("Storage:ServiceUri", "--Storage:ConnectionString=UseDevelopmentStorage=true", "--Storage:ServiceUri=https://account.table.core.windows.net")]
    [InlineData("Authz:MaxDelegationDepth", "--Authz:MaxDelegationDepth=-1")]
    [InlineData("Authz:MaxElevationLifetime", "--Authz:MaxElevationLifetime=-01:00:00")]
    public async Task An_invalid_setting_stops_start_up_naming_its_key(string key, params string[] settings)
    {
        var failure = await StartFailureAsync(Args(settings));

        Assert.Contains(key, failure);
        Assert.DoesNotContain('\n', failure);
    }

    [Fact]
    public async Task Every_invalid_setting_is_named_at_once()
    {
        var failure = await StartFailureAsync(Args("--Evidence:AppendTimeout=-00:00:05", "--Authz:MaxDelegationDepth=99"));

        Assert.Contains("Evidence:AppendTimeout", failure);
        Assert.Contains("Authz:MaxDelegationDepth", failure);
    }

    [Fact]
    public async Task A_wrong_storage_key_stops_start_up_naming_the_connection_string_without_repeating_it()
    {
        var wrongKey = Convert.ToBase64String(new byte[64]);
        var connection = env.Azurite.ConnectionString.Replace(AzuriteServer.AccountKey, wrongKey, StringComparison.Ordinal);

        var failure = await StartFailureAsync(Args($"--Storage:ConnectionString={connection}"));

        Assert.StartsWith("Storage:ConnectionString:", failure);
        Assert.Contains("refused the credentials", failure);
        Assert.DoesNotContain(wrongKey, failure);
    }

    [Fact]
    public async Task A_wrong_key_for_a_separate_evidence_account_stops_start_up_naming_the_evidence_setting()
    {
        var connection = env.Azurite.ConnectionString.Replace(AzuriteServer.AccountKey, Convert.ToBase64String(new byte[64]), StringComparison.Ordinal);

        var failure = await StartFailureAsync(Args($"--Evidence:ConnectionString={connection}"));

        Assert.StartsWith("Evidence:ConnectionString:", failure);
    }

    [Fact]
    public async Task Unreachable_storage_stops_start_up_naming_the_connection_string()
    {
        var closedPort = FreePorts.Next();
        var connection = env.Azurite.ConnectionString.Replace($":{env.Azurite.Port}/", $":{closedPort}/", StringComparison.Ordinal);

        var failure = await StartFailureAsync(Args($"--Storage:ConnectionString={connection}"));

        Assert.StartsWith("Storage:ConnectionString:", failure);
        Assert.Contains($"127.0.0.1:{closedPort}", failure);
    }

    [Fact]
    public async Task The_silo_process_exits_with_1_and_one_line_naming_the_setting_when_the_storage_key_is_wrong()
    {
        var connection = env.Azurite.ConnectionString.Replace(AzuriteServer.AccountKey, Convert.ToBase64String(new byte[64]), StringComparison.Ordinal);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RuntimeAuthz.Silo.dll"));
        foreach (var arg in Args($"--Storage:ConnectionString={connection}")) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(limit.Token);
        await output;

        Assert.Equal(1, process.ExitCode);
        var line = Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("Storage:ConnectionString", line);
    }

    [Fact]
    public void DefaultAzureCredential_storage_binds_to_one_shared_client_on_the_service_uri()
    {
        var serviceUri = new Uri("https://authzaccount.table.core.windows.net/");
        var app = SiloHost.Build(Args("--Storage:Credential=DefaultAzureCredential", $"--Storage:ServiceUri={serviceUri}"));
        try
        {
            // Resolving validates; starting would need a real Azure identity.
            var storage = app.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
            var client = app.Services.GetRequiredService<TableServiceClient>();
            var evidenceClient = app.Services.GetRequiredKeyedService<TableServiceClient>(EvidenceServices.TableClientKey);

            Assert.Equal(StorageCredential.DefaultAzureCredential, storage.Credential);
            Assert.Equal(serviceUri, client.Uri);
            Assert.Equal(serviceUri, evidenceClient.Uri);
            Assert.IsType<DefaultAzureCredential>(app.Services.GetRequiredService<TokenCredential>());
        }
        finally
        {
            ((IDisposable)app).Dispose();
        }
    }

    [Fact]
    public async Task Two_hosts_with_azure_table_clustering_form_one_cluster_and_share_state()
    {
        var id = "multi-" + Guid.NewGuid().ToString("N")[..10];
        string[] Args() =>
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Production",
            $"--Storage:ConnectionString={env.Azurite.ConnectionString}",
            "--Orleans:Clustering:ProviderType=AzureTableStorage", $"--Orleans:ClusterId={id}", $"--Orleans:ServiceId={id}",
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
