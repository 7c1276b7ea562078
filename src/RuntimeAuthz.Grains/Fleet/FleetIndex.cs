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

namespace RuntimeAuthz.Grains;

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
    private const string ContinuationVersion = "a1";

    private readonly TableClient table;
    private readonly string servicePrefix;
    private volatile bool tableExists;

    public FleetIndex(string connectionString, IOptions<ClusterOptions> cluster)
    {
        // Few, quick retries: registration and session opening wait on these writes.
        var options = new TableClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(5);
        table = new TableServiceClient(connectionString, options).GetTableClient(TableName);
        servicePrefix = EscapeKey(cluster.Value.ServiceId) + "|";
    }

    /// <summary>Lists the agent (idempotent).</summary>
    public async Task AddAgentAsync(string agentId, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(AgentPartition(ShardOf(agentId)), EscapeKey(agentId)) { ["AgentId"] = agentId };
        await table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Up to <paramref name="limit"/> agent ids after <paramref name="continuation"/>, in index order
    /// (by shard, then id); the continuation is null after the last agent. Invalid for a limit outside
    /// 1..<see cref="AgentDirectoryLimits.MaxPageSize"/> or a continuation this index did not issue.
    /// </summary>
    public async Task<CommandResult<AgentIdPage>> ListAgentsAsync(int limit, string? continuation, CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > AgentDirectoryLimits.MaxPageSize)
            return CommandResult<AgentIdPage>.Fail(CommandError.Invalid, $"limit must be between 1 and {AgentDirectoryLimits.MaxPageSize}");
        var (shard, after) = (0, "");
        if (continuation is not null && !TryReadContinuation(continuation, out shard, out after))
            return CommandResult<AgentIdPage>.Fail(CommandError.Invalid, "continuation is not one this service issued (pass back the value of a previous page unchanged)");
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);

        var ids = new List<string>(limit);
        var lastRow = after;
        for (; shard < AgentShards; shard++, lastRow = "")
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {AgentPartition(shard)} and RowKey gt {lastRow}");
            await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: limit - ids.Count, select: ["RowKey", "AgentId"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                ids.Add(entity.GetString("AgentId") ?? "");
                lastRow = entity.RowKey;
                if (ids.Count == limit)
                    return CommandResult<AgentIdPage>.Ok(new AgentIdPage { AgentIds = ids, Continuation = WriteContinuation(shard, lastRow) });
            }
        }
        return CommandResult<AgentIdPage>.Ok(new AgentIdPage { AgentIds = ids });
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

    private static string WriteContinuation(int shard, string lastRow) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{ContinuationVersion}|{shard.ToString(CultureInfo.InvariantCulture)}|{lastRow}"));

    private static bool TryReadContinuation(string continuation, out int shard, out string lastRow)
    {
        (shard, lastRow) = (0, "");
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
        if (parts.Length != 3 || parts[0] != ContinuationVersion || parts[2].Length == 0) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out shard) || shard >= AgentShards) return false;
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
