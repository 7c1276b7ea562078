using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Grains;

public static class EvidenceServices
{
    /// <summary>
    /// Evidence for decisions and governance events: the Azure Table store (unless an
    /// <see cref="IEvidenceStore"/> is registered), the recorder, and the governance event sink.
    /// </summary>
    public static IServiceCollection AddRuntimeAuthzEvidence(this IServiceCollection services, string defaultConnectionString)
    {
        services.AddOptions<EvidenceOptions>().Configure(o => o.ConnectionString ??= defaultConnectionString);
        services.AddSingleton<IEvidenceStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<EvidenceOptions>>().Value;
            return new AzureTableEvidenceStore(options.ConnectionString ?? defaultConnectionString, options.Table);
        });
        services.AddSingleton<EvidenceRecorder>();
        // Replaces the logging-only default sink.
        services.AddSingleton<IGovernanceEventSink, EvidenceGovernanceEventSink>();
        return services;
    }
}
