using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using RuntimeAuthz.Client;
using RuntimeAuthz.Enforcement;

namespace RuntimeAuthz.McpGateway;

/// <summary>
/// The gateway host: upstream, one Streamable HTTP endpoint (<see cref="GatewayOptions.Path"/>, agents' bearer tokens only)
/// offering every downstream tool under <c>&lt;server&gt;.&lt;tool&gt;</c>; one cluster session per MCP session; every
/// tools/call decided first. <c>GET /health/live</c> is anonymous; nothing else is served.
/// </summary>
public static class GatewayHost
{
    public const string ClusterHttpClient = "cluster";
    private const string SessionItem = "runtimeauthz.enforcement-session";

    /// <summary>Builds the host; throws <see cref="GatewayConfigurationException"/> naming every configuration problem.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (builder.Configuration["config"] is { } file)
        {
            if (!File.Exists(file)) throw new GatewayConfigurationException($"gateway configuration: --config '{file}' does not exist");
            try
            {
                builder.Configuration.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
                // The environment and the command line still override the file.
                builder.Configuration.AddEnvironmentVariables();
                builder.Configuration.AddCommandLine(args);
            }
            catch (InvalidDataException bad)
            {
                throw new GatewayConfigurationException($"gateway configuration: '{file}' is not valid JSON: {bad.InnerException?.Message ?? bad.Message}");
            }
        }
        GatewayOptions options;
        try
        {
            options = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        }
        catch (InvalidOperationException bad)
        {
            throw new GatewayConfigurationException($"gateway configuration: {bad.Message}");
        }
        GatewayOptionsValidation.Validated(options);
        builder.Services.AddSingleton(Options.Create(options));
        configure?.Invoke(builder);
        AddServices(builder.Services, options);

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/health/live", () => Results.Text("live")).AllowAnonymous();
        app.MapMcp(options.Path).RequireAuthorization(ClusterTokenAuthentication.AgentPolicy);
        return app;
    }

    private static void AddServices(IServiceCollection services, GatewayOptions options)
    {
        var clusterUrl = new Uri(options.Cluster.Url!.TrimEnd('/') + "/");
        var decisionTimeout = TimeSpan.FromSeconds(options.DecisionTimeoutSeconds);
        services.TryAddSingletonTimeProvider();
        services.AddMemoryCache();
        services.AddHttpClient(ClusterHttpClient, http =>
        {
            http.BaseAddress = clusterUrl;
            // Above one approval long-poll step plus a decision's own bound, so the enforcer's timeouts decide.
            http.Timeout = EnforcementOptions.MaxWaitPerRequest + decisionTimeout + TimeSpan.FromSeconds(5);
        });
        services.AddSingleton<IAccessTokenSource>(sp => TokenSource(options.Cluster, clusterUrl, sp.GetRequiredService<IHttpClientFactory>()));
        services.AddSingleton(sp => new AuthzClient(sp.GetRequiredService<IHttpClientFactory>().CreateClient(ClusterHttpClient), sp.GetRequiredService<IAccessTokenSource>()));
        services.AddSingleton<IAuthorizationBackend>(sp => new AuthzClientBackend(sp.GetRequiredService<AuthzClient>()));
        services.AddSingleton(sp => new AuthorizationEnforcer(sp.GetRequiredService<IAuthorizationBackend>(),
            new EnforcementOptions { ApprovalWait = TimeSpan.FromSeconds(options.ApprovalWaitSeconds), DecisionTimeout = decisionTimeout },
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<AuthorizationEnforcer>>()));
        services.AddSingleton<DownstreamServers>();
        services.AddHostedService(sp => sp.GetRequiredService<DownstreamServers>());
        services.AddHostedService<TrustedAnnotations>();
        services.AddSingleton<CallableTools>();
        services.AddSingleton<ToolCallGate>();

        services.AddAuthentication(ClusterTokenAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ClusterTokenAuthentication>(ClusterTokenAuthentication.SchemeName, _ => { });
        services.AddAuthorizationBuilder()
            .AddPolicy(ClusterTokenAuthentication.AgentPolicy, p => p.RequireAuthenticatedUser().RequireClaim(ClusterTokenAuthentication.AgentIdClaim))
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());

        services.AddMcpServer(o =>
            {
                o.ServerInfo = new Implementation { Name = "runtimeauthz-mcp-gateway", Version = "1.0" };
                o.Capabilities = new ServerCapabilities { Tools = new ToolsCapability() };
            })
            .WithHttpTransport(transport =>
            {
                // One authorization session per MCP session, so the session's history and risk span the client's calls.
                transport.SessionMode = HttpServerSessionMode.Stateful;
                transport.ConfigureSessionOptions = (http, server, _) =>
                {
                    var agentId = http.User.FindFirst(ClusterTokenAuthentication.AgentIdClaim)?.Value
                        ?? throw new InvalidOperationException("an MCP session without an authenticated agent");
                    var services = http.RequestServices;
                    var session = services.GetRequiredService<AuthorizationEnforcer>().CreateSession(agentId);
                    var gate = services.GetRequiredService<ToolCallGate>();
                    http.Items[SessionItem] = session;
                    server.Handlers.ListToolsHandler = (request, ct) => gate.ListToolsAsync(session, ct);
                    server.Handlers.CallToolHandler = (request, ct) => gate.CallToolAsync(session, request.Params, ct);
                    return Task.CompletedTask;
                };
#pragma warning disable MCPEXP002 // RunSessionHandler is experimental; it is the one place that sees an MCP session end.
                transport.RunSessionHandler = async (http, server, ct) =>
                {
                    var session = http.Items[SessionItem] as EnforcementSession;
                    var enforcer = http.RequestServices.GetRequiredService<AuthorizationEnforcer>();
                    try
                    {
                        await server.RunAsync(ct);
                    }
                    finally
                    {
                        if (session is not null) await enforcer.CloseSessionAsync(session, "MCP session ended", CancellationToken.None);
                    }
                };
#pragma warning restore MCPEXP002
            });
    }

    private static IAccessTokenSource TokenSource(ClusterOptions cluster, Uri clusterUrl, IHttpClientFactory http)
    {
        if (cluster.DevelopmentIdentity is { } who)
            return new DevelopmentTokenSource(http.CreateClient(ClusterHttpClient), clusterUrl, DevelopmentIdentity.Parse(who));
        var token = File.ReadAllText(cluster.TokenFile!).Trim();
        return token.Length == 0
            ? throw new GatewayConfigurationException($"gateway configuration: Gateway:Cluster:TokenFile '{cluster.TokenFile}' is empty")
            : new StaticTokenSource(token);
    }

    private static void TryAddSingletonTimeProvider(this IServiceCollection services)
    {
        if (services.All(d => d.ServiceType != typeof(TimeProvider))) services.AddSingleton(TimeProvider.System);
    }

}
