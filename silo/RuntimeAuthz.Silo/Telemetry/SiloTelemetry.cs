using Orleans.Dashboard;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RuntimeAuthz.Grains.Telemetry;
using RuntimeAuthz.Silo.Http;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Telemetry;

/// <summary>The <c>Telemetry</c> section (docs/configuration.md). OTLP itself is configured by the standard <c>OTEL_*</c> settings.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Record traces; unset: only when <see cref="SiloTelemetry.OtlpEndpointKey"/> is set (nobody else would read them).</summary>
    public bool? Tracing { get; set; }

    /// <summary>With tracing on: spans for the evidence store's requests too (the Azure SDK's <c>Azure.*</c> sources).</summary>
    public bool StorageSpans { get; set; } = true;

    /// <summary>Serve the Prometheus scrape endpoint <c>/metrics</c>.</summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>Let anyone scrape <c>/metrics</c> (a private scrape network); otherwise it needs <c>metrics:read</c>.</summary>
    public bool PrometheusAnonymous { get; set; }
}

/// <summary>The <c>Dashboard</c> section: the Orleans Dashboard at <c>/dashboard</c>, for admins only.</summary>
public sealed class DashboardSettings
{
    public const string Section = "Dashboard";
    public const string Path = "/dashboard";

    /// <summary>Off by default: it adds a profiling filter to every grain call and can show any grain's state.</summary>
    public bool Enabled { get; set; }

    /// <summary>The dashboard's live log stream; hidden unless asked for.</summary>
    public bool ShowLogStream { get; set; }
}

/// <summary>Whether the evidence client should emit Azure SDK spans (decided once, from <see cref="TelemetryOptions"/>).</summary>
public sealed record StorageTracing(bool Enabled);

/// <summary>
/// OpenTelemetry for the silo: metrics always (our meter, Orleans', ASP.NET Core's, the runtime's; Prometheus and/or OTLP),
/// traces only when someone reads them (HTTP request, Orleans grain calls with activity propagation, Orleans storage,
/// our evidence append and, optionally, its Azure SDK requests).
/// </summary>
public static class SiloTelemetry
{
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ServiceNameKey = "OTEL_SERVICE_NAME";
    public const string DefaultServiceName = "runtimeauthz-silo";
    public const string ScrapePath = "/metrics";
    /// <summary>Azure.Core reads it once: its <c>Azure.*</c> ActivitySources exist only with this switch on.</summary>
    private const string AzureActivitySourceSwitch = "Azure.Experimental.EnableActivitySource";

    /// <summary>Traces of these paths are noise (scrapes and probes every few seconds).</summary>
    private static readonly string[] UntracedPaths = [ScrapePath, "/health", DashboardSettings.Path];

    public static readonly IReadOnlyList<string> OrleansActivitySources =
    [
        Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName,
        Orleans.Diagnostics.ActivitySources.LifecycleActivitySourceName,
        Orleans.Diagnostics.ActivitySources.StorageActivitySourceName,
    ];

    /// <summary>Orleans' own meter.</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    /// <returns>Whether traces are recorded (the silo then propagates activities through grain calls).</returns>
    public static bool AddSiloTelemetry(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var settings = config.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        builder.Services.AddSingleton(settings);
        var otlp = !string.IsNullOrWhiteSpace(config[OtlpEndpointKey]);
        // Checked here: the exporter would fail later, inside the telemetry host, without naming the setting.
        if (otlp && !(Uri.TryCreate(config[OtlpEndpointKey], UriKind.Absolute, out var endpoint) && endpoint.Scheme is "http" or "https"))
            throw new InvalidOperationException($"{OtlpEndpointKey} must be an absolute http or https URI (the collector's OTLP endpoint)");
        var tracing = settings.Tracing ?? otlp;
        var storageSpans = tracing && settings.StorageSpans;
        if (storageSpans) AppContext.SetSwitch(AzureActivitySourceSwitch, true);
        builder.Services.AddSingleton(new StorageTracing(storageSpans));

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME (and OTEL_RESOURCE_ATTRIBUTES) win when set.
                if (string.IsNullOrWhiteSpace(config[ServiceNameKey])) resource.AddService(DefaultServiceName);
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(AuthzMetrics.Name, OrleansMeter).AddAspNetCoreInstrumentation().AddRuntimeInstrumentation();
                if (settings.Prometheus) metrics.AddPrometheusExporter();
            });
        if (tracing)
        {
            telemetry.WithTracing(traces =>
            {
                traces.AddSource(AuthzMetrics.Name).AddSource([.. OrleansActivitySources]);
                if (storageSpans) traces.AddSource("Azure.*");
                // No request or response bodies, headers or exceptions are recorded; query strings are redacted by the instrumentation.
                traces.AddAspNetCoreInstrumentation(o => o.Filter = context => !UntracedPaths.Any(p => context.Request.Path.StartsWithSegments(p)));
            });
        }
        // Exporter endpoint, protocol, headers, timeouts: all from the standard OTEL_EXPORTER_OTLP_* settings.
        if (otlp) telemetry.UseOtlpExporter();
        return tracing;
    }

    /// <summary>The Orleans side: activity propagation through grain calls when tracing, the dashboard when enabled.</summary>
    public static void AddSiloTelemetry(this ISiloBuilder silo, bool tracing, DashboardSettings dashboard)
    {
        if (tracing) silo.AddActivityPropagation();
        if (dashboard.Enabled) silo.AddDashboard(o => o.HideTrace = !dashboard.ShowLogStream);
    }

    /// <summary>Maps <c>/metrics</c> (when on) and the dashboard (when enabled, admins only).</summary>
    public static void MapSiloTelemetry(this WebApplication app, DashboardSettings dashboard)
    {
        var settings = app.Services.GetRequiredService<TelemetryOptions>();
        if (settings.Prometheus)
        {
            var scrape = app.MapPrometheusScrapingEndpoint(ScrapePath).DescribeMiddleware("ScrapeMetrics", "Prometheus scrape of the silo's metrics (text exposition format)",
                ApiReference.Text(StatusCodes.Status200OK), ApiReference.Problem(StatusCodes.Status401Unauthorized), ApiReference.Problem(StatusCodes.Status403Forbidden));
            if (settings.PrometheusAnonymous) scrape.AllowAnonymous();
            else scrape.RequirePermission(Permissions.MetricsRead);
        }
        if (dashboard.Enabled)
        {
            app.MapOrleansDashboard(DashboardSettings.Path).RequirePermission(Permissions.DashboardView).ExcludeFromDescription();
        }
    }
}
