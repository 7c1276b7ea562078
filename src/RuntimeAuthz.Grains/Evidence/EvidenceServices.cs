using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Governance;

namespace RuntimeAuthz.Grains.Evidence;

public static class EvidenceServices
{
    /// <summary>Service key of the <see cref="TableServiceClient"/> of the evidence account (built with <see cref="AzureTableEvidenceStore.CreateClientOptions"/>).</summary>
    public const string TableClientKey = "evidence";

    /// <summary>
    /// Evidence for decisions and governance events: the Azure Table store on the keyed
    /// <see cref="TableServiceClient"/> <see cref="TableClientKey"/> (unless an <see cref="IEvidenceStore"/>
    /// is registered), the recorder, and the governance event sink. <see cref="EvidenceOptions"/> are validated at start.
    /// </summary>
    public static IServiceCollection AddRuntimeAuthzEvidence(this IServiceCollection services)
    {
        services.AddOptions<EvidenceOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EvidenceOptions>, EvidenceOptionsValidator>());
        services.TryAddSingleton<IEvidenceStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EvidenceOptions>>().Value;
            var metrics = sp.GetRequiredService<Telemetry.AuthzMetrics>();
            return new AzureTableEvidenceStore(sp.GetRequiredKeyedService<TableServiceClient>(TableClientKey), options.Table, options.SessionPartitions)
            {
                AppendRequestSent = metrics.EvidenceBatchSent,
                RequestsInFlightPerPartition = options.RequestsInFlightPerPartition,
                BatchWhileBusy = options.BatchWhileBusy,
            };
        });
        services.AddSingleton<EvidenceRecorder>();
        services.AddHostedService<EvidenceStatisticsLog>();
        services.AddEvidenceCheckpoints();
        // Replaces the logging-only default sink.
        services.AddSingleton<IGovernanceEventSink, EvidenceGovernanceEventSink>();
        return services;
    }
}
