using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Fleet;

/// <summary>
/// The fleet index in Azure Table storage: one small row per agent and one per session, so no row
/// grows with the fleet or with an agent's sessions, and listings are paged range queries. Both are
/// spread over <see cref="AgentShards"/> partitions by the agent id; a session row's key starts with
/// its agent's, so an agent's sessions are one key range, and rows of different agents written at
/// the same time share a batch transaction. Session rows of earlier versions (one partition per
/// agent) are still read.
/// Partition keys start with the Orleans service id, so services sharing a storage account stay apart.
/// </summary>
public sealed class FleetIndex
{
    public const string TableName = "AuthzIndex";
    /// <summary>Agent rows are spread over this many partitions, so registrations at fleet scale are not bound by one partition's throughput.</summary>
    public const int AgentShards = 16;
    /// <summary>Continuations name their listing (and format version), so one listing's token is refused by another.</summary>
    private const string AgentListing = "a1";
    private const string SessionListing = "s1";

    private readonly TableClient table;
    private readonly string servicePrefix;
    private readonly KeyRange[] agentRanges;
    private readonly string[] sessionPartitions;
    private readonly RowBatchWriter rowWriter;
    private volatile bool tableExists;

    /// <summary>The DI key of the index's <see cref="TableServiceClient"/> (the grain storage account, with <see cref="CreateClientOptions"/>).</summary>
    public const string TableClientKey = "fleet-index";

    /// <summary>Few, quick retries: registration and session opening wait on these writes.</summary>
    public static TableClientOptions CreateClientOptions()
    {
        var options = new TableClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(5);
        return options;
    }

    public FleetIndex(TableServiceClient client, IOptions<ClusterOptions> cluster)
    {
        table = client.GetTableClient(TableName);
        servicePrefix = EscapeKey(cluster.Value.ServiceId) + "|";
        agentRanges = Enumerable.Range(0, AgentShards).Select(shard => new KeyRange(AgentPartition(shard), "")).ToArray();
        sessionPartitions = Enumerable.Range(0, AgentShards).Select(SessionPartition).ToArray();
        rowWriter = new RowBatchWriter(table);
    }

    /// <summary>Lists the agent (idempotent); registrations that meet in a shard share one batch transaction.</summary>
    public async Task AddAgentAsync(string agentId, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var shard = ShardOf(agentId);
        await rowWriter.UpsertAsync(new TableEntity(agentRanges[shard].Partition, EscapeKey(agentId)) { ["AgentId"] = agentId }).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Up to <paramref name="limit"/> agent ids after <paramref name="continuation"/>, in index order
    /// (by shard, then id); the continuation is null after the last agent. Invalid for a limit outside
    /// 1..<see cref="AgentDirectoryLimits.MaxPageSize"/> or a continuation this index did not issue.
    /// </summary>
    public async Task<CommandResult<AgentIdPage>> ListAgentsAsync(int limit, string? continuation, CancellationToken cancellationToken = default)
    {
        var page = await PageAsync(AgentListing, agentRanges, "AgentId", limit, continuation, cancellationToken).ConfigureAwait(false);
        return page.IsSuccess
            ? CommandResult<AgentIdPage>.Ok(new AgentIdPage { AgentIds = page.Value!.Rows.Select(r => r.GetString("AgentId") ?? "").ToArray(), Continuation = page.Value.Continuation })
            : CommandResult<AgentIdPage>.Fail(page.Error, page.Message!);
    }

    /// <summary>The agent's sessions, a page at a time in id order, with when each was opened (same limits as <see cref="ListAgentsAsync"/>).</summary>
    public async Task<CommandResult<SessionIndexPage>> ListSessionsAsync(string agentId, int limit, string? continuation, CancellationToken cancellationToken = default)
    {
        var page = await PageAsync(SessionListing, SessionRanges(agentId), "SessionId", limit, continuation, cancellationToken).ConfigureAwait(false);
        return page.IsSuccess
            ? CommandResult<SessionIndexPage>.Ok(new SessionIndexPage(
                page.Value!.Rows.Select(r => new IndexedSession(r.GetString("SessionId") ?? "", r.GetDateTimeOffset("OpenedAt") ?? DateTimeOffset.MinValue)).ToArray(),
                page.Value.Continuation))
            : CommandResult<SessionIndexPage>.Fail(page.Error, page.Message!);
    }

    private sealed record RowPage(IReadOnlyList<TableEntity> Rows, string? Continuation);

    /// <summary>The rows of a partition whose keys start with <see cref="Prefix"/> (all of them for "").</summary>
    private sealed record KeyRange(string Partition, string Prefix)
    {
        public string Filter(string after) => Prefix.Length == 0
            ? TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey gt {after}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey gt {Prefix + after} and RowKey lt {Prefix[..^1] + (char)(Prefix[^1] + 1)}");
    }

    /// <summary>An agent's session rows: the partition of earlier versions first, then its range in its shard.</summary>
    private KeyRange[] SessionRanges(string agentId) =>
        [new(LegacySessionPartition(agentId), ""), new(sessionPartitions[ShardOf(agentId)], SessionKeyPrefix(agentId))];

    /// <summary>Keyset paging over <paramref name="ranges"/> in order: the continuation names a range and the last row key returned in it.</summary>
    private async Task<CommandResult<RowPage>> PageAsync(string listing, KeyRange[] ranges, string property, int limit, string? continuation, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > AgentDirectoryLimits.MaxPageSize)
            return CommandResult<RowPage>.Fail(CommandError.Invalid, $"limit must be between 1 and {AgentDirectoryLimits.MaxPageSize}");
        var (partition, after) = (0, "");
        if (continuation is not null && !TryReadContinuation(listing, ranges.Length, continuation, out partition, out after))
            return CommandResult<RowPage>.Fail(CommandError.Invalid, "continuation is not one this listing issued (pass back the value of a previous page unchanged)");
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);

        var rows = new List<TableEntity>(limit);
        for (var lastRow = after; partition < ranges.Length; partition++, lastRow = "")
        {
            var range = ranges[partition];
            var select = new[] { "RowKey", property, "OpenedAt" };
            await foreach (var entity in table.QueryAsync<TableEntity>(range.Filter(lastRow), maxPerPage: limit - rows.Count, select: select, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                rows.Add(entity);
                if (rows.Count == limit)
                    return CommandResult<RowPage>.Ok(new RowPage(rows, WriteContinuation(listing, partition, entity.RowKey[range.Prefix.Length..])));
            }
        }
        return CommandResult<RowPage>.Ok(new RowPage(rows, null));
    }

    /// <summary>
    /// Records a session of the agent (idempotent), stamped with when it was opened; rows of sessions
    /// opened at the same time in the same shard, of any agents, go out as one batch transaction.
    /// </summary>
    public async Task AddSessionAsync(string agentId, string sessionId, DateTimeOffset openedAt, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var shard = ShardOf(agentId);
        var entity = new TableEntity(sessionPartitions[shard], SessionKeyPrefix(agentId) + EscapeKey(sessionId)) { ["SessionId"] = sessionId, ["OpenedAt"] = openedAt };
        await rowWriter.UpsertAsync(entity).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The agent's sessions opened at or after <paramref name="since"/>, paged from storage as they are read.</summary>
    public async IAsyncEnumerable<string> SessionsOpenedSinceAsync(string agentId, DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        foreach (var range in SessionRanges(agentId))
        {
            var filter = $"{range.Filter("")} and {TableClient.CreateQueryFilter($"OpenedAt ge {since}")}";
            await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["SessionId"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (entity.GetString("SessionId") is { } sessionId) yield return sessionId;
            }
        }
    }

    public static int ShardOf(string agentId) => SHA256.HashData(Encoding.UTF8.GetBytes(agentId))[0] % AgentShards;

    private string AgentPartition(int shard) => servicePrefix + "a|" + shard.ToString("x2", CultureInfo.InvariantCulture);

    private string SessionPartition(int shard) => servicePrefix + "ss|" + shard.ToString("x2", CultureInfo.InvariantCulture);

    /// <summary>Where earlier versions kept an agent's session rows (row key = session id).</summary>
    private string LegacySessionPartition(string agentId) => servicePrefix + "s|" + EscapeKey(agentId);

    /// <summary>The agent's part of a session row key; '|' is escaped too, so it ends where the session id starts.</summary>
    private static string SessionKeyPrefix(string agentId) => EscapeKey(agentId).Replace("|", "%7C", StringComparison.Ordinal) + "|";

    private static string WriteContinuation(string listing, int partition, string lastRow) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{listing}|{partition.ToString(CultureInfo.InvariantCulture)}|{lastRow}"));

    private static bool TryReadContinuation(string listing, int partitions, string continuation, out int partition, out string lastRow)
    {
        (partition, lastRow) = (0, "");
        if (continuation.Length is 0 or > 1024 || !Base64Url.IsValid(continuation)) return false;
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Base64Url.DecodeFromChars(continuation));
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            return false;
        }
        var parts = text.Split('|', 3);
        if (parts.Length != 3 || parts[0] != listing || parts[2].Length == 0) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out partition) || partition >= partitions) return false;
        lastRow = parts[2];
        return true;
    }

    /// <summary>
    /// Makes any string a valid table key: '%' and the characters keys may not hold ('/', '\', '#',
    /// '?', control characters) become %XX (ids accepted over HTTP never need it).
    /// </summary>
    public static string EscapeKey(string value)
    {
        if (!value.Any(NeedsEscape)) return value;
        var escaped = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (NeedsEscape(c)) escaped.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            else escaped.Append(c);
        }
        return escaped.ToString();
    }

    private static bool NeedsEscape(char c) => c is '%' or '/' or '\\' or '#' or '?' || char.IsControl(c);

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (tableExists) return;
        await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        tableExists = true;
    }
}

/// <summary>A session as the fleet index knows it.</summary>
public sealed record IndexedSession(string SessionId, DateTimeOffset OpenedAt);

/// <summary>One page of an agent's sessions; <see cref="Continuation"/> is null on the last page.</summary>
public sealed record SessionIndexPage(IReadOnlyList<IndexedSession> Sessions, string? Continuation);

/// <summary>
/// Upserts rows of any partitions: whatever arrives while a round of requests is in flight goes out
/// in the next round, one batch transaction per partition of at most 100 rows (Azure's limit per
/// transaction; one partition per transaction), so registrations and session openings at fleet
/// scale cost a fraction of a storage request each. Rows handed over together stay in one
/// transaction (all or nothing). Nothing waits for company.
/// </summary>
internal sealed class RowBatchWriter(TableClient table)
{
    public const int MaxBatch = 100;
    private readonly Lock gate = new();
    private readonly Queue<Unit> waiting = new();
    private bool sending;

    private sealed record Unit(TableEntity[] Rows, TaskCompletionSource Written);

    public Task UpsertAsync(TableEntity row) => UpsertTogetherAsync([row]);

    /// <summary>Upserts <paramref name="rows"/> of one partition in one transaction (shared with other callers' rows).</summary>
    public Task UpsertTogetherAsync(TableEntity[] rows)
    {
        if (rows.Length is 0 or > MaxBatch || rows.Any(r => r.PartitionKey != rows[0].PartitionKey))
            throw new ArgumentException($"1 to {MaxBatch} rows of one partition", nameof(rows));
        var unit = new Unit(rows, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (gate)
        {
            waiting.Enqueue(unit);
            if (sending) return unit.Written.Task;
            sending = true;
        }
        _ = Task.Run(SendWaitingAsync);
        return unit.Written.Task;
    }

    private async Task SendWaitingAsync()
    {
        while (true)
        {
            List<Unit> round;
            lock (gate)
            {
                if (waiting.Count == 0)
                {
                    sending = false;
                    return;
                }
                round = [.. waiting];
                waiting.Clear();
            }
            var transactions = new List<List<Unit>>();
            foreach (var partition in round.GroupBy(u => u.Rows[0].PartitionKey, StringComparer.Ordinal))
            {
                var (batch, rows) = (new List<Unit>(), 0);
                foreach (var unit in partition)
                {
                    if (rows + unit.Rows.Length > MaxBatch)
                    {
                        transactions.Add(batch);
                        (batch, rows) = (new List<Unit>(), 0);
                    }
                    batch.Add(unit);
                    rows += unit.Rows.Length;
                }
                transactions.Add(batch);
            }
            await Task.WhenAll(transactions.Select(SendAsync)).ConfigureAwait(false);
        }
    }

    private async Task SendAsync(List<Unit> batch)
    {
        try
        {
            // A transaction may not name a row twice: the last upsert of a row stands for all of them.
            var rows = batch.SelectMany(u => u.Rows).GroupBy(r => r.RowKey, StringComparer.Ordinal).Select(g => g.Last()).ToArray();
            if (rows.Length == 1) await table.UpsertEntityAsync(rows[0], TableUpdateMode.Replace).ConfigureAwait(false);
            else await table.SubmitTransactionAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r))).ConfigureAwait(false);
            foreach (var unit in batch) unit.Written.TrySetResult();
        }
        catch (Exception ex)
        {
            foreach (var unit in batch) unit.Written.TrySetException(ex);
        }
    }
}
