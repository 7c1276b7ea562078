using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Silo;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.ClusterClient.Tests;

/// <summary>
/// Azurite, started once, and 2-silo clusters of real silo hosts on it: the silos find each other through their
/// membership table in Azurite, keep grain state and evidence there, and open their Orleans gateways on loopback (real
/// sockets), as a fleet's enforcement points would reach them. Each cluster gets the example policy and agent
/// <see cref="Agent"/>. Decisions of sessions named in <see cref="HeldSessions"/> wait in a grain call filter until released,
/// so a test can lose a decision's answer on purpose.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const string Agent = "fleet-agent";

    /// <summary>The silos' clustering settings: membership in the storage account's table.</summary>
    public static readonly string[] AzureTableClustering = ["--Orleans:Clustering:ProviderType=AzureTableStorage"];

    private readonly List<IAsyncDisposable> owned = [];
    private readonly SemaphoreSlim gate = new(1, 1);
    private SiloCluster? shared;

    public AzuriteServer Azurite { get; private set; } = null!;

    /// <summary>A test CA and the certificates it issues (silos', clients').</summary>
    public TestCertificates Certificates { get; } = new();

    /// <summary>Session id → released when completed; Decide calls for these sessions wait for it.</summary>
    public static ConcurrentDictionary<string, TaskCompletionSource> HeldSessions { get; } = new();

    /// <summary>Session id → how many Decide calls reached its grain.</summary>
    public static ConcurrentDictionary<string, int> DecideCalls { get; } = new();

    /// <summary>Agent id → how long the first Open of a session for it waits in the silo (then it proceeds).</summary>
    public static ConcurrentDictionary<string, TimeSpan> SlowOpens { get; } = new();

    /// <summary>Agent id → how many Open calls for it reached a session grain.</summary>
    public static ConcurrentDictionary<string, int> OpenCalls { get; } = new();

    public async Task InitializeAsync() => Azurite = await AzuriteServer.StartAsync();

    public async Task DisposeAsync()
    {
        for (var i = owned.Count - 1; i >= 0; i--)
        {
            try { await owned[i].DisposeAsync(); }
            catch (Exception) { /* best effort: the rest must still be released */ }
        }
        await Azurite.DisposeAsync();
        Certificates.Dispose();
    }

    /// <summary>The plain (no TLS) cluster most tests share; nobody kills its silos.</summary>
    public async Task<SiloCluster> SharedAsync()
    {
        await gate.WaitAsync();
        try
        {
            return shared ??= await StartClusterAsync();
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Starts two silo hosts (Production, a free HTTP port, free Orleans ports, gateway enabled) as a new cluster with
    /// <paramref name="siloSettings"/> added for silo <c>i</c>; <paramref name="setupClient"/> adapts the client that
    /// prepares the example (TLS clusters need its certificate). Stopped at the end of the run.
    /// </summary>
    public async Task<SiloCluster> StartClusterAsync(Func<int, string[]>? siloSettings = null, Action<AuthzClusterOptions>? setupClient = null)
    {
        var id = "cc-" + Guid.NewGuid().ToString("N")[..12];
        var cluster = new SiloCluster(id);
        owned.Add(cluster);
        for (var i = 0; i < 2; i++)
        {
            var gatewayPort = FreePorts.Next();
            var app = SiloHost.Build(
            [
                "--urls", "http://127.0.0.1:0", "--environment", "Production",
                $"--Storage:ConnectionString={Azurite.ConnectionString}",
                // Grain calls only: the HTTP API's issuer is never asked.
                $"--{CallerAuthenticationOptions.AuthorityKey}=https://issuer.tests.runtimeauthz.invalid",
                .. AzureTableClustering, $"--Orleans:ClusterId={id}", $"--Orleans:ServiceId={id}",
                $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={gatewayPort}", "--Orleans:Gateway:Enabled=true",
                .. siloSettings?.Invoke(i) ?? [],
            ], builder =>
            {
                builder.Logging.SetMinimumLevel(LogLevel.Warning);
                builder.Services.AddSingleton<IIncomingGrainCallFilter, DecisionHold>();
            });
            await app.StartAsync();
            cluster.Add(app, $"127.0.0.1:{gatewayPort}");
        }
        await using var setup = await ConnectAsync(cluster, setupClient);
        await ExampleSetup.PrepareAsync(setup.Grains, cluster.Silos.Select(s => s.Services), DateTimeOffset.UtcNow);
        return cluster;
    }

    /// <summary>A started host whose <see cref="AuthzClusterClient"/> reaches <paramref name="cluster"/> through both gateways.</summary>
    public async Task<ClientHost> ConnectAsync(SiloCluster cluster, Action<AuthzClusterOptions>? configure = null)
    {
        var client = await ClientHost.StartAsync(o =>
        {
            o.ClusterId = o.ServiceId = cluster.Id;
            o.Gateways = [.. cluster.Gateways];
            configure?.Invoke(o);
        });
        owned.Add(client);
        return client;
    }

    /// <summary>Holds Decide calls of <see cref="HeldSessions"/> and slows opens of <see cref="SlowOpens"/>, counting both.</summary>
    private sealed class DecisionHold : IIncomingGrainCallFilter
    {
        public async Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.InterfaceMethod?.Name == nameof(IAgentSessionGrain.Decide))
            {
                var session = context.TargetId.Key.ToString()!;
                DecideCalls.AddOrUpdate(session, 1, (_, n) => n + 1);
                if (HeldSessions.TryGetValue(session, out var release)) await release.Task;
            }
            else if (context.InterfaceMethod?.Name == nameof(IAgentSessionGrain.Open) && context.Request.GetArgument(0) is SessionOpenRequest open)
            {
                OpenCalls.AddOrUpdate(open.AgentId, 1, (_, n) => n + 1);
                if (SlowOpens.TryRemove(open.AgentId, out var pause)) await Task.Delay(pause);
            }
            await context.Invoke();
        }
    }
}

/// <summary>The silo hosts of one cluster and their gateway endpoints.</summary>
public sealed class SiloCluster(string id) : IAsyncDisposable
{
    private readonly List<WebApplication> silos = [];
    private readonly List<string> gateways = [];

    public string Id { get; } = id;

    public IReadOnlyList<WebApplication> Silos => silos;

    public IReadOnlyList<string> Gateways => gateways;

    public void Add(WebApplication silo, string gateway)
    {
        silos.Add(silo);
        gateways.Add(gateway);
    }

    /// <summary>
    /// Stops silo <paramref name="index"/> without a graceful shutdown (a cancelled stop: no deactivation, no goodbye in
    /// the membership table, as Orleans' test clusters kill a silo), then releases its sockets.
    /// </summary>
    public async Task KillAsync(int index)
    {
        var silo = silos[index];
        try { await silo.StopAsync(new CancellationToken(canceled: true)); }
        catch (OperationCanceledException) { /* the point of a kill */ }
        await silo.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in silos)
        {
            try { await silo.StopAsync(); await silo.DisposeAsync(); }
            catch (Exception) { /* killed already, or best effort: the other must still stop */ }
        }
    }
}

/// <summary>A host running only the cluster client, as a fleet service would.</summary>
public sealed class ClientHost(IHost host) : IAsyncDisposable
{
    public AuthzClusterClient Authz { get; } = host.Services.GetRequiredService<AuthzClusterClient>();

    /// <summary>The raw grain client, for test set-up and for reading what the cluster recorded.</summary>
    public IClusterClient Grains { get; } = host.Services.GetRequiredService<IClusterClient>();

    public static async Task<ClientHost> StartAsync(Action<AuthzClusterOptions> configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddAuthzClusterClient(configure: o =>
        {
            o.Caller = "pep:tests";
            o.ConnectAttempts = 2;
            configure(o);
        });
        var host = builder.Build();
        try
        {
            // A guard against a hang, not a timed assertion: a refused client fails long before this.
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await host.StartAsync(guard.Token);
            return new ClientHost(host);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { await host.StopAsync(); }
        finally { host.Dispose(); }
    }
}

/// <summary>The example policy (and schema) published, and agent <see cref="ClusterFixture.Agent"/> with delegations for its tools.</summary>
public static class ExampleSetup
{
    public static async Task PrepareAsync(IGrainFactory grains, IEnumerable<IServiceProvider> silos, DateTimeOffset now)
    {
        var published = await grains.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")),
            Schema = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "schema.cedarschema")),
            Author = "tests",
        });
        Assert.True(published.IsSuccess, published.Message);
        var agent = grains.GetGrain<IAgentGrain>(ClusterFixture.Agent);
        var registered = await agent.Register(new AgentRegistration { Name = "Fleet agent", Owner = "owner@example.com", Fleet = "research" });
        Assert.True(registered.IsSuccess, registered.Message);
        var granted = await agent.AddDelegation(new DelegationGrant
        {
            Actions = ["read_file", "send_payment", "delete_database"],
            Resources = ["Document::*", "Account::*", "Database::*"],
            GrantedBy = "governance@example.com",
            ExpiresAt = now.AddDays(1),
        });
        Assert.True(granted.IsSuccess, granted.Message);
        // Every silo decides with the published version before a test asks (the policy grain pushes, silos also poll).
        var caches = silos.Select(s => s.GetRequiredService<PolicyCache>()).ToArray();
        await Eventually.TrueAsync($"policy version {published.Value!.Version} on every silo", () => caches.All(c => c.Version >= published.Value.Version));
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster-client";
}
