using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Fleet;

/// <summary>
/// The fleet index in Azure Table storage: one small row per agent, so no row grows with the fleet,
/// and the listing is a paged range query. Agent rows are spread over <see cref="AgentShards"/>
/// partitions by a hash of the id, and registrations that meet in a shard share a batch transaction.
/// An agent's sessions are listed by the <see cref="Sessions.SessionIndex"/> (its pointer rows), not
/// here: earlier versions wrote a row here per session as well, which is no longer read.
/// Partition keys start with the Orleans service id, so services sharing a storage account stay apart.
/// </summary>
public sealed class FleetIndex
{
    public const string TableName = "AuthzIndex";
    /// <summary>Agent rows are spread over this many partitions, so registrations at fleet scale are not bound by one partition's throughput.</summary>
    public const int AgentShards = 16;
    /// <summary>Continuations name their listing (and format version), so one listing's token is refused by another.</summary>
    private const string AgentListing = "a1";

    private readonly TableClient table;
    private readonly string servicePrefix;
    private readonly KeyRange[] agentRanges;
    private readonly RowBatchWriter rowWriter;
    private volatile bool tableExists;

    /// <summary>The DI key of the index's <see cref="TableServiceClient"/> (the grain storage account, with <see cref="CreateClientOptions"/>).</summary>
    public const string TableClientKey = "fleet-index";

    /// <summary>Few, quick retries: registration waits on these writes.</summary>
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
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var page = await KeysetPager.PageAsync(table, AgentListing, agentRanges, ["RowKey", "AgentId"], limit, continuation, cancellationToken).ConfigureAwait(false);
        return page.IsSuccess
            ? CommandResult<AgentIdPage>.Ok(new AgentIdPage { AgentIds = page.Value!.Rows.Select(r => r.GetString("AgentId") ?? "").ToArray(), Continuation = page.Value.Continuation })
            : CommandResult<AgentIdPage>.Fail(page.Error, page.Message!);
    }

    public static int ShardOf(string agentId) => SHA256.HashData(Encoding.UTF8.GetBytes(agentId))[0] % AgentShards;

    private string AgentPartition(int shard) => servicePrefix + "a|" + shard.ToString("x2", CultureInfo.InvariantCulture);

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
