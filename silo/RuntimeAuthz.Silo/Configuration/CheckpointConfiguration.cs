using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Grains.Evidence;

namespace RuntimeAuthz.Silo.Configuration;

public static class CheckpointConfiguration
{
    /// <summary>Development only: checkpoints go to their own table in the grain storage account unless configured.</summary>
    public static IServiceCollection AddDevelopmentCheckpointAccount(this IServiceCollection services) =>
        services.AddSingleton<IPostConfigureOptions<EvidenceCheckpointOptions>>(sp => new PostConfigureOptions<EvidenceCheckpointOptions, IOptions<StorageOptions>>(
            Options.DefaultName, sp.GetRequiredService<IOptions<StorageOptions>>(), (checkpoints, storage) =>
            {
                if (checkpoints.HasAccount) return;
                checkpoints.ConnectionString = storage.Value.ConnectionString;
                checkpoints.ServiceUri = storage.Value.ServiceUri;
                checkpoints.Credential = storage.Value.Credential;
            }));
}

/// <summary>
/// Degraded (still ready: records are durable in the evidence table and decisions go on) while the
/// checkpoint store fails or is not configured; healthy once checkpoints are written.
/// </summary>
public sealed class CheckpointHealthCheck(EvidenceCheckpointer checkpointer) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) => Task.FromResult(
        !checkpointer.Enabled ? HealthCheckResult.Degraded($"{EvidenceCheckpointOptions.Section} is not configured: evidence chains are not anchored outside their table")
        : checkpointer.Failure is { } failure ? HealthCheckResult.Degraded($"evidence checkpoints are not being written: {failure}")
        : HealthCheckResult.Healthy($"{checkpointer.CheckpointsWritten} checkpoints written by {checkpointer.Writer}"));
}
