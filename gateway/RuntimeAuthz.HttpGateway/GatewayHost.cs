using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Bearer;
using Yarp.ReverseProxy.Transforms;

namespace RuntimeAuthz.HttpGateway;

/// <summary>Builds the gateway host: agent authentication, the configured routes as YARP routes, the enforcement step in YARP's pipeline, and refusal of everything unrouted.</summary>
public static class GatewayHost
{
    /// <summary>The authorization policy of routed calls: a valid agent token.</summary>
    public const string AgentPolicy = "agent";

    /// <summary>Metadata key on each YARP route naming the gateway route it came from.</summary>
    public const string RouteMetadataKey = "RuntimeAuthz.Route";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        var section = builder.Configuration.GetSection(GatewayOptions.Section);
        builder.Services.AddOptions<GatewayOptions>().Bind(section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RouteTable>();
        builder.Services.AddClusterEnforcement();
        builder.Services.AddProblemDetails();

        var settings = section.Get<GatewayOptions>() ?? new GatewayOptions();
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(_ => { });
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IOptions<GatewayOptions>>((o, gateway) =>
        {
            var auth = gateway.Value.Authentication;
            o.Authority = auth.Authority?.TrimEnd('/');
            o.RequireHttpsMetadata = auth.RequireHttpsMetadata;
            o.RefreshOnIssuerKeyNotFound = true;
            BearerTokens.RequireValidToken(o, auth.Audience, auth.ClockSkewSeconds, auth.SubjectClaim, GatewayProblems.WriteUnauthorizedAsync);
        });
        builder.Services.AddAuthorization(o => o.AddPolicy(AgentPolicy, p => p.RequireAuthenticatedUser()));
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, GatewayProblems.ForbiddenAsProblem>();

        builder.Services.AddReverseProxy()
            .LoadFromMemory(RouteTable.ProxyRoutes(settings), RouteTable.ProxyClusters(settings))
            .AddTransforms(transforms =>
            {
                // The agent's token is for the gateway and the cluster, never for the upstream; nor are the gateway's own headers.
                transforms.AddRequestHeaderRemove("Authorization");
                transforms.AddRequestHeaderRemove(GatewayHeaders.Session);
            });

        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapReverseProxy(proxy => proxy.UseMiddleware<CallEnforcementMiddleware>()).RequireAuthorization(AgentPolicy);
        app.MapFallback(GatewayProblems.NotRouted);
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            app.Services.GetRequiredService<GatewaySessions>().CloseAllAsync(grace.Token).GetAwaiter().GetResult();
        });
        return app;
    }
}

/// <summary>Request headers the gateway reads (and never forwards).</summary>
public static class GatewayHeaders
{
    /// <summary>Optional: a label that keeps one agent's workflows in separate authorization sessions.</summary>
    public const string Session = "X-Authz-Session";
}
