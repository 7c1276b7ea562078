using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Data.Tables;

namespace RuntimeAuthz.Evidence;

/// <summary>
/// Evidence in its own Azure Table. Session chains are spread over the table's session partitions
/// (<c>s00</c>, <c>s01</c>, ... by a hash of the chain id); records of concurrent decisions in the same
/// partition share one batch transaction, so fewer partitions mean larger batches (and fewer storage
/// requests per record), more partitions spread the load of a very large fleet. The count is fixed
/// per table when its first silo creates it (row <c>$keys/$layout</c>; a table from before the row
/// existed has 16). The governance chain has the partition <c>governance</c>. RowKey =
/// <c>chain|sequence</c> (19 digits), so a chain is one range query in sequence order. Rows are only
/// ever added (<c>AddEntity</c> / transaction Add): a taken sequence fails, nothing is overwritten.
/// Public keys and the development key live in partition <c>$keys</c>.
/// </summary>
public sealed class AzureTableEvidenceStore : IEvidenceStore
{
    public const string DefaultTableName = "AuthzEvidence";
    /// <summary>Session partitions of a new table: the records of up to ~100 concurrent sessions per partition share a transaction.</summary>
    public const int DefaultSessionPartitions = 4;
    /// <summary>Session partitions of a table written before the layout row existed.</summary>
    public const int LegacySessionPartitions = 16;
    public const int MaxSessionPartitions = 100;
    /// <summary>Azure Table transactions hold at most 100 entities of one partition.</summary>
    public const int MaxBatch = 100;
    public const int DefaultRequestsInFlightPerPartition = 4;
    public const int DefaultBatchWhileBusy = 8;
    /// <summary>Replay data beside a record: 14 properties of 30,000 characters keep the row below Azure's 1 MiB entity limit.</summary>
    public const int MaxReplayChars = 14 * ReplayChunkChars;
    private const int ReplayChunkChars = 30_000;
    private const string KeysPartition = "$keys";
    private const string DevelopmentKeyRow = "$development-private-key";
    private const string LayoutRow = "$layout";

    private readonly TableClient table;
    private readonly int partitionsForNewTable;
    private readonly ConcurrentDictionary<string, PartitionQueue> queues = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim layoutGate = new(1, 1);
    /// <summary>0 until the table exists and its layout is read.</summary>
    private volatile int sessionPartitions;
    private long appendRequests;
    private long appendedEntries;

    /// <param name="client">Of the evidence account, built with <see cref="CreateClientOptions"/> so appends fail fast.</param>
    /// <param name="partitionsForNewTable">Session partitions if this store creates the table's layout (an existing table keeps its own).</param>
    public AzureTableEvidenceStore(TableServiceClient client, string tableName = DefaultTableName, int partitionsForNewTable = DefaultSessionPartitions)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionsForNewTable, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partitionsForNewTable, MaxSessionPartitions);
        table = client.GetTableClient(tableName);
        this.partitionsForNewTable = partitionsForNewTable;
    }

    public AzureTableEvidenceStore(string connectionString, string tableName = DefaultTableName, TimeSpan? requestTimeout = null, int partitionsForNewTable = DefaultSessionPartitions)
        : this(new TableServiceClient(connectionString, CreateClientOptions(requestTimeout)), tableName, partitionsForNewTable)
    {
    }

    /// <summary>
    /// Few, quick retries: an append the caller waits on must fail fast (and deny) when storage is down,
    /// and a slow request must not hold up the partition's queue behind it.
    /// </summary>
    /// <param name="tracing">Emit the SDK's request spans (cheap while nobody listens; off unless the silo traces storage).</param>
    public static TableClientOptions CreateClientOptions(TimeSpan? requestTimeout = null, bool tracing = false)
    {
        var options = new TableClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.NetworkTimeout = requestTimeout ?? TimeSpan.FromSeconds(5);
        // Per-request logging and telemetry headers cost CPU on every append and are read by nobody here; spans only when asked for.
        options.Diagnostics.IsLoggingEnabled = false;
        options.Diagnostics.IsDistributedTracingEnabled = tracing;
        options.Diagnostics.IsTelemetryEnabled = false;
        return options;
    }

    public string TableName => table.Name;

    /// <summary>Requests a partition may have in flight at once (more than one only for a batch of <see cref="BatchWhileBusy"/>).</summary>
    public int RequestsInFlightPerPartition { get; init; } = DefaultRequestsInFlightPerPartition;

    /// <summary>Records that must be waiting before a partition sends a request beside one in flight; fewer wait for it to finish.</summary>
    public int BatchWhileBusy { get; init; } = DefaultBatchWhileBusy;

    /// <summary>Told the number of records each append request carried (the silo's batch-size metric); set before the first append.</summary>
    public Action<int>? AppendRequestSent { get; init; }

    /// <summary>Storage requests made for appends (single adds and batch transactions) and entries they carried: shows how much batching happened.</summary>
    public (long Requests, long Entries) AppendStatistics => (Interlocked.Read(ref appendRequests), Interlocked.Read(ref appendedEntries));

    /// <summary>The table's session partition count (reads the layout, creating the table when needed).</summary>
    public async Task<int> SessionPartitionsAsync(CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        return sessionPartitions;
    }

    /// <summary>The partition holding <paramref name="chain"/> in a table of <paramref name="partitions"/> session partitions.</summary>
    public static string PartitionOf(string chain, int partitions)
    {
        if (chain == EvidenceChains.Governance) return EvidenceChains.Governance;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(chain));
        return "s" + (BitConverter.ToUInt32(hash, 0) % (uint)partitions).ToString("00", CultureInfo.InvariantCulture);
    }

    private string PartitionOf(string chain) => PartitionOf(chain, sessionPartitions);

    public static string RowKeyOf(string chain, long sequence) => chain + "|" + sequence.ToString("D19", CultureInfo.InvariantCulture);

    public Task AppendAsync(EvidenceEntry entry, CancellationToken cancellationToken = default) => EnqueueAsync(entry, null, cancellationToken);

    /// <summary>Signed when its batch is sent: one signature over the batch's Merkle root (<see cref="EvidenceBatchSeal"/>).</summary>
    public Task AppendUnsignedAsync(EvidenceEntry unsigned, EvidenceSigningKey signer, CancellationToken cancellationToken = default) =>
        EnqueueAsync(unsigned, signer, cancellationToken);

    private async Task EnqueueAsync(EvidenceEntry entry, EvidenceSigningKey? signer, CancellationToken cancellationToken)
    {
        if (entry.Replay?.Length > MaxReplayChars)
            throw new EvidenceNotWrittenException(entry.Chain, entry.Sequence, new ArgumentException($"replay data is longer than {MaxReplayChars} characters"));
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new EvidenceNotWrittenException(entry.Chain, entry.Sequence, ex);
        }
        var pending = new PendingAppend(entry, signer);
        var queue = queues.GetOrAdd(PartitionOf(entry.Chain), p => new PartitionQueue(p));
        queue.Enqueue(pending);
        StartRequests(queue);
        try
        {
            await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            // Still queued: taken out, so it is certain never to be stored. Already sent: its fate is unknown.
            if (queue.Withdraw(pending)) throw new EvidenceNotWrittenException(entry.Chain, entry.Sequence, ex);
            throw;
        }
    }

    /// <summary>
    /// Starts as many requests for the partition as its queue calls for: one whenever none is in flight, and
    /// more (up to <see cref="RequestsInFlightPerPartition"/>) only for at least <see cref="BatchWhileBusy"/> records,
    /// so that records meeting while a request is out wait for it and go out together instead of one by one.
    /// A partition's records are never of the same chain twice (a chain's owner appends one record at a time),
    /// so requests in flight together cannot reorder a chain.
    /// </summary>
    private void StartRequests(PartitionQueue queue)
    {
        while (queue.TryStartBatch(MaxBatch, RequestsInFlightPerPartition, BatchWhileBusy) is { } batch)
            _ = Task.Run(() => SendAsync(queue, batch));
    }

    private async Task SendAsync(PartitionQueue queue, List<PendingAppend> batch)
    {
        try
        {
            await SendBatchAsync(batch).ConfigureAwait(false);
        }
        finally
        {
            queue.Finished();
            StartRequests(queue);
        }
    }

    private async Task SendBatchAsync(List<PendingAppend> batch)
    {
        try
        {
            SignBatch(batch);
        }
        catch (Exception ex)
        {
            foreach (var p in batch) p.Completion.TrySetException(new EvidenceNotWrittenException(p.Entry.Chain, p.Entry.Sequence, ex));
            return;
        }
        if (batch.Count == 1)
        {
            await AppendOneAsync(batch[0]).ConfigureAwait(false);
            return;
        }
        try
        {
            Interlocked.Increment(ref appendRequests);
            AppendRequestSent?.Invoke(batch.Count);
            var actions = new TableTransactionAction[batch.Count];
            for (var i = 0; i < actions.Length; i++) actions[i] = new TableTransactionAction(TableTransactionActionType.Add, ToEntity(batch[i].Entry));
            await table.SubmitTransactionAsync(actions).ConfigureAwait(false);
            Interlocked.Add(ref appendedEntries, batch.Count);
            foreach (var p in batch) p.Completion.TrySetResult();
        }
        catch (TableTransactionFailedException)
        {
            // One bad entity (a taken sequence) fails the whole transaction: retry each on its own so only that one fails
            // (each keeps its batch proof, which verifies without the others).
            foreach (var p in batch) await AppendOneAsync(p).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            foreach (var p in batch) p.Completion.TrySetException(ex);
        }
    }

    /// <summary>The batch's unsigned entries get one signature per signing key (normally there is one key).</summary>
    private static void SignBatch(List<PendingAppend> batch)
    {
        foreach (var group in batch.Where(p => p.Signer is not null).GroupBy(p => p.Signer!))
        {
            var members = group.ToArray();
            var signed = EvidenceBatchSeal.Sign([.. members.Select(p => p.Entry)], group.Key);
            for (var i = 0; i < members.Length; i++) members[i].Signed(signed[i]);
        }
    }

    private async Task AppendOneAsync(PendingAppend pending)
    {
        try
        {
            Interlocked.Increment(ref appendRequests);
            AppendRequestSent?.Invoke(1);
            await table.AddEntityAsync(ToEntity(pending.Entry)).ConfigureAwait(false);
            Interlocked.Increment(ref appendedEntries);
            pending.Completion.TrySetResult();
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            pending.Completion.TrySetException(new EvidenceConflictException(pending.Entry.Chain, pending.Entry.Sequence, ex));
        }
        catch (RequestFailedException ex) when (ex.Status is >= 400 and < 500 and not 408)
        {
            // Refused by the service (e.g. too large): certainly not stored.
            pending.Completion.TrySetException(new EvidenceNotWrittenException(pending.Entry.Chain, pending.Entry.Sequence, ex));
        }
        catch (Exception ex)
        {
            pending.Completion.TrySetException(ex);
        }
    }

    public async Task<IReadOnlyList<EvidenceEntry>> ReadChainAsync(string chain, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<EvidenceEntry>();
        await foreach (var entity in table.QueryAsync<TableEntity>(ChainFilter(chain), cancellationToken: cancellationToken).ConfigureAwait(false))
            result.Add(FromEntity(chain, entity));
        return result;
    }

    public async Task<IReadOnlyList<EvidenceEntry>> ReadRangeAsync(string chain, long afterSequence, int maxCount, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<EvidenceEntry>(Math.Min(maxCount, MaxBatch));
        if (maxCount <= 0) return result;
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {PartitionOf(chain)} and RowKey gt {RowKeyOf(chain, Math.Max(0, afterSequence))} and RowKey lt {chain + "|~"}");
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(maxCount, 1000), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            result.Add(FromEntity(chain, entity));
            if (result.Count >= maxCount) break;
        }
        return result;
    }

    public async Task<EvidenceHead> ReadHeadAsync(string chain, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        EvidenceHead head = EvidenceHead.Empty;
        await foreach (var entity in table.QueryAsync<TableEntity>(ChainFilter(chain), select: ["RowKey", "Hash"], cancellationToken: cancellationToken).ConfigureAwait(false))
            head = new EvidenceHead(SequenceOf(chain, entity.RowKey), entity.GetString("Hash") ?? "");
        return head;
    }

    public async Task<IReadOnlyList<string>> ListChainsAsync(CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var chains = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var entity in table.QueryAsync<TableEntity>($"PartitionKey ne '{KeysPartition}'", select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var bar = entity.RowKey.LastIndexOf('|');
            if (bar > 0) chains.Add(entity.RowKey[..bar]);
        }
        return chains.ToArray();
    }

    public async Task PublishPublicKeyAsync(string keyId, string publicKeyPem, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await table.AddEntityAsync(new TableEntity(KeysPartition, keyId) { ["PublicKeyPem"] = publicKeyPem }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            var existing = await table.GetEntityAsync<TableEntity>(KeysPartition, keyId, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!string.Equals(existing.Value.GetString("PublicKeyPem")?.Trim(), publicKeyPem.Trim(), StringComparison.Ordinal))
                throw new EvidenceKeyException($"key id '{keyId}' is already registered for a different public key; give the new key its own id", ex);
        }
    }

    public async Task<IReadOnlyDictionary<string, string>> ListPublicKeysAsync(CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var keys = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await foreach (var entity in table.QueryAsync<TableEntity>($"PartitionKey eq '{KeysPartition}'", cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (entity.RowKey is not (DevelopmentKeyRow or LayoutRow) && entity.GetString("PublicKeyPem") is { } pem) keys[entity.RowKey] = pem;
        }
        return keys;
    }

    public async Task<string> GetOrCreateDevelopmentKeyAsync(string candidatePem, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await table.AddEntityAsync(new TableEntity(KeysPartition, DevelopmentKeyRow) { ["PrivateKeyPem"] = candidatePem }, cancellationToken).ConfigureAwait(false);
            return candidatePem;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            var existing = await table.GetEntityAsync<TableEntity>(KeysPartition, DevelopmentKeyRow, cancellationToken: cancellationToken).ConfigureAwait(false);
            return existing.Value.GetString("PrivateKeyPem") ?? throw new EvidenceKeyException("the stored development key row has no key");
        }
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (sessionPartitions > 0) return;
        await layoutGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (sessionPartitions > 0) return;
            var created = (await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false)).GetRawResponse().Status != 409;
            sessionPartitions = await ReadOrCreateLayoutAsync(created, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            layoutGate.Release();
        }
    }

    /// <summary>
    /// The stored partition count; the first store of a new table writes its own (a table with session rows but no layout
    /// row is legacy). Two requests in the usual cases (created + layout written, or existing + layout read): the first
    /// appends of a silo wait for this within their append timeout.
    /// </summary>
    private async Task<int> ReadOrCreateLayoutAsync(bool created, CancellationToken cancellationToken)
    {
        if (!created && await ReadLayoutAsync(cancellationToken).ConfigureAwait(false) is { } stored) return stored;
        var legacy = false;
        if (!created) await foreach (var _ in table.QueryAsync<TableEntity>("PartitionKey ge 's00' and PartitionKey lt 's:'", maxPerPage: 1, select: ["PartitionKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            legacy = true;
            break;
        }
        var partitions = legacy ? LegacySessionPartitions : partitionsForNewTable;
        try
        {
            await table.AddEntityAsync(new TableEntity(KeysPartition, LayoutRow) { ["SessionPartitions"] = partitions }, cancellationToken).ConfigureAwait(false);
            return partitions;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Another store wrote the layout first: its count holds.
            return await ReadLayoutAsync(cancellationToken).ConfigureAwait(false) ?? throw new EvidenceKeyException("the evidence table's layout row has no partition count", ex);
        }
    }

    private async Task<int?> ReadLayoutAsync(CancellationToken cancellationToken)
    {
        var row = await table.GetEntityIfExistsAsync<TableEntity>(KeysPartition, LayoutRow, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!row.HasValue || row.Value is null) return null;
        return row.Value.GetInt32("SessionPartitions") is { } count and >= 1 and <= MaxSessionPartitions
            ? count
            : throw new EvidenceKeyException($"the evidence table's layout row says {row.Value.GetInt32("SessionPartitions")?.ToString(CultureInfo.InvariantCulture) ?? "nothing"} session partitions (1 to {MaxSessionPartitions} expected)");
    }

    private string ChainFilter(string chain)
    {
        var partition = PartitionOf(chain);
        return TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {chain + "|"} and RowKey lt {chain + "|~"}");
    }

    private TableEntity ToEntity(EvidenceEntry entry)
    {
        var entity = new TableEntity(PartitionOf(entry.Chain), RowKeyOf(entry.Chain, entry.Sequence))
        {
            ["Body"] = entry.Body,
            ["Hash"] = entry.Hash,
            ["Signature"] = entry.Signature,
            ["KeyId"] = entry.KeyId,
        };
        if (entry.Proof is { } proof) entity["Proof"] = proof;
        if (entry.Replay is { } replay)
        {
            // A string property holds at most 64 KiB (32K UTF-16 units): longer data is split over Replay, Replay1, ...
            for (int i = 0, part = 0; i < replay.Length; i += ReplayChunkChars, part++)
                entity[part == 0 ? "Replay" : "Replay" + part.ToString(CultureInfo.InvariantCulture)] = replay.Substring(i, Math.Min(ReplayChunkChars, replay.Length - i));
        }
        return entity;
    }

    private static string? ReplayOf(TableEntity entity)
    {
        if (entity.GetString("Replay") is not { } first) return null;
        if (!entity.ContainsKey("Replay1")) return first;
        var builder = new StringBuilder(first);
        for (var part = 1; entity.GetString("Replay" + part.ToString(CultureInfo.InvariantCulture)) is { } next; part++) builder.Append(next);
        return builder.ToString();
    }

    private static long SequenceOf(string chain, string rowKey) =>
        long.TryParse(rowKey.AsSpan(chain.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : -1;

    private static EvidenceEntry FromEntity(string chain, TableEntity entity) => new(
        chain, SequenceOf(chain, entity.RowKey), entity.GetString("Body") ?? "", entity.GetString("Hash") ?? "",
        entity.GetString("Signature") ?? "", entity.GetString("KeyId") ?? "")
    {
        Replay = ReplayOf(entity),
        Proof = entity.GetString("Proof"),
    };

    private sealed class PendingAppend(EvidenceEntry entry, EvidenceSigningKey? signer)
    {
        public EvidenceEntry Entry { get; private set; } = entry;
        /// <summary>Signs the entry when its batch is sent; null when it came signed.</summary>
        public EvidenceSigningKey? Signer { get; } = signer;
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Signed(EvidenceEntry signed) => Entry = signed;
    }

    private sealed class PartitionQueue(string partition)
    {
        private readonly Queue<PendingAppend> pending = new();
        private int inFlight;

        public string Partition { get; } = partition;

        public void Enqueue(PendingAppend append)
        {
            lock (pending) pending.Enqueue(append);
        }

        /// <summary>Takes a queued append out; false when a request already took it (it is being sent or was).</summary>
        public bool Withdraw(PendingAppend append)
        {
            lock (pending)
            {
                var before = pending.Count;
                var kept = pending.Where(p => !ReferenceEquals(p, append)).ToArray();
                if (kept.Length == before) return false;
                pending.Clear();
                foreach (var p in kept) pending.Enqueue(p);
                return true;
            }
        }

        /// <summary>
        /// Up to <paramref name="max"/> queued appends for a new request: any when no request is in flight, at least
        /// <paramref name="minWhileBusy"/> while fewer than <paramref name="maxInFlight"/> are; otherwise null.
        /// </summary>
        public List<PendingAppend>? TryStartBatch(int max, int maxInFlight, int minWhileBusy)
        {
            lock (pending)
            {
                if (pending.Count == 0 || inFlight >= maxInFlight || (inFlight > 0 && pending.Count < minWhileBusy)) return null;
                var batch = new List<PendingAppend>(Math.Min(max, pending.Count));
                while (batch.Count < max && pending.TryDequeue(out var next)) batch.Add(next);
                inFlight++;
                return batch;
            }
        }

        public void Finished()
        {
            lock (pending) inFlight--;
        }
    }
}
