using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Fleet;

namespace RuntimeAuthz.Grains.Entities;

/// <summary>
/// The entity store's rows in Azure Table storage: one row per entity, partition = service id and entity
/// type, row key = entity id (both escaped), the entity as Cedar JSON in one column. Only the entity
/// store grain writes here; it reads everything back when it activates.
/// </summary>
public sealed class EntityTable(TableServiceClient client, IOptions<ClusterOptions> cluster)
{
    public const string TableName = "AuthzEntities";
    private const int MaxBatch = 100;
    private const string EntityColumn = "Entity";

    private readonly TableClient table = client.GetTableClient(TableName);
    private readonly string servicePrefix = FleetIndex.EscapeKey(cluster.Value.ServiceId) + "|";
    private volatile bool tableExists;

    private string PartitionOf(string type) => servicePrefix + FleetIndex.EscapeKey(type);

    public async Task<IReadOnlyList<EntityDocument>> ReadAllAsync(CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        // '}' follows '|': every partition of this service and no other.
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {servicePrefix} and PartitionKey lt {servicePrefix[..^1] + "}"}");
        var documents = new List<EntityDocument>();
        await foreach (var row in table.QueryAsync<TableEntity>(filter, select: [EntityColumn], cancellationToken: cancellationToken))
        {
            if (row.GetString(EntityColumn) is { } json) documents.Add(EntityJson.Parse(json));
        }
        return documents;
    }

    /// <summary>Upserts and deletes, as batch transactions per partition (not atomic across partitions: the grain's version says when a change is complete).</summary>
    public async Task WriteAsync(IEnumerable<EntityDocument> upserts, IEnumerable<EntityKey> deletes, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var actions = upserts.Select(d => (Partition: PartitionOf(d.Uid.Type), Action: new TableTransactionAction(TableTransactionActionType.UpsertReplace,
                new TableEntity(PartitionOf(d.Uid.Type), FleetIndex.EscapeKey(d.Uid.Id)) { [EntityColumn] = EntityJson.Format(d) })))
            .Concat(deletes.Select(k => (Partition: PartitionOf(k.Type), Action: new TableTransactionAction(TableTransactionActionType.Delete,
                new TableEntity(PartitionOf(k.Type), FleetIndex.EscapeKey(k.Id)), Azure.ETag.All))));
        foreach (var partition in actions.GroupBy(a => a.Partition, StringComparer.Ordinal))
        {
            foreach (var chunk in partition.Select(p => p.Action).Chunk(MaxBatch))
            {
                try
                {
                    await table.SubmitTransactionAsync(chunk, cancellationToken);
                }
                catch (TableTransactionFailedException ex) when (ex.Status == 404)
                {
                    // A row to delete is already gone (an earlier attempt): the rest one by one.
                    foreach (var action in chunk)
                    {
                        if (action.ActionType == TableTransactionActionType.Delete)
                            await table.DeleteEntityAsync(action.Entity.PartitionKey, action.Entity.RowKey, Azure.ETag.All, cancellationToken);
                        else
                            await table.UpsertEntityAsync((TableEntity)action.Entity, TableUpdateMode.Replace, cancellationToken);
                    }
                }
            }
        }
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (tableExists) return;
        await table.CreateIfNotExistsAsync(cancellationToken);
        tableExists = true;
    }
}
