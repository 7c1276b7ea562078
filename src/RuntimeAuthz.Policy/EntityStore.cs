using RuntimeAuthz.Policy.Json;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy;

/// <summary>One entity: attributes, tags, direct parents and all ancestors (precomputed).</summary>
internal sealed class EntityData(EntityValue key, IReadOnlyDictionary<string, Value> attributes, IReadOnlyDictionary<string, Value> tags, IReadOnlyCollection<EntityValue> parents)
{
    public EntityValue Key { get; } = key;
    public EntityUid Uid => Key.Uid;
    public IReadOnlyDictionary<string, Value> Attributes { get; } = attributes;
    public IReadOnlyDictionary<string, Value> Tags { get; } = tags;
    public IReadOnlyCollection<EntityValue> Parents { get; } = parents;
    public AncestorSet Ancestors { get; set; } = AncestorSet.Empty;
}

/// <summary>
/// The entities a decision may read. Immutable; the transitive closure of the parent relation is
/// computed once at construction so <c>in</c> is a single hash lookup.
/// </summary>
public sealed class EntityStore
{
    // Never mutated after construction, so concurrent readers are safe.
    private readonly Dictionary<EntityValue, EntityData> entities;

    private EntityStore(Dictionary<EntityValue, EntityData> entities)
    {
        ComputeAncestors(entities);
        this.entities = entities;
    }

    public static EntityStore Empty { get; } = new(NewMap());

    private static Dictionary<EntityValue, EntityData> NewMap() => new(EntityValueComparer.Instance);

    public int Count => entities.Count;

    /// <summary>The entities in the store, as built or read.</summary>
    public IEnumerable<CedarEntity> Entities =>
        entities.Values.Select(e => new CedarEntity(e.Uid, new RecordValue(e.Attributes), new RecordValue(e.Tags), e.Parents));

    /// <summary>The uids of all entities in the store.</summary>
    public IEnumerable<EntityUid> Uids => entities.Keys.Select(k => k.Uid);

    public static EntityStore FromJson(string json, CedarSchema? schema = null, string sourceName = "entities.json") =>
        new(Parse(json, schema, sourceName, NewMap()));

    /// <summary>A merged copy; an entity in <paramref name="json"/> replaces one with the same uid.</summary>
    public EntityStore WithEntitiesFromJson(string json, CedarSchema? schema = null, string sourceName = "entities.json")
    {
        var merged = NewMap();
        foreach (var (key, data) in entities) merged[key] = new EntityData(key, data.Attributes, data.Tags, data.Parents);
        return new EntityStore(Parse(json, schema, sourceName, merged));
    }

    internal bool TryGet(EntityValue entity, out EntityData data) => entities.TryGetValue(entity, out data!);

    internal bool TryGet(EntityUid uid, out EntityData data) => TryGet(new EntityValue(uid), out data);

    /// <summary>Whether the store holds an entity with this uid.</summary>
    public bool Contains(EntityUid uid) => entities.ContainsKey(new EntityValue(uid));

    /// <summary>Cedar's <c>in</c>: the same entity, or an ancestor of it. Unknown entities have no ancestors.</summary>
    internal bool IsDescendantOrSelf(EntityValue entity, EntityValue ancestor) =>
        entity.SameAs(ancestor) || (entities.TryGetValue(entity, out var data) && data.Ancestors.Contains(ancestor));

    internal bool IsDescendantOrSelf(EntityUid entity, EntityUid ancestor) => IsDescendantOrSelf(new EntityValue(entity), new EntityValue(ancestor));

    internal AncestorSet AncestorsOf(EntityValue entity) =>
        entities.TryGetValue(entity, out var data) ? data.Ancestors : AncestorSet.Empty;

    private static Dictionary<EntityValue, EntityData> Parse(string json, CedarSchema? schema, string sourceName, Dictionary<EntityValue, EntityData> into)
    {
        var explicitJson = SchemaIntegration.ResolveEntitiesJson(json, schema, sourceName);
        try
        {
            return ParseExplicit(explicitJson, sourceName, into);
        }
        catch (CedarSyntaxException error) when (!ReferenceEquals(explicitJson, json))
        {
            throw JsonSource.Relocate(error, json, explicitJson, sourceName);
        }
    }

    private static Dictionary<EntityValue, EntityData> ParseExplicit(string json, string sourceName, Dictionary<EntityValue, EntityData> into)
    {
        var (source, root) = JsonSource.Parse(json, sourceName);
        if (root.Kind != JsonKind.Array) throw source.Error(root, CedarErrorKind.UnexpectedJsonValue, "expected a JSON array of entities");
        var seen = new HashSet<EntityUid>();
        foreach (var item in root.Items!)
        {
            if (item.Kind != JsonKind.Object) throw source.Error(item, CedarErrorKind.UnexpectedJsonValue, "expected an entity object with \"uid\", \"attrs\" and \"parents\"");
            var uidNode = item.Get("uid") ?? throw source.Error(item, CedarErrorKind.MissingField, "entity is missing \"uid\"");
            var uid = CedarJson.ToEntityUid(source, uidNode);
            var attributes = ReadRecord(source, item.Get("attrs") ?? throw source.Error(item, CedarErrorKind.MissingField, $"entity {uid} is missing \"attrs\""), "attrs");
            var tags = item.Get("tags") is { } tagsNode ? ReadRecord(source, tagsNode, "tags") : RecordValue.Empty;
            var parents = new HashSet<EntityValue>(EntityValueComparer.Instance);
            var parentsNode = item.Get("parents") ?? throw source.Error(item, CedarErrorKind.MissingField, $"entity {uid} is missing \"parents\"");
            if (parentsNode.Kind != JsonKind.Array) throw source.Error(parentsNode, CedarErrorKind.UnexpectedJsonValue, "\"parents\" must be an array of entity references");
            foreach (var parent in parentsNode.Items!) parents.Add(new EntityValue(CedarJson.ToEntityUid(source, parent)));
            if (!TryAdd(into, seen, new CedarEntity(uid, attributes, tags, parents)))
                throw source.Error(uidNode, CedarErrorKind.DuplicateEntity, $"duplicate entity {uid} with different contents");
        }
        return into;
    }

    /// <summary>
    /// The store of the given entities, built directly (no JSON). An entity given twice must be the same
    /// both times, as in Cedar's JSON; otherwise <see cref="ArgumentException"/>.
    /// </summary>
    public static EntityStore FromEntities(IEnumerable<CedarEntity> entities)
    {
        var into = NewMap();
        var seen = new HashSet<EntityUid>();
        foreach (var entity in entities)
        {
            if (!TryAdd(into, seen, entity)) throw new ArgumentException($"duplicate entity {entity.Uid} with different contents", nameof(entities));
        }
        return new EntityStore(into);
    }

    /// <summary>Adds the entity; false when another entity with its uid and other contents was given before.</summary>
    private static bool TryAdd(Dictionary<EntityValue, EntityData> into, HashSet<EntityUid> seen, CedarEntity entity)
    {
        var key = new EntityValue(entity.Uid);
        if (!seen.Add(entity.Uid) && !SameEntity(into[key], entity)) return false;
        into[key] = new EntityData(key, entity.AttributeRecord.Attributes, entity.TagRecord.Attributes, entity.ParentSet);
        return true;
    }

    private static bool SameEntity(EntityData a, CedarEntity b) =>
        new RecordValue(a.Attributes).Equals(b.AttributeRecord)
        && new RecordValue(a.Tags).Equals(b.TagRecord)
        && a.Parents.Count == b.ParentSet.Count && b.ParentSet.All(p => a.Parents.Contains(p));

    private static RecordValue ReadRecord(JsonSource source, JsonNode node, string what) =>
        node.Kind == JsonKind.Object ? CedarJson.ToRecord(source, node)
            : throw source.Error(node, CedarErrorKind.UnexpectedJsonValue, $"\"{what}\" must be a JSON object");

    // A breadth-first walk per entity: correct even for cyclic data, and the work is proportional
    // to the size of the closure being stored anyway.
    private static void ComputeAncestors(Dictionary<EntityValue, EntityData> entities)
    {
        var queue = new Queue<EntityValue>();
        foreach (var data in entities.Values)
        {
            if (data.Parents.Count == 0) { data.Ancestors = AncestorSet.Empty; continue; }
            var result = new HashSet<EntityValue>(EntityValueComparer.Instance);
            foreach (var parent in data.Parents)
                if (result.Add(parent)) queue.Enqueue(parent);
            while (queue.Count > 0)
            {
                if (!entities.TryGetValue(queue.Dequeue(), out var ancestor)) continue;
                foreach (var parent in ancestor.Parents)
                    if (result.Add(parent)) queue.Enqueue(parent);
            }
            data.Ancestors = new AncestorSet([.. result]);
        }
    }
}

/// <summary>The request context: a Cedar record.</summary>
public sealed class CedarContext
{
    internal CedarContext(RecordValue record) => Record = record;

    internal RecordValue Record { get; }

    public static CedarContext Empty { get; } = new(RecordValue.Empty);

    /// <summary>The context of a record built directly (see <see cref="CedarRecordBuilder"/>).</summary>
    public static CedarContext FromRecord(CedarValue record) => new(record.AsRecord("the context"));

    /// <summary>The context as a value (a record), e.g. to start a <see cref="CedarRecordBuilder"/> from.</summary>
    public CedarValue ToValue() => new(Record);

    public static CedarContext FromJson(string json, CedarSchema? schema = null, EntityUid? action = null, string sourceName = "context.json")
    {
        var explicitJson = SchemaIntegration.ResolveContextJson(json, schema, action, sourceName);
        try
        {
            var (source, root) = JsonSource.Parse(explicitJson, sourceName);
            if (root.Kind != JsonKind.Object) throw source.Error(root, CedarErrorKind.UnexpectedJsonValue, "the context must be a JSON object");
            var value = CedarJson.ToValue(source, root);
            if (value is not RecordValue record) throw source.Error(root, CedarErrorKind.UnexpectedJsonValue, "the context must be a record, not an entity or extension value");
            return new CedarContext(record);
        }
        catch (CedarSyntaxException error) when (!ReferenceEquals(explicitJson, json))
        {
            throw JsonSource.Relocate(error, json, explicitJson, sourceName);
        }
    }
}
