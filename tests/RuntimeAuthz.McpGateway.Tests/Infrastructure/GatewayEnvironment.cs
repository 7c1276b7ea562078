using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using RuntimeAuthz.Client;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Incidents;

namespace RuntimeAuthz.McpGateway.Tests.Infrastructure;

/// <summary>
/// Started once for all gateway tests: Azurite, two silo hosts forming one cluster through Azure Table storage, the test
/// policy, and a gateway in front of the npm filesystem server (stdio, trusted) and the npm "everything" server (stdio).
/// Each test registers its own agent, so its sessions, timeline and evidence are its own.
/// </summary>
public sealed class GatewayEnvironment : IAsyncLifetime
{
    public const string GatewaySubject = "mcp-gateway";
    public const string AgentOwner = "owner@tests.invalid";

    /// <summary>Policy ids are policy0, policy1, ... in text order (the @id annotations name them for people).</summary>
    public const string Policies = """
        @id("reads-are-allowed")
        permit (principal, action, resource) when { context.action.category == "read" };

        @id("writes-need-approval")
        @approval("required")
        permit (principal, action == Action::"fs_write_file", resource);

        @id("files-are-never-moved-away")
        forbid (principal, action == Action::"fs_move_file", resource);

        @id("directories-only-where-a-read-pointed")
        permit (principal, action == Action::"fs_create_directory", resource)
        when temporal { formerly within 10m Action::"fs_read_text_file"::response{ output.content: context.input.path, reporter: "enforcement-point" } };

        @id("echo")
        permit (principal, action == Action::"everything_echo", resource);
        """;

    public static readonly string[] DelegatedActions =
        ["fs_read_text_file", "fs_list_directory", "fs_write_file", "fs_move_file", "fs_create_directory", "everything_echo"];

    private readonly List<IAsyncDisposable> _owned = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private RunningGateway? _unheld;
    private readonly string _clusterId = "mcpgw-" + Guid.NewGuid().ToString("N")[..10];

    public AzuriteServer Azurite { get; private set; } = null!;
    public List<SiloHost> Silos { get; } = [];
    public AuthzClient Admin { get; private set; } = null!;
    public AuthzClient Approver { get; private set; } = null!;
    public HttpClient AdminHttp { get; private set; } = null!;
    private readonly string _root = Directory.CreateTempSubdirectory("mcp-gateway-tests-").FullName;

    /// <summary>The directory the filesystem server may use (its only allowed directory; the token files are outside it).</summary>
    public string Files => Path.Combine(_root, "files");
    public string PepTokenFile { get; private set; } = null!;
    public string GovernanceTokenFile { get; private set; } = null!;
    /// <summary>A gateway token that may also read agents' grants (to hide tools they can never call).</summary>
    public string PepReaderTokenFile { get; private set; } = null!;
    public RunningGateway Gateway { get; private set; } = null!;

    /// <summary>The policy text in force: <see cref="Policies"/>, then the incidents' policies.</summary>
    public string PublishedPolicy { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Files);
        Azurite = await AzuriteServer.StartAsync();
        Silos.Add(await StartSiloAsync());
        Silos.Add(await StartSiloAsync());
        Admin = new AuthzClient(Silos[0].BaseAddress, new StaticTokenSource(TestTokens.Mint(TestTokens.AdminSubject, ["admin"], lifetime: TimeSpan.FromDays(1))));
        Approver = new AuthzClient(Silos[1].BaseAddress, new StaticTokenSource(TestTokens.Mint("test-approver", ["approver"], lifetime: TimeSpan.FromDays(1))));
        AdminHttp = TestTokens.Client(Silos[0].BaseAddress, TestTokens.Mint(TestTokens.AdminSubject, ["admin"], lifetime: TimeSpan.FromDays(1)));
        // The incident walk-throughs' policies follow the gateway tests' own, whose ids (policy0, ...) stay as they are.
        PublishedPolicy = IncidentPolicy.Combine(Policies, RepoPaths.Examples);
        await Admin.PublishPolicyAsync(new PublishPolicyRequest(PublishedPolicy, null, "MCP gateway tests and incident walk-throughs"));
        PepTokenFile = WriteSecret("pep.token", TestTokens.Mint(GatewaySubject, ["pep"], agents: ["*"], lifetime: TimeSpan.FromDays(1)));
        PepReaderTokenFile = WriteSecret("pep-reader.token", TestTokens.Mint(GatewaySubject, ["pep", "responder"], agents: ["*"], lifetime: TimeSpan.FromDays(1)));
        GovernanceTokenFile = WriteSecret("governance.token", TestTokens.Mint("gateway-catalog", ["governance"], lifetime: TimeSpan.FromDays(1)));
        Gateway = await StartGatewayAsync(Silos[0].BaseAddress);
    }

    public async Task DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            try { await _owned[i].DisposeAsync(); }
            catch (Exception) { /* best effort: the next resource must still be released */ }
        }
        Admin?.Dispose();
        Approver?.Dispose();
        AdminHttp?.Dispose();
        await Azurite.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { /* a server may still hold a file; the temp directory is cleaned by the OS */ }
    }

    /// <summary>A silo host of the shared cluster (Azure Table clustering on this run's Azurite), HTTP on a free loopback port.</summary>
    public async Task<SiloHost> StartSiloAsync()
    {
        string[] args =
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Production",
            $"--Storage:ConnectionString={Azurite.ConnectionString}",
            "--Orleans:Clustering:ProviderType=AzureTableStorage", $"--Orleans:ClusterId={_clusterId}", $"--Orleans:ServiceId={_clusterId}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}", "--Orleans:AdvertisedIPAddress=127.0.0.1",
            TestTokens.AuthorityArgument,
        ];
        var app = Silo.SiloHost.Build(args, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            TestTokens.Trust(builder);
        });
        await app.StartAsync();
        var host = new SiloHost(app, AddressOf(app));
        _owned.Add(host);
        return host;
    }

    /// <summary>The gateway's configuration file: fs (trusted, resource = the path argument) and everything, over stdio.</summary>
    public JsonObject GatewayConfig(Uri cluster, int approvalWaitSeconds = 60) => new()
    {
        ["Gateway"] = new JsonObject
        {
            ["Cluster"] = new JsonObject { ["Url"] = cluster.ToString(), ["TokenFile"] = PepTokenFile, ["CatalogTokenFile"] = GovernanceTokenFile },
            ["ApprovalWaitSeconds"] = approvalWaitSeconds,
            ["DecisionTimeoutSeconds"] = 10,
            ["Servers"] = new JsonObject
            {
                ["fs"] = new JsonObject
                {
                    ["Command"] = "node",
                    ["Arguments"] = new JsonArray(NodeServer("server-filesystem"), Files),
                    ["Trusted"] = true,
                    ["ResourceType"] = "File",
                    ["ResourceArgument"] = "path",
                    ["Tools"] = new JsonObject { ["move_file"] = new JsonObject { ["ResourceArgument"] = "source" } },
                },
                ["everything"] = new JsonObject { ["Command"] = "node", ["Arguments"] = new JsonArray(NodeServer("server-everything"), "stdio") },
            },
        },
    };

    public static string NodeServer(string package) =>
        Path.Combine(RepoPaths.Root, "node_modules", "@modelcontextprotocol", package, "dist", "index.js");

    /// <summary>A gateway on the second silo that holds no call for approval (answers pending at once), shared by the tests that need one.</summary>
    public async Task<RunningGateway> GetUnheldGatewayAsync()
    {
        await _gate.WaitAsync();
        try
        {
            return _unheld ??= await StartGatewayAsync(Silos[1].BaseAddress, approvalWaitSeconds: 0);
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task<RunningGateway> StartGatewayAsync(Uri cluster, int approvalWaitSeconds = 60) => StartGatewayAsync(GatewayConfig(cluster, approvalWaitSeconds));

    /// <summary>A web host on a free loopback port, stopped at the end of the run.</summary>
    public async Task<RunningWebHost> StartWebHostAsync(WebApplication app)
    {
        await app.StartAsync();
        var host = new RunningWebHost(app, AddressOf(app));
        _owned.Add(host);
        return host;
    }

    public async Task<RunningGateway> StartGatewayAsync(JsonObject config)
    {
        var file = WriteSecret($"gateway-{Guid.NewGuid():N}.json", config.ToJsonString());
        var app = GatewayHost.Build(["--urls", "http://127.0.0.1:0", "--config", file, "--environment", "Production"],
            builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        var gateway = new RunningGateway(app, AddressOf(app));
        _owned.Add(gateway);
        await CurrentPolicyOnEverySiloAsync();
        return gateway;
    }

    /// <summary>
    /// Waits until every silo's policy cache holds the current version. A gateway publishes its trusted servers' annotations
    /// as a new version when it starts, and silos learn of a version by a push: a call decided on a silo that has not yet
    /// installed it would see the tools as unknown actions.
    /// </summary>
    private async Task CurrentPolicyOnEverySiloAsync()
    {
        var current = (await Admin.GetCurrentPolicyAsync()).Version;
        await Eventually.TrueAsync($"policy version {current} in every silo's cache",
            () => Silos.All(s => s.App.Services.GetRequiredService<Grains.PolicyCache>().Version >= current), TimeSpan.FromSeconds(30));
    }

    /// <summary>A new agent (owned by <see cref="AgentOwner"/>) with a day's delegation of <paramref name="actions"/> (default <see cref="DelegatedActions"/>) on every resource.</summary>
    public async Task<string> RegisterAgentAsync(string prefix, IReadOnlyList<string>? actions = null)
    {
        var id = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];
        await Admin.RegisterAgentAsync(new RegisterAgentRequest(id, prefix, AgentOwner, "mcp-tests"));
        await Admin.GrantDelegationAsync(id, new GrantDelegationRequest(actions ?? DelegatedActions, ["*"], DateTimeOffset.UtcNow.AddDays(1), "MCP gateway tests"));
        return id;
    }

    /// <summary>An MCP client of <paramref name="gateway"/> with <paramref name="token"/> (by default a session-capable protocol version).</summary>
    public static async Task<McpClient> ConnectAsync(RunningGateway gateway, string token, string? protocolVersion = "2025-11-25")
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(gateway.BaseAddress, "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
        });
        return await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = protocolVersion });
    }

    /// <summary>The agent's sessions (ids), newest last.</summary>
    public async Task<IReadOnlyList<string>> SessionsOfAsync(string agentId)
    {
        var page = await AdminHttp.GetFromJsonAsync<JsonObject>($"/v1/agents/{agentId}/sessions");
        return [.. page!["sessions"]!.AsArray().OrderBy(s => s!["openedAt"]!.GetValue<DateTimeOffset>()).Select(s => s!["id"]!.GetValue<string>())];
    }

    /// <summary>The bodies of the session's evidence records.</summary>
    public async Task<IReadOnlyList<JsonObject>> EvidenceOfAsync(string sessionId)
    {
        var chain = await AdminHttp.GetFromJsonAsync<JsonObject>($"/v1/evidence/sessions/{sessionId}");
        return [.. chain!["records"]!.AsArray().Select(r => JsonNode.Parse(r!["body"]!.GetValue<string>())!.AsObject())];
    }

    private string WriteSecret(string name, string text)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static Uri AddressOf(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
}

/// <summary>A running web host (silo or gateway) stopped at the end of the run, or earlier by a test.</summary>
public class RunningWebHost(WebApplication app, Uri baseAddress) : IAsyncDisposable
{
    private bool _stopped;

    public WebApplication App { get; } = app;
    public Uri BaseAddress { get; } = baseAddress;

    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await App.StopAsync();
        await App.DisposeAsync();
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}

public sealed class SiloHost(WebApplication app, Uri baseAddress) : RunningWebHost(app, baseAddress);

public sealed class RunningGateway(WebApplication app, Uri baseAddress) : RunningWebHost(app, baseAddress);

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayEnvironment>
{
    public const string Name = "mcp-gateway";
}
