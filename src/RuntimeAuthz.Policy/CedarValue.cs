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

    /// <summary>A field of a record value; false when this is not a record or has no such field.</summary>
    public bool TryGetField(string name, out CedarValue value)
    {
        value = default;
        if (Inner is not RecordValue record || !record.TryGet(name, out var field)) return false;
        value = new(field);
        return true;
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
