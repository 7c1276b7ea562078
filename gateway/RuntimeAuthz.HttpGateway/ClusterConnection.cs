using Microsoft.Extensions.Options;
using RuntimeAuthz.Client;
using RuntimeAuthz.Enforcement;

namespace RuntimeAuthz.HttpGateway;

/// <summary>The gateway's side of the cluster: an SDK client with the gateway's own enforcement-point credentials, and the shared enforcer over it.</summary>
public static class ClusterConnection
{
    public static IServiceCollection AddClusterEnforcement(this IServiceCollection services)
    {
        services.AddSingleton(provider =>
        {
            var cluster = provider.GetRequiredService<IOptions<GatewayOptions>>().Value.Cluster;
            // Approval waits long-poll up to MaxWaitPerRequest; the HTTP timeout must outlast one such request.
            var http = new HttpClient
            {
                BaseAddress = new Uri(cluster.Url!.TrimEnd('/') + "/"),
                Timeout = EnforcementOptions.MaxWaitPerRequest + TimeSpan.FromSeconds(cluster.TimeoutSeconds + 5),
            };
            return new AuthzClient(http, TokenSource(cluster, http));
        });
        services.AddSingleton<IAuthorizationBackend>(provider => new AuthzClientBackend(provider.GetRequiredService<AuthzClient>()));
        services.AddSingleton(provider =>
        {
            var settings = provider.GetRequiredService<IOptions<GatewayOptions>>().Value;
            return new AuthorizationEnforcer(provider.GetRequiredService<IAuthorizationBackend>(), new EnforcementOptions
            {
                ApprovalWait = TimeSpan.FromSeconds(settings.ApprovalWaitSeconds),
                DecisionTimeout = TimeSpan.FromSeconds(settings.Cluster.TimeoutSeconds),
                OutcomeTimeout = TimeSpan.FromSeconds(settings.Cluster.TimeoutSeconds),
            }, provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<AuthorizationEnforcer>>());
        });
        services.AddSingleton<GatewaySessions>();
        return services;
    }

    /// <summary>The gateway's credentials at the cluster: client credentials at an issuer, or a token from a file (secrets never inline in configuration).</summary>
    private static IAccessTokenSource TokenSource(GatewayOptions.ClusterSettings cluster, HttpClient http) => cluster.TokenFile is { } tokenFile
        ? new StaticTokenSource(File.ReadAllText(tokenFile))
        : new ClientCredentialsTokenSource(http, new Uri(cluster.Issuer!), cluster.ClientId!, File.ReadAllText(cluster.ClientSecretFile!).Trim());
}
