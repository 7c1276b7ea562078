using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Incidents.Tools;
using RuntimeAuthz.McpGateway;

namespace RuntimeAuthz.Incidents;

/// <summary>Where the stage's gateway finds the cluster and who it is there (a <c>Gateway:Cluster</c> section without its Url).</summary>
/// <param name="Identity">e.g. <c>{"DevelopmentIdentity": "pep:*"}</c> against ./start, or <c>{"TokenFile": "pep.token"}</c>.</param>
public sealed record IncidentStageOptions(Uri Cluster, JsonObject Identity, string ExamplesDirectory, string NodeModulesDirectory);

/// <summary>
/// What the walk-throughs' agents reach, all real and on loopback: the MCP gateway (in this process) in front of three
/// downstream MCP servers it starts over stdio: <c>office</c> (our own tool server: contacts, web pages, mail, wires),
/// <c>vault</c> (the npm filesystem server over a directory of secrets) and <c>plans</c> (the same server over a
/// directory of plans); and the vendor's web site the prompt-injection page is fetched from.
/// Everything lives in a fresh temporary directory, removed when the stage is disposed.
/// </summary>
public sealed class IncidentStage : IAsyncDisposable
{
    public const string VendorPagePath = "/news";
    private readonly List<WebApplication> _hosts = [];

    private IncidentStage(string root) => Root = root;

    /// <summary>The stage's directory: <c>vault/</c>, <c>plans/</c>, <c>office/</c> (the tool server's data) and the gateway's configuration.</summary>
    public string Root { get; }
    public string Vault => Path.Combine(Root, "vault");
    public string Plans => Path.Combine(Root, "plans");
    public string Office => Path.Combine(Root, "office");
    public string SecretFile => Path.Combine(Vault, "db-password");
    public string PlanFile => Path.Combine(Plans, "q3-roadmap.md");

    /// <summary>The vendor page the prompt-injection agent fetches.</summary>
    public Uri VendorPage { get; private set; } = null!;

    /// <summary>The gateway's upstream MCP endpoint.</summary>
    public Uri GatewayEndpoint { get; private set; } = null!;

    public IReadOnlyList<SentMail> Outbox => OfficeData.Outbox(Office);
    public IReadOnlyList<Wire> Ledger => OfficeData.Ledger(Office);

    public static async Task<IncidentStage> StartAsync(IncidentStageOptions options, CancellationToken cancellationToken = default)
    {
        var stage = new IncidentStage(Directory.CreateTempSubdirectory("authz-incidents-").FullName);
        try
        {
            await stage.SetUpAsync(options, cancellationToken);
            return stage;
        }
        catch
        {
            await stage.DisposeAsync();
            throw;
        }
    }

    private async Task SetUpAsync(IncidentStageOptions options, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Vault);
        Directory.CreateDirectory(Plans);
        Directory.CreateDirectory(Office);
        await File.WriteAllTextAsync(SecretFile, "db-password: correct-horse-battery-staple (a stand-in secret)\n", cancellationToken);
        await File.WriteAllTextAsync(PlanFile, "# Q3 roadmap\n1. ship the gateway\n2. approvals everywhere\n3. incident drills\n", cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(Office, OfficeData.ContactsFile),
            """[{"name": "dana", "email": "dana@example.com"}, {"name": "ops", "email": "ops@example.com"}]""", cancellationToken);

        var page = await File.ReadAllTextAsync(Path.Combine(options.ExamplesDirectory, "incidents", "prompt-injection", "vendor-news.html"), cancellationToken);
        var site = await StartAsync(WebApplication.CreateBuilder(["--urls", "http://127.0.0.1:0"]), app =>
            app.MapGet(VendorPagePath, () => Results.Content(page, "text/html")), cancellationToken);
        VendorPage = new Uri(site, VendorPagePath);

        var config = Path.Combine(Root, "gateway.json");
        await File.WriteAllTextAsync(config, GatewayConfig(options).ToJsonString(), cancellationToken);
        var gateway = GatewayHost.Build(["--urls", "http://127.0.0.1:0", "--config", config, "--environment", "Production"], Quiet);
        GatewayEndpoint = new Uri(await StartAsync(gateway, cancellationToken), "/mcp");
    }

    /// <summary>
    /// The gateway's configuration. Tool calls map to the actions and resources the incidents' policies name: for example
    /// <c>office.send_email</c> is <c>Action::"send_email"</c> on <c>Mailbox::"&lt;to&gt;"</c>, and <c>vault.read_text_file</c>
    /// is <c>Action::"read_secret"</c> on <c>Secret::"&lt;path&gt;"</c>. No server is trusted: their annotations do not reach the catalog.
    /// </summary>
    private JsonObject GatewayConfig(IncidentStageOptions options)
    {
        var cluster = (JsonObject)options.Identity.DeepClone();
        cluster["Url"] = options.Cluster.ToString();
        var filesystem = Path.Combine(options.NodeModulesDirectory, "@modelcontextprotocol", "server-filesystem", "dist", "index.js");
        return new JsonObject
        {
            ["Gateway"] = new JsonObject
            {
                ["Cluster"] = cluster,
                // A held call waits this long for its approval (the walk-through approves it within seconds).
                ["ApprovalWaitSeconds"] = 60,
                ["DecisionTimeoutSeconds"] = 10,
                ["Servers"] = new JsonObject
                {
                    ["office"] = new JsonObject
                    {
                        ["Command"] = DotnetHost(),
                        ["Arguments"] = new JsonArray(Path.Combine(AppContext.BaseDirectory, "RuntimeAuthz.Incidents.Tools.dll"), "--data", Office),
                        ["Tools"] = new JsonObject
                        {
                            ["lookup_contact"] = Mapping("lookup_contact", "Contact", "name"),
                            ["fetch_page"] = Mapping("fetch_page", "WebPage", "url"),
                            ["send_email"] = Mapping("send_email", "Mailbox", "to"),
                            ["wire_money"] = Mapping("wire_money", "Account", "account"),
                        },
                    },
                    ["vault"] = new JsonObject
                    {
                        ["Command"] = "node", ["Arguments"] = new JsonArray(filesystem, Vault),
                        ["ResourceType"] = "Secret", ["ResourceArgument"] = "path",
                        ["Tools"] = new JsonObject { ["read_text_file"] = new JsonObject { ["Action"] = "read_secret" } },
                    },
                    ["plans"] = new JsonObject
                    {
                        ["Command"] = "node", ["Arguments"] = new JsonArray(filesystem, Plans),
                        ["ResourceType"] = "Plan", ["ResourceArgument"] = "path",
                        ["Tools"] = new JsonObject
                        {
                            ["read_text_file"] = new JsonObject { ["Action"] = "read_plan" },
                            ["write_file"] = new JsonObject { ["Action"] = "write_plan" },
                        },
                    },
                },
            },
        };
    }

    /// <summary>The dotnet host running this process (so the tool server runs on the same runtime), else dotnet from PATH.</summary>
    private static string DotnetHost() =>
        Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";

    private static JsonObject Mapping(string action, string resourceType, string resourceArgument) =>
        new() { ["Action"] = action, ["ResourceType"] = resourceType, ["ResourceArgument"] = resourceArgument };

    // The steps are the output: hosts log warnings only, and the MCP client's notes about optional methods the npm servers lack not at all.
    private static void Quiet(WebApplicationBuilder builder) =>
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("ModelContextProtocol", LogLevel.Error);

    private async Task<Uri> StartAsync(WebApplicationBuilder builder, Action<WebApplication> map, CancellationToken cancellationToken)
    {
        Quiet(builder);
        var app = builder.Build();
        map(app);
        return await StartAsync(app, cancellationToken);
    }

    private async Task<Uri> StartAsync(WebApplication app, CancellationToken cancellationToken)
    {
        _hosts.Add(app);
        await app.StartAsync(cancellationToken);
        return new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _hosts.Count - 1; i >= 0; i--)
        {
            try
            {
                await _hosts[i].StopAsync();
                await _hosts[i].DisposeAsync();
            }
            catch (Exception)
            {
                // best effort: the next host must still be stopped
            }
        }
        _hosts.Clear();
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { /* a server may still hold a file; the temporary directory is cleaned by the OS */ }
    }
}
