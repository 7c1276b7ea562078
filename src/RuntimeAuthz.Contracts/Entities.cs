using System.Text.Json.Serialization;
using Orleans.Concurrency;

namespace RuntimeAuthz.Contracts;

/// <summary>An entity's uid: its Cedar type (<c>User</c>, <c>Ns::Folder</c>) and id.</summary>
[GenerateSerializer, Immutable, Alias("authz.EntityKey")]
public sealed record EntityKey
{
    [Id(0)] public string Type { get; init; } = "";
    [Id(1)] public string Id { get; init; } = "";

    public static EntityKey Of(string type, string id) => new() { Type = type, Id = id };

    public override string ToString() => $"{Type}::\"{Id}\"";
}

/// <summary>
/// One entity of the entity store, as Cedar's JSON entity format has it: uid, attributes (a JSON object
/// text in Cedar's JSON value forms, so <c>{"__entity": …}</c> and <c>{"__extn": …}</c> work) and parents.
/// </summary>
[GenerateSerializer, Immutable, Alias("authz.EntityDocument")]
public sealed record EntityDocument
{
    [Id(0)] public EntityKey Uid { get; init; } = new();
    /// <summary>JSON object text: the entity's attributes.</summary>
    [Id(1)] public string AttrsJson { get; init; } = "{}";
    [Id(2)] public IReadOnlyList<EntityKey> Parents { get; init; } = [];
}

[JsonConverter(typeof(JsonStringEnumConverter<EntityImportMode>))]
public enum EntityImportMode
{
    /// <summary>Each given entity replaces the stored one with its uid (a whole entity, not its attributes one by one); others stay.</summary>
    Merge,
    /// <summary>The store becomes exactly the given entities.</summary>
    Replace,
}

[GenerateSerializer, Immutable, Alias("authz.EntityImportRequest")]
public sealed record EntityImportRequest
{
    [Id(0)] public EntityImportMode Mode { get; init; } = EntityImportMode.Merge;
    [Id(1)] public IReadOnlyList<EntityDocument> Entities { get; init; } = [];
    /// <summary>Who imports (the token's subject); recorded in the governance chain.</summary>
    [Id(2)] public string Actor { get; init; } = "";
    [Id(3)] public string? ActorIssuer { get; init; }
}

[GenerateSerializer, Immutable, Alias("authz.EntityImportResult")]
public sealed record EntityImportResult
{
    /// <summary>The store's version after the import; decisions record the version they used.</summary>
    [Id(0)] public long Version { get; init; }
    [Id(1)] public int Imported { get; init; }
    /// <summary>Entities removed (replace mode only).</summary>
    [Id(2)] public int Removed { get; init; }
    /// <summary>Entities in the store afterwards.</summary>
    [Id(3)] public int Total { get; init; }
}

[GenerateSerializer, Immutable, Alias("authz.EntityPage")]
public sealed record EntityPage
{
    [Id(0)] public IReadOnlyList<EntityDocument> Entities { get; init; } = [];
    /// <summary>Pass back for the next page; null on the last page.</summary>
    [Id(1)] public string? Continuation { get; init; }
    [Id(2)] public long Version { get; init; }
}

/// <summary>One page of a consistent copy of the whole store at <see cref="Version"/> (for the silos' caches).</summary>
[GenerateSerializer, Immutable, Alias("authz.EntitySnapshotPage")]
public sealed record EntitySnapshotPage
{
    [Id(0)] public long Version { get; init; }
    [Id(1)] public IReadOnlyList<EntityDocument> Entities { get; init; } = [];
    /// <summary>Index to ask for next; null after the last page.</summary>
    [Id(2)] public int? Next { get; init; }
}

/// <summary>The documented, enforced limits of the entity store.</summary>
public static class EntityLimits
{
    public const int MaxEntities = 10_000;
    /// <summary>UTF-8 bytes of one entity's attributes as JSON (a stored row stays far below Azure's 64 KiB per property).</summary>
    public const int MaxAttrsBytes = 16 * 1024;
    public const int MaxParents = 32;
    /// <summary>Longest chain of parents from any entity to a root (<c>Doc → Folder → Folder …</c>).</summary>
    public const int MaxDepth = 16;
    public const int MaxIdLength = 256;
    public const int MaxTypeLength = 128;
    public const int MaxPageSize = 1000;
    public const int DefaultPageSize = 100;
}

/// <summary>Receives entity-store change notifications; one per silo (its entity cache).</summary>
[Alias("authz.IEntityStoreObserver")]
public interface IEntityStoreObserver : IGrainObserver
{
    [Alias("EntitiesChanged"), OneWay] Task EntitiesChanged(long version);
}

/// <summary>
/// The entity store, the policy information point (singleton, key 0): entities in Azure Table storage,
/// held in memory here, versioned, and pushed to every silo (push plus poll) like policy versions.
/// </summary>
[Alias("authz.IEntityStoreGrain")]
public interface IEntityStoreGrain : IGrainWithIntegerKey
{
    /// <summary>Validates every entity and the resulting store (limits, parent depth) before writing any; Invalid names the first problem.</summary>
    [Alias("Import")] Task<CommandResult<EntityImportResult>> Import(EntityImportRequest request);

    [Alias("Get")] Task<EntityDocument?> Get(EntityKey uid);

    /// <summary>Entities in (type, id) order, of one type when <paramref name="type"/> is given; Invalid for a continuation this store did not issue.</summary>
    [Alias("List")] Task<CommandResult<EntityPage>> List(string? type, int limit, string? continuation);

    /// <summary>The new version; NotFound when no such entity is stored.</summary>
    [Alias("Delete")] Task<CommandResult<long>> Delete(EntityKey uid, string actor, string? actorIssuer);

    /// <summary>The published version; interleaves with a change in progress (silos need not wait for its evidence record).</summary>
    [Alias("CurrentVersion"), AlwaysInterleave] Task<long> CurrentVersion();

    /// <summary>Entities from index <paramref name="from"/> of the store at <paramref name="version"/>; null when the store has moved on (start again).</summary>
    [Alias("ReadSnapshot"), AlwaysInterleave] Task<EntitySnapshotPage?> ReadSnapshot(long version, int from, int max);

    [Alias("Subscribe")] Task Subscribe(IEntityStoreObserver observer);

    [Alias("Unsubscribe")] Task Unsubscribe(IEntityStoreObserver observer);
}

/// <summary>A decision without a session: for any subject (and for agents where configuration allows it).</summary>
[GenerateSerializer, Immutable, Alias("authz.SessionlessDecisionRequest")]
public sealed record SessionlessDecisionRequest
{
    /// <summary>The Cedar principal (for an agent: type <c>Agent</c>, decided through its grants as in a session).</summary>
    [Id(0)] public EntityKey Principal { get; init; } = new();
    /// <summary>JSON object: the caller's subject properties, present only when the caller is trusted for them.</summary>
    [Id(1)] public string? SubjectPropertiesJson { get; init; }
    /// <summary>Action, resource (with trusted properties only), context, input, caller, decision id.</summary>
    [Id(2)] public DecisionRequest Request { get; init; } = new();
}

/// <summary>
/// Decides session-less requests of one principal, in order, and seals each into the principal's
/// own evidence chain (<c>sessionless:&lt;Type&gt;::&lt;id&gt;</c>); key = that chain's principal key.
/// </summary>
[Alias("authz.ISessionlessDecisionGrain")]
public interface ISessionlessDecisionGrain : IGrainWithStringKey
{
    /// <summary>Never throws: any failure, or evidence that cannot be made durable, is a Deny.</summary>
    [Alias("Decide")] Task<AuthzDecision> Decide(SessionlessDecisionRequest request);
}
