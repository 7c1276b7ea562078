using Azure;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Grains.Fleet;

namespace RuntimeAuthz.Silo.Configuration;

/// <summary>The table clients the silo shares: one for grain state and membership, one (fail-fast) for evidence.</summary>
public static class StorageClients
{
    public static TableServiceClient Create(StorageAccountOptions account, TableClientOptions clientOptions, IServiceProvider services) =>
        account.Credential == StorageCredential.DefaultAzureCredential
            ? new TableServiceClient(account.ServiceUri!, services.GetRequiredService<TokenCredential>(), clientOptions)
            : new TableServiceClient(account.ConnectionString!, clientOptions);

    /// <summary>
    /// The grain storage account as the unkeyed <see cref="TableServiceClient"/>, the evidence account (or the same
    /// one) as the keyed <see cref="EvidenceServices.TableClientKey"/> client, and the grain storage account again as the keyed <see cref="FleetIndex.TableClientKey"/> client (short retries: opens wait on it), and one DefaultAzureCredential for all
    /// (created only when an account uses it). A client's retry policy is fixed when it is built, hence two clients.
    /// </summary>
    public static IServiceCollection AddStorageClients(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());
        services.TryAddSingleton(sp => Create(sp.GetRequiredService<IOptions<StorageOptions>>().Value, new TableClientOptions(), sp));
        services.TryAddKeyedSingleton(EvidenceServices.TableClientKey, (sp, _) =>
        {
            var evidence = sp.GetRequiredService<IOptions<EvidenceOptions>>().Value;
            StorageAccountOptions account = evidence.HasAccount ? evidence : sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var tracing = sp.GetService<Telemetry.StorageTracing>()?.Enabled == true;
            return Create(account, RuntimeAuthz.Evidence.AzureTableEvidenceStore.CreateClientOptions(tracing: tracing), sp);
        });
        services.TryAddKeyedSingleton(CheckpointServices.TableClientKey, (sp, _) =>
            Create(sp.GetRequiredService<IOptions<EvidenceCheckpointOptions>>().Value, RuntimeAuthz.Evidence.AzureTableEvidenceStore.CreateClientOptions(), sp));
        services.TryAddKeyedSingleton(FleetIndex.TableClientKey, (sp, _) =>
            Create(sp.GetRequiredService<IOptions<StorageOptions>>().Value, FleetIndex.CreateClientOptions(), sp));
        return services;
    }
}

/// <summary>
/// Before Orleans starts: one request to each configured account, so a wrong key or an unreachable
/// endpoint stops start-up with one message naming the setting instead of failing deep inside the silo.
/// </summary>
public sealed class StorageAccessCheck(IServiceProvider services) : IHostedService
{
    // Resolved here, not in the constructor: the host builds its hosted services before it validates options,
    // and a client built from invalid options would report one failure instead of all of them.
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var s = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        await CheckAsync(services.GetRequiredService<TableServiceClient>(), s.GrainStateTable, StorageOptions.Section, s, cancellationToken);
        var e = services.GetRequiredService<IOptions<EvidenceOptions>>().Value;
        if (e.Enabled && e.HasAccount)
            await CheckAsync(services.GetRequiredKeyedService<TableServiceClient>(EvidenceServices.TableClientKey), e.Table, EvidenceOptions.Section, e, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static async Task CheckAsync(TableServiceClient client, string table, string section, StorageAccountOptions account, CancellationToken cancellationToken)
    {
        // The key that chose the credential; the message never repeats its value (a connection string holds a secret).
        var key = account.Credential == StorageCredential.DefaultAzureCredential ? $"{section}:ServiceUri ({section}:Credential=DefaultAzureCredential)" : $"{section}:ConnectionString";
        var endpoint = client.Uri.GetLeftPart(UriPartial.Path);
        try
        {
            await client.GetTableClient(table).CreateIfNotExistsAsync(cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 401 or 403)
        {
            throw new InvalidOperationException(
                $"{key}: the storage account at {endpoint} refused the credentials (HTTP {ex.Status}{(string.IsNullOrEmpty(ex.ErrorCode) ? "" : " " + ex.ErrorCode)}): " +
                (account.Credential == StorageCredential.DefaultAzureCredential
                    ? "the identity needs the role Storage Table Data Contributor on the account"
                    : "check the AccountKey (or SAS) in the connection string"), ex);
        }
        catch (AuthenticationFailedException ex)
        {
            throw new InvalidOperationException($"{key}: DefaultAzureCredential found no usable identity for {endpoint} ({FirstLine(ex.Message)})", ex);
        }
        catch (Exception ex) when (ex is RequestFailedException { Status: 0 } || (ex is AggregateException all && all.InnerExceptions.All(e => e is RequestFailedException { Status: 0 })))
        {
            // After its retries the SDK throws an AggregateException of the attempts' failures.
            var cause = ex is AggregateException attempts ? attempts.InnerExceptions[^1] : ex;
            throw new InvalidOperationException($"{key}: the table endpoint {endpoint} cannot be reached ({FirstLine(cause.Message)})", ex);
        }
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
