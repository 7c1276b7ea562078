using Microsoft.Extensions.Options;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace RuntimeAuthz.McpGateway;

/// <summary>A downstream tool as the gateway exposes it: <see cref="Name"/> is <c>&lt;server&gt;.&lt;tool&gt;</c>.</summary>
public sealed record GatewayTool(string Name, string Server, Tool Original, ToolMapping Mapping, McpClient Client)
{
    /// <summary>The tool as listed upstream: the downstream description, schemas and annotations under the namespaced name.</summary>
    public Tool Upstream { get; } = new()
    {
        Name = Name,
        Title = Original.Title,
        Description = Original.Description,
        InputSchema = Original.InputSchema,
        OutputSchema = Original.OutputSchema,
        Annotations = Original.Annotations,
    };
}

/// <summary>
/// The downstream MCP servers: connected (stdio processes started, HTTP endpoints initialized) and their tools listed when
/// the gateway starts, so a broken server entry stops the gateway with a message naming it rather than failing calls later.
/// One connection per server, shared by every upstream session.
/// </summary>
public sealed class DownstreamServers(IOptions<GatewayOptions> options, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(60);
    private readonly List<McpClient> _clients = [];
    private readonly ILogger _logger = loggers.CreateLogger<DownstreamServers>();
    private Dictionary<string, GatewayTool> _tools = new(StringComparer.Ordinal);

    /// <summary>Every tool by its namespaced name (empty before start).</summary>
    public IReadOnlyDictionary<string, GatewayTool> Tools => _tools;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var tools = new Dictionary<string, GatewayTool>(StringComparer.Ordinal);
        foreach (var (name, server) in options.Value.Servers)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ConnectTimeout);
            McpClient client;
            IList<McpClientTool> listed;
            try
            {
                client = await McpClient.CreateAsync(Transport(name, server), new McpClientOptions
                {
                    ClientInfo = new Implementation { Name = "runtimeauthz-mcp-gateway", Version = "1.0" },
                }, loggers, timeout.Token);
                _clients.Add(client);
                listed = await client.ListToolsAsync(cancellationToken: timeout.Token);
            }
            catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var how = server.Url is { } url ? $"Streamable HTTP at {url}" : $"stdio command '{server.Command}'";
                throw new GatewayConfigurationException($"downstream server '{name}' ({how}) could not be used: {Describe(exception)}");
            }
            foreach (var tool in listed)
            {
                var original = tool.ProtocolTool;
                var mapping = ToolMapping.For(name, server, original.Name);
                var exposed = new GatewayTool($"{name}.{original.Name}", name, original, mapping, client);
                if (!tools.TryAdd(exposed.Name, exposed))
                    throw new GatewayConfigurationException($"two downstream tools are both exposed as '{exposed.Name}'");
            }
            _logger.LogInformation("Downstream server {Server}: {Count} tools", name, listed.Count);
        }
        _tools = tools;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            try { await client.DisposeAsync(); }
            catch (Exception exception) { _logger.LogWarning(exception, "Closing a downstream MCP connection failed"); }
        }
        _clients.Clear();
    }

    private IClientTransport Transport(string name, DownstreamServerOptions server) => server.Url is { } url
        ? new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(url), Name = name, TransportMode = HttpTransportMode.StreamableHttp,
        }, loggers)
        : new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = server.Command!, Arguments = server.Arguments, Name = name,
            WorkingDirectory = server.WorkingDirectory,
            EnvironmentVariables = server.Environment.ToDictionary(p => p.Key, p => (string?)p.Value, StringComparer.Ordinal),
            StandardErrorLines = line => _logger.LogDebug("{Server} stderr: {Line}", name, line),
        }, loggers);

    private static string Describe(Exception exception) => exception switch
    {
        OperationCanceledException => $"no answer within {ConnectTimeout.TotalSeconds:0} s",
        _ => exception.GetBaseException().Message,
    };
}
