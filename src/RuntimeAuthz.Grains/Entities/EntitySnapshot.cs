using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Grains.Entities;

/// <summary>One stored entity as a silo holds it: read into Cedar values once, shared by every request that uses it.</summary>
public sealed class CachedEntity(EntityDocument document)
{
    private readonly Lazy<CedarEntity> cedar = new(() => new CedarEntity(
        new EntityUid(document.Uid.Type, document.Uid.Id),
        CedarJsonRecord.Parse(document.AttrsJson, $"stored entity {document.Uid}").ToValue(),
        document.Parents.Select(p => new EntityUid(p.Type, p.Id))));

    public EntityDocument Document { get; } = document;
    public EntityKey Uid => Document.Uid;
    public IReadOnlyList<EntityKey> References { get; } = EntityJson.References(JsonNode.Parse(document.AttrsJson));

    /// <summary>The entity as Cedar reads it (stored entities were checked when imported, so this reads).</summary>
    public CedarEntity Cedar => cedar.Value;
}

/// <summary>An immutable copy of the entity store at one version, as every silo holds it.</summary>
public sealed class EntitySnapshot
{
    /// <summary>Entities a single Cedar request takes from the store at most (the request's principal, resource and what they reach).</summary>
    public const int MaxRequestEntities = 512;

    private readonly Dictionary<EntityKey, CachedEntity> byUid;
    private readonly Dictionary<string, EntityKey[]> byType;

    public EntitySnapshot(long version, IEnumerable<EntityDocument> documents)
    {
        Version = version;
        byUid = documents.ToDictionary(d => d.Uid, d => new CachedEntity(d));
        byType = byUid.Keys.GroupBy(k => k.Type, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(k => k.Id, StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
    }

    public static EntitySnapshot Empty { get; } = new(0, []);

    public long Version { get; }
    public int Count => byUid.Count;

    public CachedEntity? Find(EntityKey uid) => byUid.GetValueOrDefault(uid);

    /// <summary>The ids of one type, in ordinal order (search candidates).</summary>
    public IReadOnlyList<EntityKey> OfType(string type) => byType.GetValueOrDefault(type) ?? [];

    /// <summary>
    /// The stored entities reachable from <paramref name="roots"/> through parents and entity-valued
    /// attributes, roots first, so that <c>in</c> and attribute chains see them; at most <see cref="MaxRequestEntities"/>.
    /// </summary>
    public IReadOnlyList<CachedEntity> Reachable(IEnumerable<EntityKey> roots)
    {
        var seen = new HashSet<EntityKey>();
        var queue = new Queue<EntityKey>(roots);
        var found = new List<CachedEntity>();
        while (queue.Count > 0 && found.Count < MaxRequestEntities)
        {
            var key = queue.Dequeue();
            if (!seen.Add(key) || !byUid.TryGetValue(key, out var entity)) continue;
            found.Add(entity);
            foreach (var parent in entity.Document.Parents) queue.Enqueue(parent);
            foreach (var reference in entity.References) queue.Enqueue(reference);
        }
        return found;
    }
}
