using System.Net;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Silo.Http;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo;

/// <summary>Builds the silo process: an Orleans silo and the HTTP API in one ASP.NET Core host.</summary>
public static class SiloHost
{
    public const string DefaultUrl = "http://127.0.0.1:5080";
    public const string DevelopmentStorage = "UseDevelopmentStorage=true";

    /// <param name="configure">Applied after the defaults and before the host is built (tests add configuration or services here).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var config = builder.Configuration;

        if (string.IsNullOrWhiteSpace(config["urls"])) builder.WebHost.UseUrls(DefaultUrl);

        var connectionString = config["Storage:ConnectionString"];
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            connectionString = builder.Environment.IsDevelopment()
                ? DevelopmentStorage
                : throw new InvalidOperationException(
                    "Storage:ConnectionString is required outside Development (an Azure Storage connection string; " +
                    "set it with the environment variable Storage__ConnectionString or --Storage:ConnectionString=...).");
        }
        var grainTable = config["Storage:GrainStateTable"] is { Length: > 0 } table ? table : SiloConfiguration.DefaultGrainStateTable;

        var clustering = config["Orleans:Clustering"] is { Length: > 0 } c ? c : "Localhost";
        var clusterId = config["Orleans:ClusterId"] is { Length: > 0 } cid ? cid : "runtimeauthz-dev";
        var serviceId = config["Orleans:ServiceId"] is { Length: > 0 } sid ? sid : "runtimeauthz";
        var siloPort = config.GetValue("Orleans:SiloPort", 11111);
        var gatewayPort = config.GetValue("Orleans:GatewayPort", 30000);
        var advertised = config["Orleans:AdvertisedIPAddress"];

        // Orleans itself reads an "Orleans:Clustering" section (expecting a ProviderType child);
        // our key is a plain value that we apply below, so hide it from Orleans' own provider setup.
        config["Orleans:Clustering"] = null;

        builder.UseOrleans(silo =>
        {
            if (string.Equals(clustering, "Localhost", StringComparison.OrdinalIgnoreCase))
            {
                silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: serviceId, clusterId: clusterId);
            }
            else if (string.Equals(clustering, "AzureTable", StringComparison.OrdinalIgnoreCase))
            {
                silo.Configure<Orleans.Configuration.ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = serviceId; });
                silo.UseAzureStorageClustering(o => o.TableServiceClient = new Azure.Data.Tables.TableServiceClient(connectionString));
                var address = string.IsNullOrWhiteSpace(advertised)
                    ? null
                    : IPAddress.TryParse(advertised, out var ip) ? ip
                    : throw new InvalidOperationException($"Orleans:AdvertisedIPAddress '{advertised}' is not an IP address");
                silo.ConfigureEndpoints(address ?? IPAddress.Loopback, siloPort, gatewayPort, listenOnAnyHostAddress: address is not null);
            }
            else
            {
                throw new InvalidOperationException($"Orleans:Clustering must be Localhost or AzureTable, not '{clustering}'");
            }
            silo.UseClusterSecurity(config);
            silo.AddRuntimeAuthz(connectionString, grainTable);
            silo.TuneMembershipForFastFailover();
        });

        builder.Services.Configure<EvidenceOptions>(config.GetSection(EvidenceOptions.Section));
        builder.Services.Configure<DelegationOptions>(config.GetSection(DelegationOptions.SectionName));
        builder.Services.Configure<RuntimeAuthz.Grains.Approvals.ApprovalOptions>(config.GetSection(RuntimeAuthz.Grains.Approvals.ApprovalOptions.Section));
        builder.Services.AddHostedService<ExampleSeeder>();
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = Problems.HideInternals);
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        builder.Services.AddHealthChecks().AddCheck<PolicyCacheHealthCheck>("policy-cache", tags: ["ready"]);
        builder.Services.AddCallerAuthentication(config);
        builder.Services.AddCallerRateLimiting(config);
        builder.Services.AddSingleton<PublicAddress>();
        PublicAddress.Validate(config);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<ApiErrorMiddleware>();
        // Authenticated before limiting, so the limit is per caller; authorized after, so a flood of refused calls is limited too.
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.MapHealthChecks("/health/live", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") }).AllowAnonymous();
        app.MapIdentityEndpoints();
        app.MapAuthZenEndpoints();
        app.MapAgentEndpoints();
        app.MapGovernanceEndpoints();
        app.MapSessionEndpoints();
        app.MapPolicyEndpoints();
        app.MapEvidenceEndpoints();
        app.MapApprovalEndpoints();
        app.MapCatalogEndpoints();
        return app;
    }
}

/// <summary>Ready once this silo's policy cache has synchronized with the policy grain (loaded, or known empty).</summary>
public sealed class PolicyCacheHealthCheck(PolicyCache cache) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(cache.IsSynchronized
            ? HealthCheckResult.Healthy($"policy version {cache.Version}")
            : HealthCheckResult.Unhealthy("the policy cache has not synchronized with the cluster yet"));
}
