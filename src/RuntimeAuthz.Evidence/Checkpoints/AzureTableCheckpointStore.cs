using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;

namespace RuntimeAuthz.Evidence.Checkpoints;

/// <summary>Where checkpoints are kept: a store configured apart from the evidence table it anchors.</summary>
public interface ICheckpointStore
{
    /// <summary>Adds one checkpoint; <see cref="EvidenceConflictException"/> when its sequence is taken (nothing is overwritten).</summary>
    Task AppendAsync(CheckpointEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Indexes the heads <paramref name="entry"/> sealed, for <see cref="ReadSealedHeadAsync"/> (the signed checkpoints are the truth; the index only finds them).</summary>
    Task IndexAsync(CheckpointEntry entry, IReadOnlyList<ChainHead> heads, CancellationToken cancellationToken = default);

    /// <summary>One writer's checkpoint, or null.</summary>
    Task<CheckpointEntry?> ReadAsync(string writer, long sequence, CancellationToken cancellationToken = default);

    /// <summary>Every checkpoint of every writer, by writer and sequence.</summary>
    Task<IReadOnlyList<CheckpointEntry>> ReadAllAsync(CancellationToken cancellationToken = default);

    /// <summary>The highest head any writer sealed for <paramref name="chain"/>, or null when none did.</summary>
    Task<SealedHead?> ReadSealedHeadAsync(string chain, CancellationToken cancellationToken = default);
}

/// <summary>
/// Checkpoints in an Azure Table of their own: partition <c>checkpoints</c>, RowKey <c>writer|sequence</c>
/// (19 digits). The per-chain index lives in partitions <c>heads-00</c>..<c>heads-15</c> (by a hash of
/// the chain id), RowKey <c>chain|inverted head sequence|writer</c>, so a chain's first row is its
/// highest sealed head whichever silo sealed it. Every row is only ever added, never updated or
/// deleted: the store works with an identity that may add and read entities and nothing else.
/// </summary>
public sealed class AzureTableCheckpointStore(TableServiceClient client, string tableName = AzureTableCheckpointStore.DefaultTableName) : ICheckpointStore
{
    public const string DefaultTableName = "AuthzEvidenceCheckpoints";
    private const string CheckpointPartition = "checkpoints";
    private const int HeadPartitions = 16;
    private readonly TableClient table = client.GetTableClient(tableName);
    private volatile bool tableExists;

    public string TableName => table.Name;

    public AzureTableCheckpointStore(string connectionString, string tableName = DefaultTableName)
        : this(new TableServiceClient(connectionString, AzureTableEvidenceStore.CreateClientOptions()), tableName)
    {
    }

    public async Task AppendAsync(CheckpointEntry entry, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(CheckpointPartition, RowKeyOf(entry.Writer, entry.Sequence))
        {
            ["Body"] = entry.Body, ["Hash"] = entry.Hash, ["Signature"] = entry.Signature, ["KeyId"] = entry.KeyId,
        };
        try
        {
            await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            throw new EvidenceConflictException("checkpoints:" + entry.Writer, entry.Sequence, ex);
        }
    }

    public async Task IndexAsync(CheckpointEntry entry, IReadOnlyList<ChainHead> heads, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        foreach (var partition in heads.GroupBy(h => HeadPartitionOf(h.Chain), StringComparer.Ordinal))
        {
            foreach (var batch in partition.Chunk(AzureTableEvidenceStore.MaxBatch))
            {
                var rows = batch.Select(h => new TableEntity(partition.Key, IndexRowKeyOf(h.Chain, h.Sequence, entry.Writer))
                {
                    ["Sequence"] = h.Sequence, ["Hash"] = h.Hash, ["Writer"] = entry.Writer, ["Checkpoint"] = entry.Sequence,
                }).ToList();
                try
                {
                    await table.SubmitTransactionAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r)), cancellationToken).ConfigureAwait(false);
                }
                catch (TableTransactionFailedException)
                {
                    // A head indexed before (this writer sealed it again after a failed round) fails the batch: add one by one.
                    foreach (var row in rows)
                    {
                        try { await table.AddEntityAsync(row, cancellationToken).ConfigureAwait(false); }
                        catch (RequestFailedException ex) when (ex.Status == 409) { }
                    }
                }
            }
        }
    }

    public async Task<CheckpointEntry?> ReadAsync(string writer, long sequence, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var found = await table.GetEntityIfExistsAsync<TableEntity>(CheckpointPartition, RowKeyOf(writer, sequence), cancellationToken: cancellationToken).ConfigureAwait(false);
        return found.HasValue && found.Value is { } entity ? FromEntity(entity) : null;
    }

    public async Task<IReadOnlyList<CheckpointEntry>> ReadAllAsync(CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<CheckpointEntry>();
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {CheckpointPartition}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (FromEntity(entity) is { } entry) result.Add(entry);
        }
        return result;
    }

    public async Task<SealedHead?> ReadSealedHeadAsync(string chain, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {HeadPartitionOf(chain)} and RowKey gt {chain + "|"} and RowKey lt {chain + "|~"}");
        await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: 1, cancellationToken: cancellationToken).AsPages().ConfigureAwait(false))
        {
            // Rows come in RowKey order: the first holds the highest head.
            if (page.Values.FirstOrDefault() is { } entity)
                return new SealedHead(chain, entity.GetInt64("Sequence") ?? 0, entity.GetString("Hash") ?? "", entity.GetString("Writer") ?? "", entity.GetInt64("Checkpoint") ?? 0);
        }
        return null;
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (tableExists) return;
        try
        {
            await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 403)
        {
            // An identity that may only add and read entities cannot create tables: the table was created beforehand.
        }
        tableExists = true;
    }

    private static string RowKeyOf(string writer, long sequence) => writer + "|" + sequence.ToString("D19", CultureInfo.InvariantCulture);

    private static string IndexRowKeyOf(string chain, long sequence, string writer) =>
        chain + "|" + (long.MaxValue - sequence).ToString("D19", CultureInfo.InvariantCulture) + "|" + writer;

    private static string HeadPartitionOf(string chain) =>
        "heads-" + (SHA256.HashData(Encoding.UTF8.GetBytes(chain))[0] % HeadPartitions).ToString("00", CultureInfo.InvariantCulture);

    private static CheckpointEntry? FromEntity(TableEntity entity)
    {
        var bar = entity.RowKey.LastIndexOf('|');
        if (bar <= 0 || !long.TryParse(entity.RowKey.AsSpan(bar + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)) return null;
        return new CheckpointEntry(entity.RowKey[..bar], sequence, entity.GetString("Body") ?? "", entity.GetString("Hash") ?? "",
            entity.GetString("Signature") ?? "", entity.GetString("KeyId") ?? "");
    }
}
