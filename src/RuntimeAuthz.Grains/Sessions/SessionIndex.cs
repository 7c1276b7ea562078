using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Fleet;

namespace RuntimeAuthz.Grains.Sessions;

/// <summary>
/// The session index in Azure Table storage (layout in docs/session-search.md). Each session is listed
/// under a row key that orders by last activity, newest first (inverted ticks), in three places:
/// its agent's key range, its fleet's partitions and the service-wide partitions. Agents' rows are
/// spread over <see cref="AgentShards"/> partitions by agent id, each agent's keys starting with its
/// own (so rows of different agents share batch transactions); fleet and service-wide rows are split
/// by UTC day of last activity and by <see cref="Shards"/> (so no partition takes a whole fleet's
/// writes). A small directory of days lets a search walk only days that hold sessions. Every search
/// is range queries on row keys within named partitions: no table scan.
/// Only the session's grain writes its rows, so writes of one session never race.
/// </summary>
public sealed class SessionIndex
{
    /// <summary>
    /// Layout 2 (agents' rows sharded). Layout 1 (table AuthzSessionIndex, one partition per agent) is
    /// not read: a session listed there appears here once its grain next writes, as if never indexed.
    /// </summary>
    public const string TableName = "AuthzSessionIndex2";
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;
    /// <summary>Fleet and service-wide days are each spread over this many partitions (a search reads them all and merges).</summary>
    public const int Shards = 8;
    /// <summary>Agents' session rows are spread over this many partitions (by agent id).</summary>
    public const int AgentShards = 16;
    /// <summary>Azure's limit of operations per batch transaction.</summary>
    public const int MaxBatch = 100;
    private const string TokenVersion = "q1";
    /// <summary>Names the agent session listing's continuations (see <see cref="KeysetPager"/>).</summary>
    private const string AgentSessionListing = "as1";

    private static readonly string[] Columns =
        ["RowKey", "SessionId", "AgentId", "Fleet", "Status", "OpenedAt", "LastActivityAt", "UsableUntil", "CumulativeRisk", "Decisions", "Denies", "LastPolicyVersion"];

    private readonly TableClient table;
    private readonly string prefix;
    private readonly string[] agentPartitions;
    /// <summary>Day directory rows already written by this silo (the directory only grows).</summary>
    private readonly ConcurrentDictionary<string, byte> knownDays = new(StringComparer.Ordinal);
    private volatile bool tableExists;
    /// <summary>First listings of sessions (nothing to move): rows of concurrent openings share batch transactions.</summary>
    private readonly RowBatchWriter newRows;

    public SessionIndex(TableServiceClient client, IOptions<ClusterOptions> cluster)
    {
        table = client.GetTableClient(TableName);
        prefix = Key(cluster.Value.ServiceId) + "|";
        agentPartitions = [.. Enumerable.Range(0, AgentShards).Select(shard => prefix + "as|" + shard.ToString("x2", CultureInfo.InvariantCulture))];
        newRows = new RowBatchWriter(table);
    }

    // ---- writing --------------------------------------------------------------------------

    /// <summary>Where a session is listed: its row key's activity part, and the day and fleet it is listed under.</summary>
    public sealed record Position(string Activity, string Fleet)
    {
        public static Position Of(SessionIndexEntry entry) => new(Inverted(entry.LastActivityAt), entry.Fleet);
    }

    /// <summary>The index's own record of a session (its agent partition's pointer row): what is listed and where, and where it was listed before.</summary>
    public sealed record Indexed(SessionIndexEntry Entry, Position Current, Position? Previous);

    /// <summary>The pointer row of the session, or null when the session was never indexed.</summary>
    public async Task<Indexed?> ReadAsync(string agentId, string sessionId, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(AgentPartition(agentId), AgentPointerKey(agentId, sessionId), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!row.HasValue || row.Value is not { } pointer) return null;
        var current = new Position(pointer.GetString("Position") ?? "", pointer.GetString("Fleet") ?? "");
        var previous = pointer.GetString("PreviousPosition") is { Length: > 0 } activity ? new Position(activity, pointer.GetString("PreviousFleet") ?? "") : null;
        return new Indexed(FromRow(pointer), current, previous);
    }

    /// <summary>
    /// Lists <paramref name="entry"/> where its activity now puts it and removes the rows of
    /// <paramref name="stale"/> positions. The agent partition's listing row moves together with the
    /// pointer row in one transaction; the fleet and service-wide rows follow, so a failure between
    /// the two leaves the pointer naming the position to clean up (its previous one) on the next write.
    /// </summary>
    public async Task<Position> WriteAsync(SessionIndexEntry entry, IReadOnlyCollection<Position> stale, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var position = Position.Of(entry);
        var day = DayOf(entry.LastActivityAt);
        await EnsureDayListedAsync(day, entry.Fleet, cancellationToken).ConfigureAwait(false);
        var moved = stale.Where(p => p != position).Distinct().ToArray();
        if (stale.Count == 0)
        {
            await ListNewAsync(entry, position, day).WaitAsync(cancellationToken).ConfigureAwait(false);
            return position;
        }
        var previous = moved.FirstOrDefault();

        var pointer = ToRow(AgentPartition(entry.AgentId), AgentPointerKey(entry.AgentId, entry.SessionId), entry);
        pointer["Position"] = position.Activity;
        pointer["PreviousPosition"] = previous?.Activity;
        pointer["PreviousFleet"] = previous?.Fleet;
        var agentRows = new List<TableTransactionAction>
        {
            new(TableTransactionActionType.UpsertReplace, pointer),
            new(TableTransactionActionType.UpsertReplace, ToRow(AgentPartition(entry.AgentId), AgentListingKey(entry.AgentId, position.Activity, entry.SessionId), entry)),
        };
        agentRows.AddRange(moved.Where(p => p.Activity != position.Activity).Select(p => p.Activity).Distinct()
            .Select(activity => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(AgentPartition(entry.AgentId), AgentListingKey(entry.AgentId, activity, entry.SessionId)), ETag.All)));
        await SubmitIgnoringMissingAsync(agentRows, cancellationToken).ConfigureAwait(false);

        foreach (var partition in ScopePartitions(entry.Fleet, day, entry.SessionId))
            await table.UpsertEntityAsync(ToRow(partition, ListingKey(position.Activity, entry.SessionId), entry), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        foreach (var old in moved)
        {
            foreach (var partition in ScopePartitions(old.Fleet, DayOfInverted(old.Activity), entry.SessionId))
            {
                var key = ListingKey(old.Activity, entry.SessionId);
                if (old.Activity == position.Activity && ScopePartitions(entry.Fleet, day, entry.SessionId).Contains(partition)) continue;
                await DeleteIfExistsAsync(partition, key, cancellationToken).ConfigureAwait(false);
            }
        }
        return position;
    }

    /// <summary>
    /// A session listed nowhere yet: its rows go out with other sessions' in batch transactions, all
    /// partitions at once (no earlier position to clean up, so no order is needed); the pointer and the
    /// agent partition's listing row stay in one transaction.
    /// </summary>
    private Task ListNewAsync(SessionIndexEntry entry, Position position, DateOnly day)
    {
        var pointer = ToRow(AgentPartition(entry.AgentId), AgentPointerKey(entry.AgentId, entry.SessionId), entry);
        pointer["Position"] = position.Activity;
        var agentRows = newRows.UpsertTogetherAsync([pointer, ToRow(AgentPartition(entry.AgentId), AgentListingKey(entry.AgentId, position.Activity, entry.SessionId), entry)]);
        return Task.WhenAll([agentRows, .. ScopePartitions(entry.Fleet, day, entry.SessionId)
            .Select(partition => newRows.UpsertAsync(ToRow(partition, ListingKey(position.Activity, entry.SessionId), entry)))]);
    }

    /// <summary>
    /// Writes many entries at once (benchmarks, tests, rebuilding the index): rows grouped by partition
    /// into batch transactions of <see cref="MaxBatch"/>, <paramref name="parallelism"/> transactions in flight.
    /// The entries must be of distinct sessions that are not yet indexed.
    /// </summary>
    public async Task BulkWriteAsync(IEnumerable<SessionIndexEntry> entries, int parallelism, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<TableEntity>();
        var days = new HashSet<(DateOnly, string)>();
        foreach (var entry in entries)
        {
            var position = Position.Of(entry);
            var day = DayOf(entry.LastActivityAt);
            days.Add((day, entry.Fleet));
            var pointer = ToRow(AgentPartition(entry.AgentId), AgentPointerKey(entry.AgentId, entry.SessionId), entry);
            pointer["Position"] = position.Activity;
            rows.Add(pointer);
            rows.Add(ToRow(AgentPartition(entry.AgentId), AgentListingKey(entry.AgentId, position.Activity, entry.SessionId), entry));
            rows.AddRange(ScopePartitions(entry.Fleet, day, entry.SessionId).Select(p => ToRow(p, ListingKey(position.Activity, entry.SessionId), entry)));
        }
        foreach (var (day, fleet) in days) await EnsureDayListedAsync(day, fleet, cancellationToken).ConfigureAwait(false);
        var batches = rows.GroupBy(r => r.PartitionKey, StringComparer.Ordinal).SelectMany(g => g.Chunk(MaxBatch));
        await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (batch, ct) =>
        {
            var actions = batch.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)).ToArray();
            // The index's client retries briefly (grains wait on it); a bulk load outlasts a busy moment. Upserts repeat safely.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await table.SubmitTransactionAsync(actions, ct).ConfigureAwait(false);
                    return;
                }
                catch (Exception ex) when (attempt < 8 && !ct.IsCancellationRequested && ex is not TableTransactionFailedException { Status: >= 400 and < 500 })
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt), ct).ConfigureAwait(false);
                }
            }
        }).ConfigureAwait(false);
    }

    private async Task SubmitIgnoringMissingAsync(List<TableTransactionAction> actions, CancellationToken cancellationToken)
    {
        try
        {
            await table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 404 && actions.Any(a => a.ActionType == TableTransactionActionType.Delete))
        {
            // A row to remove is already gone: the transaction without the removals does the rest.
            await table.SubmitTransactionAsync(actions.Where(a => a.ActionType != TableTransactionActionType.Delete), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task DeleteIfExistsAsync(string partition, string rowKey, CancellationToken cancellationToken)
    {
        try
        {
            await table.DeleteEntityAsync(partition, rowKey, ETag.All, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Already removed.
        }
    }

    private async Task EnsureDayListedAsync(DateOnly day, string fleet, CancellationToken cancellationToken)
    {
        foreach (var scope in new[] { AllScope, FleetScope(fleet) })
        {
            var rowKey = DayKey(scope, day);
            if (knownDays.ContainsKey(rowKey)) continue;
            await table.UpsertEntityAsync(new TableEntity(DaysPartition, rowKey), TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
            knownDays.TryAdd(rowKey, 0);
        }
    }

    // ---- searching ------------------------------------------------------------------------

    /// <summary>
    /// The agent's sessions in id order, a page at a time (default and limits of the fleet listings),
    /// read from their pointer rows: one per session, keyed by its id, so a session whose activity
    /// moves its listing rows keeps its place here. Invalid for a limit outside
    /// 1..<see cref="AgentDirectoryLimits.MaxPageSize"/> or a continuation this listing did not issue.
    /// </summary>
    public async Task<CommandResult<AgentSessionPage>> ListAgentSessionsAsync(string agentId, int limit, string? continuation, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var page = await KeysetPager.PageAsync(table, AgentSessionListing, [AgentPointers(agentId)], ["RowKey", "SessionId", "OpenedAt"], limit, continuation, cancellationToken).ConfigureAwait(false);
        return page.IsSuccess
            ? CommandResult<AgentSessionPage>.Ok(new AgentSessionPage(
                [.. page.Value!.Rows.Select(r => new AgentSession(r.GetString("SessionId") ?? "", r.GetDateTimeOffset("OpenedAt") ?? DateTimeOffset.MinValue))],
                page.Value.Continuation))
            : CommandResult<AgentSessionPage>.Fail(page.Error, page.Message!);
    }

    /// <summary>The agent's sessions opened at or after <paramref name="since"/> (the revocation fan-out's readers), paged from storage as they are read.</summary>
    public async IAsyncEnumerable<string> AgentSessionsOpenedSinceAsync(string agentId, DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var filter = $"{AgentPointers(agentId).Filter("")} and {TableClient.CreateQueryFilter($"OpenedAt ge {since}")}";
        await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["SessionId"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.GetString("SessionId") is { } sessionId) yield return sessionId;
        }
    }

    /// <summary>
    /// One page of sessions matching <paramref name="query"/>, newest activity first. Invalid for a limit
    /// outside 1..<see cref="MaxPageSize"/> or a continuation not issued for this same query.
    /// </summary>
    public async Task<CommandResult<SessionSearchPage>> SearchAsync(SessionSearchQuery query, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        if (query.Limit is < 1 or > MaxPageSize)
            return CommandResult<SessionSearchPage>.Fail(CommandError.Invalid, $"limit must be between 1 and {MaxPageSize}");
        var fingerprint = Fingerprint(query);
        string? after = null;
        if (query.Continuation is { } token && !TryReadContinuation(token, fingerprint, out after))
            return CommandResult<SessionSearchPage>.Fail(CommandError.Invalid, "continuation is not one this search issued (pass back the value of the previous page of the same search unchanged)");
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);

        // Row keys grow as activity gets older: activeBefore bounds them from below, activeAfter (and
        // openedAfter: nothing is active before it opened) from above.
        var lowest = query.ActiveBefore is { } before ? Inverted(before.AddTicks(-1)) : null;
        var newestActive = Latest(query.ActiveAfter, query.OpenedAfter);
        var beyond = newestActive is { } since ? Inverted(since.AddTicks(-1)) : null;
        var filter = PropertyFilter(query, now);

        var items = new List<SessionIndexEntry>(query.Limit);
        string? lastKey = null;
        foreach (var (partitions, keyPrefix) in await PartitionGroupsAsync(query, after, newestActive, cancellationToken).ConfigureAwait(false))
        {
            var wanted = query.Limit - items.Count;
            var keyRange = KeyRange(keyPrefix, lowest, beyond, after);
            foreach (var row in await MergeAsync(partitions, keyRange, filter, wanted, cancellationToken).ConfigureAwait(false))
            {
                var entry = FromRow(row);
                items.Add(entry with { Status = entry.StatusAt(now) });
                // Continuations hold the key without the agent's part, the same for every scope.
                lastKey = row.RowKey[keyPrefix.Length..];
            }
            if (items.Count == query.Limit)
                return CommandResult<SessionSearchPage>.Ok(new SessionSearchPage(items, WriteContinuation(fingerprint, lastKey!)));
        }
        return CommandResult<SessionSearchPage>.Ok(new SessionSearchPage(items, null));
    }

    /// <summary>
    /// The partitions to read, in order, with the prefix of the row keys to read in them: the agent's key
    /// range in its shard; or, for a fleet or the whole service, each listed day from the newest one the
    /// search can reach back to the oldest, a day's shards together (whole partitions).
    /// </summary>
    private async Task<IReadOnlyList<(string[] Partitions, string KeyPrefix)>> PartitionGroupsAsync(SessionSearchQuery query, string? after, DateTimeOffset? newestActive, CancellationToken cancellationToken)
    {
        if (query.AgentId is { } agentId) return [([AgentPartition(agentId)], AgentPrefix(agentId))];
        var scope = query.Fleet is { } fleet ? FleetScope(fleet) : AllScope;
        DateOnly? newestDay = after is not null ? DayOfInverted(after[..19]) : query.ActiveBefore is { } before ? DayOf(before.AddTicks(-1)) : null;
        DateOnly? oldestDay = newestActive is { } since ? DayOf(since) : null;
        var from = newestDay is { } newest ? DayKey(scope, newest) : scope + "|";
        var to = oldestDay is { } oldest ? DayKey(scope, oldest) : scope + "|~";
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {DaysPartition} and RowKey ge {from} and RowKey le {to}");
        var groups = new List<(string[], string)>();
        await foreach (var day in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var listed = ParseDayKey(day.RowKey);
            groups.Add(([.. Enumerable.Range(0, Shards).Select(shard => ScopePartition(scope, listed, shard))], ""));
        }
        return groups;
    }

    private static string KeyRange(string keyPrefix, string? lowest, string? beyond, string? after)
    {
        var parts = new List<string>(3);
        if (lowest is not null) parts.Add(TableClient.CreateQueryFilter($"RowKey ge {keyPrefix + lowest}"));
        if (after is not null) parts.Add(TableClient.CreateQueryFilter($"RowKey gt {keyPrefix + after}"));
        // Other agents' keys sort outside [prefix, prefix + "~"): '|' ends the agent's part (it is escaped inside it).
        if (lowest is null && after is null && keyPrefix.Length > 0) parts.Add(TableClient.CreateQueryFilter($"RowKey gt {keyPrefix}"));
        // Listing keys are digits then '|'; the pointer rows ('~...') sort after them all.
        parts.Add(TableClient.CreateQueryFilter($"RowKey lt {keyPrefix + (beyond ?? "~")}"));
        return string.Join(" and ", parts);
    }

    /// <summary>
    /// The first <paramref name="wanted"/> matching rows of the partitions together, in key order: each
    /// partition is read in pages of about its share, and read further only while its rows are next.
    /// </summary>
    private async Task<List<TableEntity>> MergeAsync(string[] partitions, string keyRange, string? filter, int wanted, CancellationToken cancellationToken)
    {
        var pageSize = Math.Min(1000, partitions.Length == 1 ? wanted : wanted * 2 / partitions.Length + 8);
        var cursors = partitions.Select(p => table.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {p}") + " and " + keyRange + (filter is null ? "" : " and " + filter),
            maxPerPage: pageSize, select: Columns, cancellationToken: cancellationToken).GetAsyncEnumerator(cancellationToken)).ToArray();
        try
        {
            var next = new PriorityQueue<int, string>(StringComparer.Ordinal);
            var started = await Task.WhenAll(cursors.Select(c => c.MoveNextAsync().AsTask())).ConfigureAwait(false);
            for (var i = 0; i < cursors.Length; i++)
            {
                if (started[i]) next.Enqueue(i, cursors[i].Current.RowKey);
            }
            var rows = new List<TableEntity>(wanted);
            while (rows.Count < wanted && next.TryDequeue(out var i, out _))
            {
                rows.Add(cursors[i].Current);
                if (rows.Count < wanted && await cursors[i].MoveNextAsync().ConfigureAwait(false)) next.Enqueue(i, cursors[i].Current.RowKey);
            }
            return rows;
        }
        finally
        {
            foreach (var cursor in cursors) await cursor.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The filters on columns, evaluated by the table service within the key ranges read.</summary>
    private static string? PropertyFilter(SessionSearchQuery query, DateTimeOffset now)
    {
        var parts = new List<string>();
        if (query.AgentId is not null && query.Fleet is { } fleet) parts.Add(TableClient.CreateQueryFilter($"Fleet eq {fleet}"));
        parts.Add(query.Status switch
        {
            SessionStatus.Open => TableClient.CreateQueryFilter($"Status eq {nameof(SessionStatus.Open)} and UsableUntil gt {now}"),
            SessionStatus.Expired => TableClient.CreateQueryFilter($"(Status eq {nameof(SessionStatus.Expired)} or (Status eq {nameof(SessionStatus.Open)} and UsableUntil le {now}))"),
            SessionStatus.Closed => TableClient.CreateQueryFilter($"Status eq {nameof(SessionStatus.Closed)}"),
            _ => "",
        });
        if (query.OpenedAfter is { } openedAfter) parts.Add(TableClient.CreateQueryFilter($"OpenedAt ge {openedAfter}"));
        if (query.OpenedBefore is { } openedBefore) parts.Add(TableClient.CreateQueryFilter($"OpenedAt lt {openedBefore}"));
        if (query.MinRisk is { } minRisk) parts.Add(TableClient.CreateQueryFilter($"CumulativeRisk ge {minRisk}"));
        if (query.HasDenies is { } hasDenies) parts.Add(hasDenies ? TableClient.CreateQueryFilter($"Denies gt {0L}") : TableClient.CreateQueryFilter($"Denies eq {0L}"));
        if (query.PolicyVersion is { } version) parts.Add(TableClient.CreateQueryFilter($"LastPolicyVersion eq {version}"));
        parts.RemoveAll(p => p.Length == 0);
        return parts.Count == 0 ? null : string.Join(" and ", parts);
    }

    // ---- continuations --------------------------------------------------------------------

    /// <summary>
    /// A continuation names the last row key returned and the search it belongs to (a digest of its
    /// filters), with a checksum so that an altered token is refused. It grants nothing: a caller can
    /// only continue a search it may make.
    /// </summary>
    private static string WriteContinuation(string fingerprint, string lastKey)
    {
        var payload = $"{TokenVersion}|{fingerprint}|{lastKey}";
        return Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload + "|" + Checksum(payload)));
    }

    private static bool TryReadContinuation(string token, string fingerprint, out string lastKey)
    {
        lastKey = "";
        if (!KeysetPager.TryDecodeToken(token, maxLength: 2048, out var text)) return false;
        var cut = text.LastIndexOf('|');
        if (cut < 0 || text[(cut + 1)..] != Checksum(text[..cut])) return false;
        var parts = text[..cut].Split('|', 3);
        if (parts.Length != 3 || parts[0] != TokenVersion || parts[1] != fingerprint) return false;
        var key = parts[2];
        if (key.Length < 21 || key[19] != '|' || key.AsSpan(0, 19).ContainsAnyExceptInRange('0', '9')) return false;
        lastKey = key;
        return true;
    }

    private static string Fingerprint(SessionSearchQuery query)
    {
        var canonical = string.Join('\n',
            query.AgentId, query.Fleet, query.Status, Ticks(query.OpenedAfter), Ticks(query.OpenedBefore), Ticks(query.ActiveAfter), Ticks(query.ActiveBefore),
            query.MinRisk, query.HasDenies, query.PolicyVersion);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)).AsSpan(0, 8));
    }

    private static string Checksum(string payload) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("session-search|" + payload)).AsSpan(0, 8));

    private static string? Ticks(DateTimeOffset? at) => at?.UtcTicks.ToString(CultureInfo.InvariantCulture);

    // ---- keys -----------------------------------------------------------------------------

    private const string AllScope = "all";
    private static string FleetScope(string fleet) => "fl:" + Key(fleet);
    private string DaysPartition => prefix + "days";
    private string AgentPartition(string agentId) => agentPartitions[AgentShardOf(agentId)];
    public static int AgentShardOf(string agentId) => SHA256.HashData(Encoding.UTF8.GetBytes(agentId))[0] % AgentShards;
    /// <summary>The agent's part of its rows' keys; '|' is escaped inside it, so it ends where the session's part starts.</summary>
    private static string AgentPrefix(string agentId) => Key(agentId) + "|";
    private static string AgentListingKey(string agentId, string activity, string sessionId) => AgentPrefix(agentId) + ListingKey(activity, sessionId);
    private static string AgentPointerKey(string agentId, string sessionId) => AgentPrefix(agentId) + PointerKey(sessionId);
    /// <summary>The agent's pointer rows: its keys whose session part starts with the pointer mark.</summary>
    private KeyRange AgentPointers(string agentId) => new(AgentPartition(agentId), AgentPrefix(agentId) + PointerMark);
    private string ScopePartition(string scope, DateOnly day, int shard) =>
        $"{prefix}{scope}|{day.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}|{shard.ToString(CultureInfo.InvariantCulture)}";

    private IEnumerable<string> ScopePartitions(string fleet, DateOnly day, string sessionId)
    {
        var shard = ShardOf(sessionId);
        yield return ScopePartition(AllScope, day, shard);
        yield return ScopePartition(FleetScope(fleet), day, shard);
    }

    public static int ShardOf(string sessionId) => SHA256.HashData(Encoding.UTF8.GetBytes(sessionId))[0] % Shards;

    private static string ListingKey(string activity, string sessionId) => activity + "|" + Key(sessionId);
    /// <summary>Sorts after the digits of every listing key, so an agent's pointer rows are one key range.</summary>
    private const string PointerMark = "~";
    private static string PointerKey(string sessionId) => PointerMark + Key(sessionId);

    /// <summary>19 digits that sort newest first.</summary>
    public static string Inverted(DateTimeOffset at) => (DateTime.MaxValue.Ticks - Math.Clamp(at.UtcTicks, 0, DateTime.MaxValue.Ticks)).ToString("D19", CultureInfo.InvariantCulture);

    private static DateOnly DayOf(DateTimeOffset at) => DateOnly.FromDateTime(at.UtcDateTime);

    private static DateOnly DayOfInverted(string activity) =>
        DateOnly.FromDateTime(new DateTime(DateTime.MaxValue.Ticks - long.Parse(activity, NumberStyles.None, CultureInfo.InvariantCulture), DateTimeKind.Utc));

    /// <summary>Directory keys sort newest day first within a scope.</summary>
    private static string DayKey(string scope, DateOnly day) =>
        scope + "|" + (DateOnly.MaxValue.DayNumber - day.DayNumber).ToString("D7", CultureInfo.InvariantCulture);

    private static DateOnly ParseDayKey(string rowKey) =>
        DateOnly.FromDayNumber(DateOnly.MaxValue.DayNumber - int.Parse(rowKey.AsSpan(rowKey.LastIndexOf('|') + 1), NumberStyles.None, CultureInfo.InvariantCulture));

    /// <summary>A valid key part: table-key escaping, and '|' (our separator) escaped too.</summary>
    private static string Key(string value) => FleetIndex.EscapeKey(value).Replace("|", "%7C", StringComparison.Ordinal);

    private static DateTimeOffset? Latest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;

    // ---- rows -----------------------------------------------------------------------------

    private static TableEntity ToRow(string partition, string rowKey, SessionIndexEntry entry) => new(partition, rowKey)
    {
        ["SessionId"] = entry.SessionId, ["AgentId"] = entry.AgentId, ["Fleet"] = entry.Fleet, ["Status"] = entry.Status.ToString(),
        ["OpenedAt"] = entry.OpenedAt, ["LastActivityAt"] = entry.LastActivityAt, ["UsableUntil"] = entry.UsableUntil,
        ["CumulativeRisk"] = entry.CumulativeRisk, ["Decisions"] = entry.Decisions, ["Denies"] = entry.Denies, ["LastPolicyVersion"] = entry.LastPolicyVersion,
    };

    private static SessionIndexEntry FromRow(TableEntity row) => new()
    {
        SessionId = row.GetString("SessionId") ?? "", AgentId = row.GetString("AgentId") ?? "", Fleet = row.GetString("Fleet") ?? "",
        Status = Enum.TryParse<SessionStatus>(row.GetString("Status"), out var status) ? status : SessionStatus.Expired,
        OpenedAt = row.GetDateTimeOffset("OpenedAt") ?? DateTimeOffset.MinValue,
        LastActivityAt = row.GetDateTimeOffset("LastActivityAt") ?? DateTimeOffset.MinValue,
        UsableUntil = row.GetDateTimeOffset("UsableUntil") ?? DateTimeOffset.MinValue,
        CumulativeRisk = row.GetInt64("CumulativeRisk") ?? 0, Decisions = row.GetInt64("Decisions") ?? 0,
        Denies = row.GetInt64("Denies") ?? 0, LastPolicyVersion = row.GetInt64("LastPolicyVersion") ?? 0,
    };

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (tableExists) return;
        await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        tableExists = true;
    }
}

/// <summary>A session as its agent's listing shows it.</summary>
public sealed record AgentSession(string SessionId, DateTimeOffset OpenedAt);

/// <summary>One page of an agent's sessions; <see cref="Continuation"/> is null on the last page.</summary>
public sealed record AgentSessionPage(IReadOnlyList<AgentSession> Sessions, string? Continuation);
