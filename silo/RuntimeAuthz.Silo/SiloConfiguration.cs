using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Silo.Configuration;
using RuntimeAuthz.Grains.Fleet;

namespace RuntimeAuthz.Silo;

/// <summary>Orleans configuration shared by the silo host and the in-process test clusters.</summary>
public static class SiloConfiguration
{
    public const string DefaultGrainStateTable = StorageOptions.DefaultGrainStateTable;

    /// <summary>
    /// Grain storage on Azure Table storage (Azurite locally) with the System.Text.Json grain
    /// storage serializer, on the shared <see cref="TableServiceClient"/> of <see cref="StorageOptions"/>
    /// (bound by the caller, validated at start), plus the grains' silo services (policy cache, clock, evidence).
    /// </summary>
    public static ISiloBuilder AddRuntimeAuthz(this ISiloBuilder silo)
    {
        // Orleans' default storage format is Newtonsoft JSON with .NET type names: renaming a type
        // would break stored state. Our state records are plain, versioned STJ documents.
        silo.Services.AddSingleton<IGrainStorageSerializer, SystemTextJsonGrainStorageSerializer>();
        silo.Services.AddStorageClients();
        silo.AddAzureTableGrainStorage(AuthzStorage.ProviderName, (OptionsBuilder<AzureTableStorageOptions> options) =>
            options.Configure<TableServiceClient, IGrainStorageSerializer, IOptions<StorageOptions>>((o, client, serializer, storage) =>
            {
                o.TableServiceClient = client;
                o.TableName = storage.Value.GrainStateTable;
                o.GrainStorageSerializer = serializer;
            }));
        silo.Services.AddSingleton(sp => new FleetIndex(sp.GetRequiredKeyedService<TableServiceClient>(FleetIndex.TableClientKey), sp.GetRequiredService<IOptions<ClusterOptions>>()));
        silo.Services.AddSingleton(sp => new RuntimeAuthz.Grains.Entities.EntityTable(sp.GetRequiredService<TableServiceClient>(), sp.GetRequiredService<IOptions<ClusterOptions>>()));
        silo.Services.AddSingleton(sp => new Grains.Sessions.SessionIndex(sp.GetRequiredKeyedService<TableServiceClient>(FleetIndex.TableClientKey), sp.GetRequiredService<IOptions<ClusterOptions>>()));
        silo.Services.AddRuntimeAuthzGrainServices();
        silo.Services.AddRuntimeAuthzEvidence();
        return silo;
    }

    /// <summary>As <see cref="AddRuntimeAuthz(ISiloBuilder)"/> with the account given by a connection string (test clusters).</summary>
    public static ISiloBuilder AddRuntimeAuthz(this ISiloBuilder silo, string storageConnectionString, string grainStateTable = DefaultGrainStateTable)
    {
        silo.Services.Configure<StorageOptions>(o =>
        {
            o.ConnectionString = storageConnectionString;
            o.GrainStateTable = grainStateTable;
        });
        return silo.AddRuntimeAuthz();
    }

    /// <summary>
    /// Faster failure detection than the defaults (~14 s to declare a killed silo dead): probes
    /// time out after 2 s and two missed probes suspect a silo, so a dead silo is declared in a
    /// few seconds and its grains reactivate elsewhere from storage.
    /// </summary>
    public static ISiloBuilder TuneMembershipForFastFailover(this ISiloBuilder silo)
    {
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(2);
            o.NumMissedProbesLimit = 2;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(30);
        });
        return silo;
    }
}
