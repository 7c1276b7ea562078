using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Grains.Evidence;

/// <summary>
/// Logs, when the host stops, how many evidence records went out in how many storage requests:
/// how well group commit batched (benchmarks read it from the silo's log).
/// </summary>
/// <remarks>The store is looked up only when stopping: resolving it at start would read the evidence options before the host validates them all at once.</remarks>
public sealed partial class EvidenceStatisticsLog(IServiceProvider services, ILogger<EvidenceStatisticsLog> logger) : IHostedService
{
    public const string Marker = "Evidence appends:";

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (services.GetService<IEvidenceStore>() is AzureTableEvidenceStore table && table.AppendStatistics is { Requests: > 0 } statistics)
            LogStatistics(statistics.Entries, statistics.Requests, (double)statistics.Entries / statistics.Requests);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = Marker + " {Records} records in {Requests} storage requests, {RecordsPerRequest:0.00} records per request")]
    private partial void LogStatistics(long records, long requests, double recordsPerRequest);
}
