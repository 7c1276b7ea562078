using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Testing.Chaos;

/// <summary>
/// Real processes for the fault scenarios: Azurite, optionally a <see cref="LatencyProxy"/> between the silos and
/// Azurite, and N silo processes in one cluster (Azure Table membership), the first one seeding the chaos policy and
/// agent. Every silo gets a token from its own development issuer. Disposing kills the silos, then stops the proxy and
/// Azurite, whatever state they are in.
/// </summary>
public sealed class ChaosCluster : IAsyncDisposable
{
    public const string AgentId = "chaos-agent";

    /// <summary>Reads of documents are allowed (risk 1 each, no cap); deleting a database never is.</summary>
    private const string Policy = """
        @id("read-documents")
        @risk("1")
        permit (principal is Agent, action == Action::"read_file", resource is Document);

        @id("never-delete-databases")
        forbid (principal, action == Action::"delete_database", resource);
        """;

    private static readonly string Seed = new JsonObject
    {
        ["agents"] = new JsonArray(new JsonObject
        {
            ["id"] = AgentId, ["name"] = "chaos agent", ["owner"] = "chaos@example.com", ["fleet"] = "chaos",
            ["delegations"] = new JsonArray(new JsonObject
            {
                ["actions"] = new JsonArray("read_file", "delete_database"),
                ["resources"] = new JsonArray("Document::*", "Database::*"),
                ["grantedBy"] = "chaos-harness", ["purpose"] = "chaos scenarios", ["validForDays"] = 30,
            }),
        }),
    }.ToJsonString();

    private readonly List<SiloProcess> silos = [];
    private readonly Dictionary<SiloProcess, HttpClient> clients = [];
    private readonly HashSet<SiloProcess> killed = [];

    private ChaosCluster(AzuriteServer azurite, LatencyProxy? proxy, string work, string serviceId)
    {
        Azurite = azurite;
        Proxy = proxy;
        WorkDirectory = work;
        ServiceId = serviceId;
    }

    public AzuriteServer Azurite { get; }

    /// <summary>Between every silo and Azurite when the cluster was started with one.</summary>
    public LatencyProxy? Proxy { get; }

    /// <summary>Silo logs and the seed directory.</summary>
    public string WorkDirectory { get; }

    public string ServiceId { get; }

    public IReadOnlyList<SiloProcess> Silos => silos;

    /// <summary>The silos not killed by the scenario, in start order.</summary>
    public IReadOnlyList<SiloProcess> Alive
    {
        get { lock (killed) return silos.Where(s => !killed.Contains(s)).ToArray(); }
    }

    /// <summary>Storage as the harness reads it: Azurite directly, never through the proxy.</summary>
    public string DirectConnectionString => Azurite.ConnectionString;

    public static async Task<ChaosCluster> StartAsync(int siloCount, bool throughProxy, TextWriter log)
    {
        var work = Directory.CreateTempSubdirectory("authz-chaos-").FullName;
        var azurite = await AzuriteServer.StartAsync();
        var proxy = throughProxy ? new LatencyProxy(azurite.Port) : null;
        var cluster = new ChaosCluster(azurite, proxy, work, "chaos-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var seed = Path.Combine(work, "seed");
            Directory.CreateDirectory(seed);
            await File.WriteAllTextAsync(Path.Combine(seed, "policies.cedar"), Policy);
            await File.WriteAllTextAsync(Path.Combine(seed, "seed.json"), Seed);
            // The first silo seeds (a started host is a seeded host); the others join the cluster it formed.
            await cluster.AddSiloAsync(["--Seed:Example=true", $"--Seed:Directory={seed}"]);
            await Task.WhenAll(Enumerable.Range(1, siloCount - 1).Select(_ => cluster.AddSiloAsync([])));
            log.WriteLine($"chaos cluster {cluster.ServiceId}: {siloCount} silos{(throughProxy ? " behind a latency proxy" : "")}, logs in {work}");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task AddSiloAsync(string[] extraArgs)
    {
        var storage = Proxy is null
            ? Azurite.ConnectionString
            : Azurite.ConnectionString.Replace($"127.0.0.1:{Azurite.Port}/", $"127.0.0.1:{Proxy.Port}/", StringComparison.Ordinal);
        var silo = await SiloProcess.StartAsync(RepoPaths.Root, new SiloLaunch
        {
            StorageConnectionString = storage, ServiceId = ServiceId, AzureTableClustering = true,
            ExtraArgs = ["--Logging:LogLevel:Default=Warning", .. extraArgs],
        }, Path.Combine(WorkDirectory, $"silo-{Guid.NewGuid().ToString("N")[..6]}.log"));
        // Admin: opens sessions, decides for them and reads them back (one token per silo: each has its own issuer key).
        var token = await silo.DevTokenAsync("chaos-harness", ["admin"]) ?? throw new InvalidOperationException("the silo has no development issuer");
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromSeconds(30),
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        lock (silos)
        {
            silos.Add(silo);
            clients[silo] = client;
        }
    }

    /// <summary>An HTTP client that calls <paramref name="silo"/> as the harness' admin.</summary>
    public HttpClient ClientFor(SiloProcess silo)
    {
        lock (silos) return clients[silo];
    }

    /// <summary>SIGKILL; the silo leaves <see cref="Alive"/> first, so the load stops choosing it.</summary>
    public async Task KillAsync(SiloProcess silo)
    {
        lock (killed) killed.Add(silo);
        await silo.KillAsync();
    }

    public async Task<string[]> OpenSessionsAsync(int count)
    {
        var http = ClientFor(Alive[0]);
        return await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            var reply = await http.PostAsJsonAsync("v1/sessions", new { agentId = AgentId, lifetimeSeconds = 86_400, idleTimeoutSeconds = 86_400 });
            reply.EnsureSuccessStatusCode();
            return (await reply.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
        }));
    }

    /// <summary>A session as a living silo reports it (null when none could answer).</summary>
    public async Task<JsonObject?> GetSessionAsync(string session)
    {
        foreach (var silo in Alive)
        {
            try
            {
                var reply = await ClientFor(silo).GetAsync($"v1/sessions/{session}");
                if (reply.IsSuccessStatusCode) return await reply.Content.ReadFromJsonAsync<JsonObject>();
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // try the next silo
            }
        }
        return null;
    }

    /// <summary>The silos hosting these grains now (by the silo port in their addresses), asked through a cluster client.</summary>
    public async Task<Dictionary<string, SiloProcess?>> HostsOfAsync(string agentId, IReadOnlyList<string> sessions)
    {
        // Empty: the silo's appsettings.json beside the program has an Orleans section the client would read as its own.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var gateways = Alive.Select(s => new IPEndPoint(IPAddress.Loopback, s.GatewayPort)).ToArray();
        builder.UseOrleansClient(client => client.UseStaticClustering(gateways).Configure<ClusterOptions>(o => { o.ClusterId = ServiceId; o.ServiceId = ServiceId; }));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var grains = host.Services.GetRequiredService<IClusterClient>();
            var management = grains.GetGrain<IManagementGrain>(0);
            SiloProcess? ByPort(SiloAddress? address) => address is null ? null : silos.FirstOrDefault(s => s.SiloPort == address.Endpoint.Port);
            // Right after a kill, a lookup may be routed to the dead silo's directory partition and refused until the
            // cluster has declared it dead: ask again until every lookup is answered.
            return await Eventually.UntilAsync($"the hosts of agent {agentId} and its {sessions.Count} sessions", async () =>
            {
                var hosts = new Dictionary<string, SiloProcess?>(StringComparer.Ordinal)
                {
                    [agentId] = ByPort(await management.GetActivationAddress(grains.GetGrain<IAgentGrain>(agentId))),
                };
                foreach (var session in sessions) hosts[session] = ByPort(await management.GetActivationAddress(grains.GetGrain<IAgentSessionGrain>(session)));
                return hosts;
            }, _ => true, timeout: TimeSpan.FromSeconds(90), interval: TimeSpan.FromMilliseconds(500), retryExceptions: true);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Killed, not stopped: the cluster's state is thrown away with Azurite's temporary data, and a graceful
        // shutdown against stalled storage could take a minute.
        foreach (var silo in silos)
        {
            try { await silo.KillAsync(); } catch (InvalidOperationException) { /* already gone */ }
            await silo.DisposeAsync();
        }
        foreach (var client in clients.Values) client.Dispose();
        if (Proxy is not null) await Proxy.DisposeAsync();
        await Azurite.DisposeAsync();
        // The silo logs stay only when asked for (AUTHZ_CHAOS_KEEP_LOGS=1), e.g. to look into a failed scenario.
        if (Environment.GetEnvironmentVariable("AUTHZ_CHAOS_KEEP_LOGS") != "1")
        {
            try { Directory.Delete(WorkDirectory, recursive: true); } catch (IOException) { }
        }
    }
}
