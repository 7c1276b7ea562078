using System.Net;
using System.Text.Json.Serialization;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Clustering.AzureStorage;
using RuntimeAuthz.Silo.Configuration;
using RuntimeAuthz.Silo.WebConsole;
using RuntimeAuthz.Silo.Health;
using RuntimeAuthz.Silo.Http;
using RuntimeAuthz.Silo.Security;
using RuntimeAuthz.Silo.Telemetry;
using RuntimeAuthz.Grains.Governance;
using RuntimeAuthz.Grains.Evidence;

namespace RuntimeAuthz.Silo;

/// <summary>Builds the silo process: an Orleans silo and the HTTP API in one ASP.NET Core host.</summary>
public static class SiloHost
{
    public const string DefaultUrl = "http://127.0.0.1:5080";
    public const string DevelopmentStorage = "UseDevelopmentStorage=true";

    /// <param name="configure">Applied after the defaults and before the host is built (tests add configuration or services here).</param>
    /// <remarks>
    /// Settings are bound to options classes and validated when the host starts (<c>ValidateOnStart</c>);
    /// <see cref="ClusteringOptions"/> already here, because the clustering provider decides what is registered.
    /// Every failure message names its configuration key.
    /// </remarks>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var config = builder.Configuration;

        if (string.IsNullOrWhiteSpace(config["urls"])) builder.WebHost.UseUrls(DefaultUrl);

        builder.Services.AddOptions<StorageOptions>().Bind(config.GetSection(StorageOptions.Section));
        if (builder.Environment.IsDevelopment())
        {
            builder.Services.PostConfigure<StorageOptions>(o => { if (!o.HasAccount) o.ConnectionString = DevelopmentStorage; });
        }
        builder.Services.AddOptions<EvidenceOptions>().Bind(config.GetSection(EvidenceOptions.Section));
        builder.Services.AddOptions<EvidenceCheckpointOptions>().Bind(config.GetSection(EvidenceCheckpointOptions.Section));
        if (builder.Environment.IsDevelopment()) builder.Services.AddDevelopmentCheckpointAccount();
        builder.Services.AddOptions<DelegationOptions>().Bind(config.GetSection(DelegationOptions.SectionName));
        builder.Services.AddOptions<RuntimeAuthz.Grains.Approvals.ApprovalOptions>().Bind(config.GetSection(RuntimeAuthz.Grains.Approvals.ApprovalOptions.Section));
        builder.Services.AddOptions<Http.PolicyTestOptions>().Bind(config.GetSection(Http.PolicyTestOptions.Section));
        var cluster = ClusteringOptions.Read(config);
        var tracing = builder.AddSiloTelemetry();
        var dashboard = config.GetSection(DashboardSettings.Section).Get<DashboardSettings>() ?? new DashboardSettings();

        // Registered before Orleans, so it runs first: a wrong key stops start-up naming the setting.
        builder.Services.AddHostedService<StorageAccessCheck>();
        builder.UseOrleans(silo =>
        {
            // Orleans has already applied its own Orleans:Clustering section (provider and its keys); what is ours is added here.
            silo.Configure<Orleans.Configuration.ClusterOptions>(o => { o.ClusterId = cluster.ClusterId; o.ServiceId = cluster.ServiceId; });
            if (cluster.UsesAzureTable)
            {
                // Orleans registered the provider; unless its section names an account, the membership table is in the grain
                // storage account, reached with that account's client (and credential).
                if (cluster.MembershipInStorageAccount)
                {
                    silo.Services.AddOptions<AzureStorageClusteringOptions>().Configure<TableServiceClient>((options, client) => options.TableServiceClient = client);
                }
                var address = cluster.AdvertisedAddress;
                silo.ConfigureEndpoints(address ?? IPAddress.Loopback, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: address is not null);
            }
            else
            {
                // Without the section Orleans registered nothing: Development, with this silo as the primary.
                if (!config.GetSection(ClusteringOptions.ClusteringSection).Exists()) silo.UseDevelopmentClustering(primarySiloEndpoint: null);
                silo.ConfigureEndpoints(IPAddress.Loopback, cluster.SiloPort, cluster.GatewayPort);
            }
            silo.UseClusterSecurity(config);
            silo.AddRuntimeAuthz();
            silo.TuneMembershipForFastFailover();
            silo.AddSiloTelemetry(tracing, dashboard);
        });

        builder.Services.AddHostedService<ExampleSeeder>();
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = Problems.HideInternals);
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        builder.Services.AddReadinessChecks();
        builder.Services.AddHealthChecks().AddCheck<CheckpointHealthCheck>("evidence-checkpoints", tags: ["ready"]);
        builder.Services.AddCallerAuthentication(config);
        builder.Services.AddCallerRateLimiting(config);
        builder.Services.AddSingleton<PublicAddress>();
        builder.Services.AddSingleton<Http.FailClosedDecider>();
        builder.Services.AddOptions<AuthZenOptions>().Bind(config.GetSection(AuthZenOptions.Section));
        builder.Services.AddSingleton<Http.OnBehalfOfDecisions>();
        builder.Services.AddWebConsole(config);
        builder.Services.AddApiReference();
        PublicAddress.Validate(config);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<ApiErrorMiddleware>();
        // Authenticated before limiting, so the limit is per caller; authorized after, so a flood of refused calls is limited too.
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        // After authorization: a caller refused there never has its body read.
        app.UseMiddleware<JsonInputGuard>();
        app.MapHealthChecks("/health/live", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = _ => false }).AllowAnonymous()
            .DescribeMiddleware("HealthLive", "Liveness: the process answers", ApiReference.Text(StatusCodes.Status200OK));
        app.MapHealthChecks("/health/ready", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") }).AllowAnonymous()
            .DescribeMiddleware("HealthReady", "Readiness: cluster, storage and evidence reachable",
                ApiReference.Text(StatusCodes.Status200OK), ApiReference.Text(StatusCodes.Status503ServiceUnavailable));
        app.MapIdentityEndpoints();
        app.MapAuthZenEndpoints();
        app.MapAgentEndpoints();
        app.MapFleetEndpoints();
        app.MapGovernanceEndpoints();
        app.MapSessionEndpoints();
        app.MapSessionSearchEndpoints();
        app.MapPolicyEndpoints();
        app.MapShadowEndpoints();
        app.MapWhatIfEndpoints();
        app.MapEvidenceEndpoints();
        app.MapApprovalEndpoints();
        app.MapCatalogEndpoints();
        app.MapEntityEndpoints();
        app.MapRevocationPreviewEndpoints();
        app.MapWebConsole();
        app.MapSiloTelemetry(dashboard);
        app.MapApiReference();
        return app;
    }
}

/// <summary>One line for a failed start-up (no stack trace, no secrets: our messages name keys, never values of secrets).</summary>
public static class StartupFailure
{
    public static string Describe(Exception exception) => exception switch
    {
        AggregateException { InnerExceptions.Count: 1 } single => Describe(single.InnerExceptions[0]),
        AggregateException many => string.Join("; ", many.InnerExceptions.Select(Describe)),
        OptionsValidationException or InvalidOperationException => FirstLine(exception.Message),
        _ => $"{FirstLine(exception.Message)} ({exception.GetType().Name})",
    };

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
