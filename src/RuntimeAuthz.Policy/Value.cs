using System.Collections.Frozen;
using System.Text;

namespace RuntimeAuthz.Policy;

internal enum ValueKind { Bool, Long, String, Entity, Set, Record, Decimal, IpAddr, Datetime, Duration }

/// <summary>
/// A Cedar runtime value. Immutable; equality is Cedar's structural equality (values of
/// different kinds are never equal).
/// </summary>
internal abstract class Value : IEquatable<Value>
{
    public abstract ValueKind Kind { get; }
    public abstract string TypeName { get; }
    public abstract bool Equals(Value? other);
    public sealed override bool Equals(object? obj) => obj is Value v && Equals(v);
    public abstract override int GetHashCode();
    public abstract void Write(StringBuilder builder);
    public override string ToString() { var b = new StringBuilder(); Write(b); return b.ToString(); }
}

internal sealed class BoolValue : Value
{
    public static readonly BoolValue True = new(true);
    public static readonly BoolValue False = new(false);
    private BoolValue(bool value) => Value = value;
    public bool Value { get; }
    public static BoolValue Of(bool value) => value ? True : False;
    public override ValueKind Kind => ValueKind.Bool;
    public override string TypeName => "bool";
    public override bool Equals(Value? other) => ReferenceEquals(this, other);
    public override int GetHashCode() => Value ? 1 : 2;
    public override void Write(StringBuilder builder) => builder.Append(Value ? "true" : "false");
}

internal sealed class LongValue : Value
{
    private const int CacheMin = -128, CacheMax = 1024;
    private static readonly LongValue[] Cache = CreateCache();
    private LongValue(long value) => Value = value;
    public long Value { get; }

    // Small integers are shared so arithmetic on common values does not allocate.
    public static LongValue Of(long value) =>
        value >= CacheMin && value <= CacheMax ? Cache[value - CacheMin] : new LongValue(value);

    private static LongValue[] CreateCache()
    {
        var cache = new LongValue[CacheMax - CacheMin + 1];
        for (var i = 0; i < cache.Length; i++) cache[i] = new LongValue(i + CacheMin);
        return cache;
    }

    public override ValueKind Kind => ValueKind.Long;
    public override string TypeName => "long";
    public override bool Equals(Value? other) => other is LongValue l && l.Value == Value;
    public override int GetHashCode() => Value.GetHashCode();
    public override void Write(StringBuilder builder) => builder.Append(Value);
}

internal sealed class StringValue(string value) : Value
{
    public string Value { get; } = value;
    public override ValueKind Kind => ValueKind.String;
    public override string TypeName => "string";
    public override bool Equals(Value? other) => other is StringValue s && string.Equals(s.Value, Value, StringComparison.Ordinal);
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);
    public override void Write(StringBuilder builder) => builder.Append('"').Append(EntityUid.EscapeString(Value)).Append('"');
}

/// <summary>
/// An entity reference. The hash is computed once, because entity values are the keys of every
/// hot lookup (store, ancestors, scope index) and hashing the two strings again each time dominated.
/// </summary>
internal sealed class EntityValue : Value
{
    private readonly int hash;

    public EntityValue(EntityUid uid)
    {
        Uid = uid;
        hash = uid.GetHashCode();
    }

    public EntityUid Uid { get; }
    public override ValueKind Kind => ValueKind.Entity;
    public override string TypeName => "entity";
    public override bool Equals(Value? other) => other is EntityValue e && SameAs(e);
    public bool SameAs(EntityValue other) =>
        ReferenceEquals(this, other) || (other.hash == hash && string.Equals(other.Uid.Id, Uid.Id, StringComparison.Ordinal) && string.Equals(other.Uid.Type, Uid.Type, StringComparison.Ordinal));
    public override int GetHashCode() => hash;
    public override void Write(StringBuilder builder) => builder.Append(Uid.ToString());
}

/// <summary>A set: elements are distinct; lookups go through a hash set once the set is not tiny.</summary>
internal sealed class SetValue : Value
{
    private const int LinearScanLimit = 8;
    private readonly HashSet<Value>? lookup;

    public static readonly SetValue Empty = new([]);

    private SetValue(Value[] distinctItems, HashSet<Value>? lookup)
    {
        Items = distinctItems;
        this.lookup = lookup;
    }

    public SetValue(IEnumerable<Value> items)
    {
        var distinct = new HashSet<Value>(items);
        Items = [.. distinct];
        lookup = Items.Length > LinearScanLimit ? distinct : null;
    }

    public static SetValue FromDistinctCandidates(Value[] items)
    {
        if (items.Length <= 1) return new SetValue(items, null);
        return new SetValue((IEnumerable<Value>)items);
    }

    public Value[] Items { get; }
    public int Count => Items.Length;

    public bool Contains(Value value)
    {
        if (lookup is not null) return lookup.Contains(value);
        foreach (var item in Items)
            if (item.Equals(value)) return true;
        return false;
    }

    public override ValueKind Kind => ValueKind.Set;
    public override string TypeName => "set";

    public override bool Equals(Value? other)
    {
        if (ReferenceEquals(this, other)) return true;
        if (other is not SetValue s || s.Count != Count) return false;
        foreach (var item in Items)
            if (!s.Contains(item)) return false;
        return true;
    }

    public override int GetHashCode()
    {
        // Order-independent so equal sets hash alike.
        var hash = Count;
        foreach (var item in Items) hash ^= item.GetHashCode();
        return hash;
    }

    public override void Write(StringBuilder builder)
    {
        builder.Append('[');
        for (var i = 0; i < Items.Length; i++)
        {
            if (i > 0) builder.Append(", ");
            Items[i].Write(builder);
        }
        builder.Append(']');
    }
}

internal sealed class RecordValue : Value
{
    public static readonly RecordValue Empty = new(new Dictionary<string, Value>(StringComparer.Ordinal));

    public RecordValue(IReadOnlyDictionary<string, Value> attributes)
    {
        Attributes = attributes.Count <= 8
            ? attributes
            : attributes.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public IReadOnlyDictionary<string, Value> Attributes { get; }

    public bool TryGet(string name, out Value value) => Attributes.TryGetValue(name, out value!);

    public override ValueKind Kind => ValueKind.Record;
    public override string TypeName => "record";

    public override bool Equals(Value? other)
    {
        if (ReferenceEquals(this, other)) return true;
        if (other is not RecordValue r || r.Attributes.Count != Attributes.Count) return false;
        foreach (var (key, value) in Attributes)
            if (!r.Attributes.TryGetValue(key, out var otherValue) || !value.Equals(otherValue)) return false;
        return true;
    }

    public override int GetHashCode()
    {
        var hash = Attributes.Count;
        foreach (var (key, value) in Attributes) hash ^= HashCode.Combine(StringComparer.Ordinal.GetHashCode(key), value.GetHashCode());
        return hash;
    }

    public override void Write(StringBuilder builder)
    {
        builder.Append('{');
        var first = true;
        foreach (var (key, value) in Attributes.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!first) builder.Append(", ");
            first = false;
            builder.Append('"').Append(EntityUid.EscapeString(key)).Append("\": ");
            value.Write(builder);
        }
        builder.Append('}');
    }
}

internal sealed class EntityValueComparer : IEqualityComparer<EntityValue>
{
    public static readonly EntityValueComparer Instance = new();
    public bool Equals(EntityValue? x, EntityValue? y) => x is null ? y is null : y is not null && x.SameAs(y);
    public int GetHashCode(EntityValue obj) => obj.GetHashCode();
}

/// <summary>The ancestors of one entity: a short array scanned linearly, or a hash set when large.</summary>
internal sealed class AncestorSet
{
    private const int LinearScanLimit = 8;
    public static readonly AncestorSet Empty = new([]);
    private readonly HashSet<EntityValue>? lookup;

    public AncestorSet(EntityValue[] items)
    {
        Items = items;
        if (items.Length > LinearScanLimit) lookup = new HashSet<EntityValue>(items, EntityValueComparer.Instance);
    }

    public EntityValue[] Items { get; }

    public bool Contains(EntityValue entity)
    {
        if (lookup is not null) return lookup.Contains(entity);
        foreach (var item in Items)
            if (item.SameAs(entity)) return true;
        return false;
    }
}
