using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Orleans.Utilities;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Entities;

/// <summary>Persisted state of <see cref="EntityStoreGrain"/>: the version only, the entities are rows of <see cref="EntityTable"/>.</summary>
public sealed record EntityStoreState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public long Version { get; init; }
}

/// <summary>
/// The entity store (key 0). Holds every entity in memory, reads them from the table on activation and
/// writes changes there before its version moves; silos' caches follow the version (push plus poll).
/// Activation itself counts as a new version: a change interrupted half-written (rows written, version
/// not) is then still picked up by every silo.
/// </summary>
public sealed class EntityStoreGrain(
    [PersistentState("entityStore", AuthzStorage.ProviderName)] IPersistentState<EntityStoreState> state,
    EntityTable table,
    AuthzClock clock,
    ILogger<EntityStoreGrain> logger) : Grain, IEntityStoreGrain
{
    private static readonly TimeSpan StorageTimeout = TimeSpan.FromSeconds(30);
    private readonly ObserverManager<IEntityStoreObserver> observers = new(TimeSpan.FromMinutes(2), logger);
    private SortedDictionary<EntityKey, EntityDocument> entities = new(KeyOrder.Instance);
    /// <summary>What silos copy: a version and its entities, replaced together (reads interleave with changes).</summary>
    private volatile Published published = new(0, []);

    private sealed record Published(long Version, EntityDocument[] Entities);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
        state.State = state.State with { Version = state.State.Version + 1 };
        await state.WriteStateAsync(cancellationToken);
        published = new Published(state.State.Version, [.. entities.Values]);
        logger.LogInformation("Entity store at version {Version} with {Count} entities", state.State.Version, entities.Count);
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        var loaded = new SortedDictionary<EntityKey, EntityDocument>(KeyOrder.Instance);
        foreach (var document in await table.ReadAllAsync(cancellationToken)) loaded[document.Uid] = document;
        entities = loaded;
    }

    public async Task<CommandResult<EntityImportResult>> Import(EntityImportRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Actor)) return CommandResult<EntityImportResult>.Fail(CommandError.Invalid, "actor must not be empty");
        if (request.Entities.Count > EntityLimits.MaxEntities)
            return CommandResult<EntityImportResult>.Fail(CommandError.Invalid, $"an import holds at most {EntityLimits.MaxEntities} entities, not {request.Entities.Count}");
        var given = new Dictionary<EntityKey, EntityDocument>();
        for (var i = 0; i < request.Entities.Count; i++)
        {
            var document = request.Entities[i];
            if (EntityJson.Check(document, $"entities[{i}]") is { } problem) return CommandResult<EntityImportResult>.Fail(CommandError.Invalid, problem);
            if (given.TryGetValue(document.Uid, out var earlier) && !Same(earlier, document))
                return CommandResult<EntityImportResult>.Fail(CommandError.Invalid, $"entities[{i}]: {document.Uid} is given twice with different contents");
            given[document.Uid] = document;
        }

        var next = request.Mode == EntityImportMode.Replace
            ? new SortedDictionary<EntityKey, EntityDocument>(KeyOrder.Instance)
            : new SortedDictionary<EntityKey, EntityDocument>(entities, KeyOrder.Instance);
        foreach (var (key, document) in given) next[key] = document;
        if (next.Count > EntityLimits.MaxEntities)
            return CommandResult<EntityImportResult>.Fail(CommandError.Invalid, $"the store would hold {next.Count} entities, more than {EntityLimits.MaxEntities}");
        if (Hierarchy.Problem(next) is { } shape) return CommandResult<EntityImportResult>.Fail(CommandError.Invalid, shape);

        var removed = request.Mode == EntityImportMode.Replace ? entities.Keys.Where(k => !next.ContainsKey(k)).ToArray() : [];
        var changed = given.Values.Where(d => !entities.TryGetValue(d.Uid, out var old) || !Same(old, d)).ToArray();
        await CommitAsync(next, changed, removed);
        await RecordAsync("entities-import", request.Actor, request.ActorIssuer,
            $"{request.Mode.ToString().ToLowerInvariant()}: {given.Count} entities given, {changed.Length} changed, {removed.Length} removed; version {state.State.Version}",
            new JsonObject { ["mode"] = request.Mode.ToString(), ["uids"] = new JsonArray(given.Keys.Take(1000).Select(k => (JsonNode?)k.ToString()).ToArray()) });
        return CommandResult<EntityImportResult>.Ok(new EntityImportResult { Version = state.State.Version, Imported = given.Count, Removed = removed.Length, Total = entities.Count });
    }

    public async Task<CommandResult<long>> Delete(EntityKey uid, string actor, string? actorIssuer)
    {
        if (!entities.ContainsKey(uid)) return CommandResult<long>.Fail(CommandError.NotFound, $"entity {uid} not found");
        var next = new SortedDictionary<EntityKey, EntityDocument>(entities, KeyOrder.Instance);
        next.Remove(uid);
        await CommitAsync(next, [], [uid]);
        await RecordAsync("entity-delete", actor, actorIssuer, $"{uid} deleted; version {state.State.Version}", new JsonObject { ["uid"] = uid.ToString() });
        return CommandResult<long>.Ok(state.State.Version);
    }

    /// <summary>Rows first, then the version: a silo never sees a version whose rows are not written. A failed write re-reads the table.</summary>
    private async Task CommitAsync(SortedDictionary<EntityKey, EntityDocument> next, IReadOnlyList<EntityDocument> upserts, IReadOnlyList<EntityKey> deletes)
    {
        using var timeout = new CancellationTokenSource(StorageTimeout);
        try
        {
            await table.WriteAsync(upserts, deletes, timeout.Token);
            entities = next;
        }
        catch
        {
            // Part of the change may be stored: memory follows the table, and the version moves so every silo does too.
            await LoadAsync(CancellationToken.None);
            throw;
        }
        finally
        {
            state.State = state.State with { Version = state.State.Version + 1 };
            await state.WriteStateAsync();
            published = new Published(state.State.Version, [.. entities.Values]);
            await observers.Notify(o => o.EntitiesChanged(state.State.Version));
        }
        logger.LogInformation("Entity store version {Version}: {Upserts} written, {Deletes} deleted, {Count} entities", state.State.Version, upserts.Count, deletes.Count, entities.Count);
    }

    private async Task RecordAsync(string action, string actor, string? issuer, string detail, JsonObject input)
    {
        input["actorIssuer"] = issuer;
        try
        {
            var recorded = await GrainFactory.GetGrain<IGovernanceEvidenceGrain>(0).Record(new GovernanceRecord
            {
                Kind = RuntimeAuthz.Evidence.EvidenceKinds.Governance, Action = action, Actor = actor, At = clock.UtcNow,
                Resource = $"entity store version {state.State.Version}", Detail = detail, InputJson = input.ToJsonString(),
            });
            if (!recorded) logger.LogError("Entity store version {Version} has no evidence record", state.State.Version);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Entity store version {Version} has no evidence record", state.State.Version);
        }
    }

    public Task<EntityDocument?> Get(EntityKey uid) => Task.FromResult(entities.GetValueOrDefault(uid));

    public Task<CommandResult<EntityPage>> List(string? type, int limit, string? continuation)
    {
        if (limit is < 1 or > EntityLimits.MaxPageSize)
            return Task.FromResult(CommandResult<EntityPage>.Fail(CommandError.Invalid, $"limit must be between 1 and {EntityLimits.MaxPageSize}"));
        EntityKey? after = null;
        if (continuation is not null && (after = ReadContinuation(continuation)) is null)
            return Task.FromResult(CommandResult<EntityPage>.Fail(CommandError.Invalid, "continuation is not one this store issued"));
        var page = entities.Values
            .Where(d => type is null || d.Uid.Type == type)
            .Where(d => after is null || KeyOrder.Instance.Compare(d.Uid, after) > 0)
            .Take(limit + 1).ToArray();
        var more = page.Length > limit;
        var items = more ? page[..limit] : page;
        return Task.FromResult(CommandResult<EntityPage>.Ok(new EntityPage
        {
            Entities = items, Version = state.State.Version, Continuation = more ? WriteContinuation(items[^1].Uid) : null,
        }));
    }

    public Task<long> CurrentVersion() => Task.FromResult(published.Version);

    public Task<EntitySnapshotPage?> ReadSnapshot(long version, int from, int max)
    {
        var (current, ordered) = published;
        if (version != current) return Task.FromResult<EntitySnapshotPage?>(null);
        from = Math.Clamp(from, 0, ordered.Length);
        var count = Math.Min(Math.Clamp(max, 1, EntityLimits.MaxPageSize), ordered.Length - from);
        var next = from + count < ordered.Length ? from + count : (int?)null;
        return Task.FromResult<EntitySnapshotPage?>(new EntitySnapshotPage { Version = version, Entities = ordered[from..(from + count)], Next = next });
    }

    public Task Subscribe(IEntityStoreObserver observer)
    {
        observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    public Task Unsubscribe(IEntityStoreObserver observer)
    {
        observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    private static bool Same(EntityDocument a, EntityDocument b) =>
        a.Uid == b.Uid && a.Parents.ToHashSet().SetEquals(b.Parents) && JsonNode.DeepEquals(JsonNode.Parse(a.AttrsJson), JsonNode.Parse(b.AttrsJson));

    // "e1." + base64url(type \n id): names its listing's format, so another token is refused.
    private static string WriteContinuation(EntityKey key) => "e1." + Convert.ToBase64String(Encoding.UTF8.GetBytes(key.Type + "\n" + key.Id)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static EntityKey? ReadContinuation(string token)
    {
        if (!token.StartsWith("e1.", StringComparison.Ordinal)) return null;
        var text = token[3..].Replace('-', '+').Replace('_', '/');
        text = text.PadRight(text.Length + (4 - text.Length % 4) % 4, '=');
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(text)).Split('\n', 2);
            return parts.Length == 2 ? EntityKey.Of(parts[0], parts[1]) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>Ordinal (type, id) order: listings and snapshots page through it.</summary>
public sealed class KeyOrder : IComparer<EntityKey>
{
    public static readonly KeyOrder Instance = new();

    public int Compare(EntityKey? x, EntityKey? y)
    {
        var type = string.CompareOrdinal(x?.Type, y?.Type);
        return type != 0 ? type : string.CompareOrdinal(x?.Id, y?.Id);
    }
}

/// <summary>The parent relation must be acyclic and at most <see cref="EntityLimits.MaxDepth"/> deep.</summary>
public static class Hierarchy
{
    public static string? Problem(IReadOnlyDictionary<EntityKey, EntityDocument> entities)
    {
        var depth = new Dictionary<EntityKey, int>();
        var onPath = new HashSet<EntityKey>();
        string? problem = null;

        int Depth(EntityKey key, int level)
        {
            if (depth.TryGetValue(key, out var known)) return known;
            // Deeper than allowed: stop walking (bounds the recursion as well).
            if (level > EntityLimits.MaxDepth) return EntityLimits.MaxDepth + 1;
            if (!entities.TryGetValue(key, out var document) || document.Parents.Count == 0) return depth[key] = 0;
            if (!onPath.Add(key))
            {
                problem ??= $"the parents of {key} form a cycle";
                return EntityLimits.MaxDepth + 1;
            }
            var deepest = 0;
            foreach (var parent in document.Parents)
            {
                deepest = Math.Max(deepest, Depth(parent, level + 1) + 1);
                if (problem is not null || deepest > EntityLimits.MaxDepth) break;
            }
            onPath.Remove(key);
            return depth[key] = deepest;
        }

        foreach (var key in entities.Keys)
        {
            if (Depth(key, 0) > EntityLimits.MaxDepth)
                return problem ?? $"{key} has more than {EntityLimits.MaxDepth} levels of parents";
            if (problem is not null) return problem;
        }
        return null;
    }
}
