using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Fleet;

/// <summary>
/// The fleet index in Azure Table storage: one small row per agent (spread over
/// <see cref="AgentShards"/> partitions) and one per session in its agent's partition, so no row
/// grows with the fleet or with an agent's sessions, and listings are paged range queries.
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
    private readonly string[] agentPartitions;
    private readonly AgentRowWriter[] agentWriters;
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
        agentPartitions = Enumerable.Range(0, AgentShards).Select(AgentPartition).ToArray();
        agentWriters = Enumerable.Range(0, AgentShards).Select(_ => new AgentRowWriter(table)).ToArray();
    }

    /// <summary>Lists the agent (idempotent); registrations that meet in a shard share one batch transaction.</summary>
    public async Task AddAgentAsync(string agentId, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var shard = ShardOf(agentId);
        await agentWriters[shard].UpsertAsync(new TableEntity(agentPartitions[shard], EscapeKey(agentId)) { ["AgentId"] = agentId }).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Up to <paramref name="limit"/> agent ids after <paramref name="continuation"/>, in index order
    /// (by shard, then id); the continuation is null after the last agent. Invalid for a limit outside
    /// 1..<see cref="AgentDirectoryLimits.MaxPageSize"/> or a continuation this index did not issue.
    /// </summary>
    public async Task<CommandResult<AgentIdPage>> ListAgentsAsync(int limit, string? continuation, CancellationToken cancellationToken = default)
    {
        var page = await PageAsync(AgentListing, agentPartitions, "AgentId", limit, continuation, cancellationToken).ConfigureAwait(false);
        return page.IsSuccess
            ? CommandResult<AgentIdPage>.Ok(new AgentIdPage { AgentIds = page.Value!.Rows.Select(r => r.GetString("AgentId") ?? "").ToArray(), Continuation = page.Value.Continuation })
            : CommandResult<AgentIdPage>.Fail(page.Error, page.Message!);
    }

    /// <summary>The agent's sessions, a page at a time in id order, with when each was opened (same limits as <see cref="ListAgentsAsync"/>).</summary>
    public async Task<CommandResult<SessionIndexPage>> ListSessionsAsync(string agentId, int limit, string? continuation, CancellationToken cancellationToken = default)
    {
        var page = await PageAsync(SessionListing, [SessionPartition(agentId)], "SessionId", limit, continuation, cancellationToken).ConfigureAwait(false);
        return page.IsSuccess
            ? CommandResult<SessionIndexPage>.Ok(new SessionIndexPage(
                page.Value!.Rows.Select(r => new IndexedSession(r.GetString("SessionId") ?? "", r.GetDateTimeOffset("OpenedAt") ?? DateTimeOffset.MinValue)).ToArray(),
                page.Value.Continuation))
            : CommandResult<SessionIndexPage>.Fail(page.Error, page.Message!);
    }

    private sealed record RowPage(IReadOnlyList<TableEntity> Rows, string? Continuation);

    /// <summary>Keyset paging over <paramref name="partitions"/> in order: the continuation names a partition and the last row key returned.</summary>
    private async Task<CommandResult<RowPage>> PageAsync(string listing, string[] partitions, string property, int limit, string? continuation, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > AgentDirectoryLimits.MaxPageSize)
            return CommandResult<RowPage>.Fail(CommandError.Invalid, $"limit must be between 1 and {AgentDirectoryLimits.MaxPageSize}");
        var (partition, after) = (0, "");
        if (continuation is not null && !TryReadContinuation(listing, partitions.Length, continuation, out partition, out after))
            return CommandResult<RowPage>.Fail(CommandError.Invalid, "continuation is not one this listing issued (pass back the value of a previous page unchanged)");
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);

        var rows = new List<TableEntity>(limit);
        for (var lastRow = after; partition < partitions.Length; partition++, lastRow = "")
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partitions[partition]} and RowKey gt {lastRow}");
            var select = new[] { "RowKey", property, "OpenedAt" };
            await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: limit - rows.Count, select: select, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                rows.Add(entity);
                if (rows.Count == limit)
                    return CommandResult<RowPage>.Ok(new RowPage(rows, WriteContinuation(listing, partition, entity.RowKey)));
            }
        }
        return CommandResult<RowPage>.Ok(new RowPage(rows, null));
    }

    /// <summary>Records a session of the agent (idempotent), stamped with when it was opened.</summary>
    public async Task AddSessionAsync(string agentId, string sessionId, DateTimeOffset openedAt, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(SessionPartition(agentId), EscapeKey(sessionId)) { ["SessionId"] = sessionId, ["OpenedAt"] = openedAt };
        await table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The agent's sessions opened at or after <paramref name="since"/>, paged from storage as they are read.</summary>
    public async IAsyncEnumerable<string> SessionsOpenedSinceAsync(string agentId, DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {SessionPartition(agentId)} and OpenedAt ge {since}");
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["SessionId"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (entity.GetString("SessionId") is { } sessionId) yield return sessionId;
        }
    }

    public static int ShardOf(string agentId) => SHA256.HashData(Encoding.UTF8.GetBytes(agentId))[0] % AgentShards;

    private string AgentPartition(int shard) => servicePrefix + "a|" + shard.ToString("x2", CultureInfo.InvariantCulture);

    private string SessionPartition(string agentId) => servicePrefix + "s|" + EscapeKey(agentId);

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
/// Upserts into one agent partition: rows that arrive while a request is in flight go out together
/// in the next one, as a batch transaction of at most 100 (Azure's limit per transaction), so
/// registrations at fleet scale cost a fraction of a storage request each. Nothing waits for company.
/// </summary>
internal sealed class AgentRowWriter(TableClient table)
{
    private const int MaxBatch = 100;
    private readonly Lock gate = new();
    private readonly Queue<(TableEntity Row, TaskCompletionSource Written)> waiting = new();
    private bool sending;

    public Task UpsertAsync(TableEntity row)
    {
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            waiting.Enqueue((row, written));
            if (sending) return written.Task;
            sending = true;
        }
        _ = Task.Run(SendWaitingAsync);
        return written.Task;
    }

    private async Task SendWaitingAsync()
    {
        while (true)
        {
            var batch = new List<(TableEntity Row, TaskCompletionSource Written)>(MaxBatch);
            lock (gate)
            {
                while (batch.Count < MaxBatch && waiting.TryDequeue(out var next)) batch.Add(next);
                if (batch.Count == 0)
                {
                    sending = false;
                    return;
                }
            }
            try
            {
                // A transaction may not name a row twice: the last upsert of a row stands for all of them.
                var rows = batch.GroupBy(b => b.Row.RowKey, StringComparer.Ordinal).Select(g => g.Last().Row).ToArray();
                if (rows.Length == 1) await table.UpsertEntityAsync(rows[0], TableUpdateMode.Replace).ConfigureAwait(false);
                else await table.SubmitTransactionAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r))).ConfigureAwait(false);
                foreach (var (_, written) in batch) written.TrySetResult();
            }
            catch (Exception ex)
            {
                foreach (var (_, written) in batch) written.TrySetException(ex);
            }
        }
    }
}
