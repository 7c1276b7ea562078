using RuntimeAuthz.Policy.Evaluation;
using RuntimeAuthz.Policy.Json;

namespace RuntimeAuthz.Policy;

/// <summary>
/// A Cedar value built by the host (a bool, long, string, entity, set, record or extension value), for
/// entities and contexts made without writing JSON for the engine to read again. Immutable; equality is
/// Cedar's. <c>default</c> is no value: every builder refuses it.
/// </summary>
public readonly struct CedarValue : IEquatable<CedarValue>
{
    internal CedarValue(Value value) => Inner = value;

    internal Value Inner { get; }

    public static CedarValue EmptyRecord { get; } = new(RecordValue.Empty);

    public static CedarValue Bool(bool value) => new(BoolValue.Of(value));
    public static CedarValue Long(long value) => new(LongValue.Of(value));
    public static CedarValue String(string value) => new(new StringValue(value ?? throw new ArgumentNullException(nameof(value))));
    public static CedarValue Entity(EntityUid uid) => new(new EntityValue(uid));
    public static CedarValue Set(IEnumerable<CedarValue> items) => new(new SetValue(items.Select(Unwrap)));

    /// <summary>A record of the fields; a name given twice is an <see cref="ArgumentException"/>.</summary>
    public static CedarValue Record(IEnumerable<KeyValuePair<string, CedarValue>> fields)
    {
        var record = new CedarRecordBuilder();
        foreach (var (name, value) in fields)
        {
            if (record.Contains(name)) throw new ArgumentException($"record field \"{name}\" is given twice", nameof(fields));
            record.Set(name, value);
        }
        return record.ToValue();
    }

    /// <summary>An extension constructor applied to a string, e.g. <c>Extension("decimal", "1.25")</c> or <c>Extension("ip", "10.0.0.0/8")</c>.</summary>
    public static CedarValue Extension(string function, string argument)
    {
        if (!ExtensionFunction.Constructors.TryGetValue(function, out var constructor))
            throw new ArgumentException($"unknown extension constructor '{function}' (decimal, ip, datetime, duration)", nameof(function));
        try
        {
            return new(constructor.Invoke1(new StringValue(argument)));
        }
        catch (EvaluationException e)
        {
            throw new ArgumentException(e.Message, nameof(argument), e);
        }
    }

    /// <summary>
    /// A value from its Cedar JSON form (explicit <c>{"__entity": …}</c> and <c>{"__extn": …}</c> for values plain JSON
    /// cannot say), read as entities' attributes are; errors are <see cref="CedarSyntaxException"/>s at positions in <paramref name="json"/>.
    /// </summary>
    /// <param name="maxDepth">How deep the JSON may nest.</param>
    public static CedarValue FromJson(string json, string sourceName = "value.json", int maxDepth = JsonSource.DefaultMaxDepth)
    {
        var (source, root) = JsonSource.Parse(json, sourceName, maxDepth);
        return new(CedarJson.ToValue(source, root));
    }

    /// <summary>
    /// A JSON object read as a record of its members, as an entity's <c>attrs</c> or a context are: a member named
    /// <c>__entity</c> or <c>__extn</c> is a plain field at this level. Anything but an object is an error.
    /// </summary>
    public static CedarValue RecordFromJson(string json, string sourceName = "record.json", int maxDepth = JsonSource.DefaultMaxDepth)
    {
        var (source, root) = JsonSource.Parse(json, sourceName, maxDepth);
        if (root.Kind != JsonKind.Object) throw source.Error(root, CedarErrorKind.UnexpectedJsonValue, $"{sourceName} must be a JSON object");
        return new(CedarJson.ToRecord(source, root));
    }

    public bool IsRecord => Inner is RecordValue;

    /// <summary>The entities this value refers to, wherever they are inside it (record fields, set elements).</summary>
    public IEnumerable<EntityUid> EntityReferences()
    {
        var pending = new Stack<Value>();
        if (Inner is not null) pending.Push(Inner);
        while (pending.Count > 0)
        {
            switch (pending.Pop())
            {
                case EntityValue entity: yield return entity.Uid; break;
                case SetValue set: foreach (var item in set.Items) pending.Push(item); break;
                case RecordValue record: foreach (var field in record.Attributes.Values) pending.Push(field); break;
            }
        }
    }

    internal static Value Unwrap(CedarValue value) => value.Inner ?? throw new ArgumentException("a default CedarValue is no value", nameof(value));

    internal RecordValue AsRecord(string what) =>
        Unwrap(this) as RecordValue ?? throw new ArgumentException($"{what} must be a record, not {Inner.TypeName}");

    public bool Equals(CedarValue other) => Inner is null ? other.Inner is null : other.Inner is not null && Inner.Equals(other.Inner);
    public override bool Equals(object? obj) => obj is CedarValue other && Equals(other);
    public override int GetHashCode() => Inner?.GetHashCode() ?? 0;
    public static bool operator ==(CedarValue left, CedarValue right) => left.Equals(right);
    public static bool operator !=(CedarValue left, CedarValue right) => !left.Equals(right);

    /// <summary>The Cedar literal form (records with their fields in ordinal order).</summary>
    public override string ToString() => Inner?.ToString() ?? "";
}

/// <summary>Builds a Cedar record field by field; a later <see cref="Set"/> of a name replaces the earlier value.</summary>
public sealed class CedarRecordBuilder
{
    private readonly Dictionary<string, Value> fields;

    public CedarRecordBuilder() => fields = new(StringComparer.Ordinal);

    /// <summary>Starts from the fields of <paramref name="record"/>.</summary>
    public CedarRecordBuilder(CedarValue record) =>
        fields = new(record.AsRecord("the starting value").Attributes, StringComparer.Ordinal);

    public int Count => fields.Count;

    public bool Contains(string name) => fields.ContainsKey(name);

    public CedarRecordBuilder Set(string name, CedarValue value)
    {
        ArgumentNullException.ThrowIfNull(name);
        fields[name] = CedarValue.Unwrap(value);
        return this;
    }

    /// <summary>Sets every field of <paramref name="record"/> (its values win).</summary>
    public CedarRecordBuilder SetAll(CedarValue record)
    {
        foreach (var (name, value) in record.AsRecord("the fields to set").Attributes) fields[name] = value;
        return this;
    }

    public CedarValue ToValue() => new(fields.Count == 0 ? RecordValue.Empty : new RecordValue(new Dictionary<string, Value>(fields, StringComparer.Ordinal)));

    public CedarContext ToContext() => new((RecordValue)ToValue().Inner);
}

/// <summary>One entity built by the host: its uid, attributes and tags (records) and direct parents.</summary>
public sealed class CedarEntity
{
    public CedarEntity(EntityUid uid, CedarValue attributes, IEnumerable<EntityUid> parents, CedarValue tags = default)
    {
        Uid = uid;
        Attributes = attributes.Inner is null ? CedarValue.EmptyRecord : attributes;
        AttributeRecord = Attributes.AsRecord($"the attributes of {uid}");
        TagRecord = tags.Inner is null ? RecordValue.Empty : tags.AsRecord($"the tags of {uid}");
        ParentSet = new HashSet<EntityValue>(parents.Select(p => new EntityValue(p)), EntityValueComparer.Instance);
    }

    internal CedarEntity(EntityUid uid, RecordValue attributes, RecordValue tags, IReadOnlyCollection<EntityValue> parents)
    {
        Uid = uid;
        Attributes = new(attributes);
        AttributeRecord = attributes;
        TagRecord = tags;
        ParentSet = parents;
    }

    public EntityUid Uid { get; }
    public CedarValue Attributes { get; }
    public CedarValue Tags => new(TagRecord);
    public IEnumerable<EntityUid> Parents => ParentSet.Select(p => p.Uid);

    internal RecordValue AttributeRecord { get; }
    internal RecordValue TagRecord { get; }
    internal IReadOnlyCollection<EntityValue> ParentSet { get; }

    /// <summary>The same entity with other attributes.</summary>
    public CedarEntity WithAttributes(CedarValue attributes) =>
        new(Uid, attributes.AsRecord($"the attributes of {Uid}"), TagRecord, ParentSet);

    /// <summary>Whether both say the same: uid, attributes, tags and parents (in any order).</summary>
    public bool SameAs(CedarEntity other) =>
        Uid == other.Uid && AttributeRecord.Equals(other.AttributeRecord) && TagRecord.Equals(other.TagRecord)
        && ParentSet.Count == other.ParentSet.Count && ParentSet.All(p => other.ParentSet.Contains(p, EntityValueComparer.Instance));
}
