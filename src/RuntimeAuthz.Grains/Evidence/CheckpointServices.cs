using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Evidence.Checkpoints;

namespace RuntimeAuthz.Grains.Evidence;

public static class CheckpointServices
{
    /// <summary>Service key of the <see cref="TableServiceClient"/> of the checkpoint account (<see cref="EvidenceCheckpointOptions"/>).</summary>
    public const string TableClientKey = "evidence-checkpoints";

    /// <summary>
    /// Checkpoints of the evidence chains: the heads the recorder reports, the checkpointer (a silo
    /// lifecycle participant) and its store, the Azure table on the keyed client <see cref="TableClientKey"/>
    /// when <see cref="EvidenceCheckpointOptions"/> name an account (or an <see cref="ICheckpointStore"/> registered instead).
    /// </summary>
    public static IServiceCollection AddEvidenceCheckpoints(this IServiceCollection services)
    {
        services.AddOptions<EvidenceCheckpointOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EvidenceCheckpointOptions>, EvidenceCheckpointOptionsValidator>());
        services.TryAddSingleton<EvidenceCheckpointHeads>();
        services.TryAddSingleton(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<EvidenceCheckpointOptions>>();
            ICheckpointStore? CreateStore() => sp.GetService<ICheckpointStore>()
                ?? (settings.Value.Configured ? new AzureTableCheckpointStore(sp.GetRequiredKeyedService<TableServiceClient>(TableClientKey), settings.Value.Table) : null);
            return new EvidenceCheckpointer(sp.GetRequiredService<EvidenceCheckpointHeads>(), sp.GetRequiredService<EvidenceRecorder>, settings, CreateStore,
                sp.GetRequiredService<AuthzClock>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILocalSiloDetails>(),
                sp.GetRequiredService<ILogger<EvidenceCheckpointer>>());
        });
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<EvidenceCheckpointer>());
        return services;
    }
}
