using Azure.Data.Tables;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Evidence;

namespace RuntimeAuthz.Silo.Health;

/// <summary>
/// <c>/health/ready</c> says whether this silo can answer anything but deny: its policy cache is current and its
/// evidence store answers (no evidence, no allow). <c>/health/live</c> checks neither, so a silo waiting for storage
/// is taken out of rotation, not restarted.
/// </summary>
public static class ReadinessChecks
{
    public const string Tag = "ready";

    public static IServiceCollection AddReadinessChecks(this IServiceCollection services)
    {
        services.AddSingleton<EvidenceStoreProbe>();
        services.AddHostedService(sp => sp.GetRequiredService<EvidenceStoreProbe>());
        services.AddHealthChecks()
            .AddCheck<PolicyCacheHealthCheck>("policy-cache", tags: [Tag])
            .AddCheck<EvidenceStoreProbe>("evidence-store", tags: [Tag]);
        return services;
    }
}

/// <summary>Ready once this silo's policy cache has synchronized with the policy grain, and while it keeps hearing from it.</summary>
public sealed class PolicyCacheHealthCheck(PolicyCache cache, TimeProvider time) : IHealthCheck
{
    /// <summary>Three missed polls: the cache may be behind a publish or a rollback.</summary>
    public static readonly TimeSpan StaleAfter = PolicyCacheService.PollInterval * 3;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!cache.IsSynchronized)
            return Task.FromResult(HealthCheckResult.Unhealthy("the policy cache has not synchronized with the cluster yet"));
        var silence = cache.ConfirmedAt is { } confirmed ? time.GetUtcNow() - confirmed : TimeSpan.Zero;
        return Task.FromResult(silence > StaleAfter
            ? HealthCheckResult.Unhealthy($"the policy cache (version {cache.Version}) has not heard from the policy grain for {silence.TotalSeconds:0} s")
            : HealthCheckResult.Healthy($"policy version {cache.Version}"));
    }
}

/// <summary>
/// Asks the evidence table for one (absent) row every second, with a short timeout, on the fail-fast evidence
/// client: while storage is stopped, stalled or refusing the credentials, no decision can be recorded, so none
/// can be allowed. The check reads the latest probe's outcome (a readiness request never waits on storage).
/// </summary>
public sealed class EvidenceStoreProbe(IServiceProvider services, TimeProvider time, ILogger<EvidenceStoreProbe> logger) : BackgroundService, IHealthCheck
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);
    private const string ProbePartition = "~readiness-probe";

    private volatile string? failure = "the evidence store has not been probed yet";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(failure is { } problem ? HealthCheckResult.Unhealthy(problem) : HealthCheckResult.Healthy("the evidence store answers"));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Resolved here, not in the constructor: hosted services are built before options are validated, and
        // resolving the client would report one invalid setting instead of all of them.
        var table = services.GetRequiredKeyedService<TableServiceClient>(EvidenceServices.TableClientKey)
            .GetTableClient(services.GetRequiredService<IOptions<EvidenceOptions>>().Value.Table);
        while (!stoppingToken.IsCancellationRequested)
        {
            using (var limit = new CancellationTokenSource(Timeout, time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, limit.Token))
            {
                try
                {
                    await table.GetEntityIfExistsAsync<TableEntity>(ProbePartition, "probe", select: ["PartitionKey"], cancellationToken: linked.Token);
                    if (failure is not null) logger.LogInformation("Evidence store answers again: ready");
                    failure = null;
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    var why = limit.IsCancellationRequested ? $"did not answer within {Timeout.TotalSeconds:0} s" : $"failed ({ex.GetType().Name})";
                    if (failure is null) logger.LogWarning(ex, "Evidence store {Why}: not ready", why);
                    failure = $"the evidence store {why}: decisions can only be denied";
                }
            }
            try
            {
                await Task.Delay(Interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
