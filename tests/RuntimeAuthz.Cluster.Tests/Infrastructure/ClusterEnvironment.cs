using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Silo;

namespace RuntimeAuthz.Cluster.Tests.Infrastructure;

/// <summary>
/// Everything the tests share, started once: Azurite, a 3-silo in-process cluster whose
/// authorization clock is a <see cref="FakeTimeProvider"/>, and a real seeded silo host.
/// Further clusters and hosts are created on demand and disposed at the end.
/// </summary>
public sealed class ClusterEnvironment : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> owned = [];
    private readonly SemaphoreSlim gate = new(1, 1);
    private InProcessTestCluster? sharedCluster;
    private RunningHost? sharedHost;

    public AzuriteServer Azurite { get; private set; } = null!;

    /// <summary>The authorization clock of <see cref="GetSharedClusterAsync"/>; tests only move it forward.</summary>
    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2030, 1, 1, 8, 0, 0, TimeSpan.Zero));

    public async Task InitializeAsync() => Azurite = await AzuriteServer.StartAsync();

    public async Task DisposeAsync()
    {
        for (var i = owned.Count - 1; i >= 0; i--)
        {
            try { await owned[i].DisposeAsync(); }
            catch (Exception) { /* best effort: the next resource must still be released */ }
        }
        await Azurite.DisposeAsync();
    }

    /// <summary>The shared 3-silo cluster with the example policy (and schema) published.</summary>
    public async Task<InProcessTestCluster> GetSharedClusterAsync()
    {
        await gate.WaitAsync();
        try
        {
            if (sharedCluster is null)
            {
                var cluster = await StartClusterAsync(3, Clock);
                var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
                {
                    Policies = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")),
                    Schema = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "schema.cedarschema")),
                    Author = "tests",
                });
                Assert.True(published.IsSuccess, published.Message);
                await WaitForPolicyAsync(cluster, published.Value!.Version);
                sharedCluster = cluster;
            }
            return sharedCluster;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>A new cluster with its own service id (so its own grain state), disposed at the end of the run.</summary>
    public Task<InProcessTestCluster> StartClusterAsync(short silos, TimeProvider? authzTime = null) => StartClusterAsync(silos, authzTime, configureSilo: null);

    /// <summary>As above; <paramref name="configureSilo"/> runs after the standard silo setup (to override services or options).</summary>
    public async Task<InProcessTestCluster> StartClusterAsync(short silos, TimeProvider? authzTime, Action<ISiloBuilder>? configureSilo)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.Options.ServiceId = "tests-" + Guid.NewGuid().ToString("N")[..12];
        var connectionString = Azurite.ConnectionString;
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Logging.SetMinimumLevel(LogLevel.Warning);
            if (Environment.GetEnvironmentVariable("AUTHZ_TEST_LOG") is { Length: > 0 }) host.Logging.AddConsole().AddFilter("RuntimeAuthz", LogLevel.Debug).AddFilter("Orleans.Utilities", LogLevel.Debug);
        });
        builder.ConfigureSilo((_, silo) =>
        {
            if (authzTime is not null) silo.Services.AddSingleton(new AuthzClock(authzTime));
            silo.AddRuntimeAuthz(connectionString);
            silo.TuneMembershipForFastFailover();
            silo.AddIncomingGrainCallFilter<Evidence.DecisionLedger>();
            configureSilo?.Invoke(silo);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        owned.Add(cluster);
        return cluster;
    }

    /// <summary>Waits until every silo's policy cache holds at least <paramref name="version"/>.</summary>
    public static Task WaitForPolicyAsync(InProcessTestCluster cluster, long version, TimeSpan? timeout = null) =>
        Eventually.UntilAsync(
            $"policy version {version} in every silo's cache",
            () => cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<PolicyCache>().Version).ToArray(),
            versions => versions.All(v => v >= version),
            timeout,
            TimeSpan.FromMilliseconds(20),
            describe: versions => "versions " + string.Join(", ", versions));

    /// <summary>The shared real silo host (HTTP on a free port), seeded with the example.</summary>
    public async Task<RunningHost> GetSharedHostAsync()
    {
        await gate.WaitAsync();
        try
        {
            sharedHost ??= await StartHostAsync("http-" + Guid.NewGuid().ToString("N")[..12], seed: true);
            return sharedHost;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Starts the actual silo host: Kestrel on a free loopback port, Localhost clustering, Azurite storage.</summary>
    /// <param name="extraArgs">Further command-line arguments (e.g. a real issuer's Authentication settings).</param>
    public Task<RunningHost> StartHostAsync(string serviceId, bool seed, IReadOnlyList<string>? extraArgs = null) => StartHostAsync(
        HostArgs(serviceId, "Production", [$"--Seed:Example={seed}", $"--Seed:Directory={RepoPaths.Examples}", .. extraArgs ?? []]));

    /// <summary>The arguments every test host needs: a free loopback port, this run's Azurite, its own service and free Orleans ports.</summary>
    public string[] HostArgs(string serviceId, string environment, params string[] extra) =>
        LoopbackHosts.SiloArguments(Azurite, serviceId, environment, extra);

    /// <summary>
    /// Starts the actual silo host with these command-line arguments; it is stopped at the end of the run.
    /// Its authority is <see cref="TestTokens.Issuer"/>, trusting the test key, unless the arguments name another
    /// (then it uses that authority's discovery and JWKS, as the real-issuer tests need).
    /// </summary>
    public async Task<RunningHost> StartHostAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var testAuthority = !args.Any(a => a.Contains(RuntimeAuthz.Silo.Security.CallerAuthenticationOptions.AuthorityKey, StringComparison.Ordinal));
        if (testAuthority) args = [.. args, TestTokens.AuthorityArgument];
        var app = SiloHost.Build(args, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton<IIncomingGrainCallFilter, Evidence.DecisionLedger>();
            if (testAuthority) TestTokens.Trust(builder);
            configure?.Invoke(builder);
        });
        var host = new RunningHost(app, await app.StartOnLoopbackAsync());
        owned.Add(host);
        return host;
    }
}

public sealed class RunningHost(WebApplication app, Uri baseAddress) : IAsyncDisposable
{
    private readonly List<HttpClient> clients = [];
    private bool stopped;

    public WebApplication App { get; } = app;
    public Uri BaseAddress { get; } = baseAddress;

    /// <summary>Calls as an admin (subject <see cref="TestTokens.AdminSubject"/>).</summary>
    public HttpClient Http => field ??= ClientWith(TestTokens.Mint(TestTokens.AdminSubject, [RuntimeAuthz.Silo.Security.Roles.Admin], lifetime: TimeSpan.FromDays(1)));

    /// <summary>Calls with this bearer token (null: no Authorization header).</summary>
    public HttpClient ClientWith(string? token)
    {
        var client = TestTokens.Client(BaseAddress, token);
        lock (clients) clients.Add(client);
        return client;
    }

    /// <summary>Calls as subject <c>test-&lt;role&gt;</c> holding only <paramref name="role"/>.</summary>
    public HttpClient As(string role) => ClientWith(TestTokens.ForRole(role));

    /// <summary>Calls with an agent token bound to <paramref name="agentId"/>.</summary>
    public HttpClient AsAgent(string agentId) => ClientWith(TestTokens.ForAgent(agentId));

    public async Task StopAsync()
    {
        if (stopped) return;
        stopped = true;
        lock (clients) clients.ForEach(c => c.Dispose());
        await App.StopAsync();
        await App.DisposeAsync();
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterEnvironment>
{
    public const string Name = "cluster";
}
