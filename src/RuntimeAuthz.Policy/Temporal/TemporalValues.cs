using System.Text;

namespace RuntimeAuthz.Policy.Temporal;

/// <summary>
/// A decimal as Dogwood's temporal layer keeps it: the literal text, equal only to the same text
/// (so 1.5 and 1.50 differ), and never ordered. It never reaches Cedar evaluation.
/// </summary>
internal sealed class DecimalTextValue(string text) : Value
{
    public string Text { get; } = text;
    public override ValueKind Kind => ValueKind.Decimal;
    public override string TypeName => "decimal";
    public override bool Equals(Value? other) => other is DecimalTextValue d && string.Equals(d.Text, Text, StringComparison.Ordinal);
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text) ^ 0x5bd1e995;
    public override void Write(StringBuilder builder) => builder.Append(Text);
}

/// <summary>An absent value (a trace's <c>null</c>); equal only to itself.</summary>
internal sealed class NullValue : Value
{
    public static readonly NullValue Instance = new();
    private NullValue() { }
    public override ValueKind Kind => ValueKind.Record;
    public override string TypeName => "null";
    public override bool Equals(Value? other) => ReferenceEquals(this, other);
    public override int GetHashCode() => 0x1234;
    public override void Write(StringBuilder builder) => builder.Append("null");
}

/// <summary>A tuple of values used as a dictionary key (structural equality).</summary>
internal sealed class ValueKey : IEquatable<ValueKey>
{
    public static readonly ValueKey Empty = new([]);
    private readonly Value[] parts;
    private readonly int hash;

    public ValueKey(Value[] parts)
    {
        this.parts = parts;
        var h = new HashCode();
        foreach (var part in parts) h.Add(part.GetHashCode());
        hash = h.ToHashCode();
    }

    public bool Equals(ValueKey? other)
    {
        if (other is null || other.hash != hash || other.parts.Length != parts.Length) return false;
        for (var i = 0; i < parts.Length; i++)
            if (!parts[i].Equals(other.parts[i])) return false;
        return true;
    }

    public override bool Equals(object? obj) => obj is ValueKey k && Equals(k);
    public override int GetHashCode() => hash;
}

internal static class TemporalValueOps
{
    /// <summary>Reads a dotted path inside a record; null when any step is missing or not a record.</summary>
    public static Value? Lookup(RecordValue? record, string dottedPath)
    {
        if (record is null) return null;
        Value current = record;
        var start = 0;
        while (true)
        {
            var dot = dottedPath.IndexOf('.', start);
            var segment = dot < 0 ? dottedPath[start..] : dottedPath[start..dot];
            if (current is not RecordValue r || !r.Attributes.TryGetValue(segment, out var next)) return null;
            current = next;
            if (dot < 0) return current;
            start = dot + 1;
        }
    }

    public static Value? Lookup(RecordValue? record, IReadOnlyList<string> path)
    {
        Value? current = record;
        foreach (var segment in path)
        {
            if (current is not RecordValue r || !r.Attributes.TryGetValue(segment, out var next)) return null;
            current = next;
        }
        return current;
    }

    /// <summary>
    /// The form the temporal layer compares and stores: Cedar extension values become their text
    /// (a decimal keeps Dogwood's textual equality), records and sets are normalized member-wise.
    /// </summary>
    public static Value? Normalize(Value? value) => value switch
    {
        null => null,
        DecimalValue d => new DecimalTextValue(DecimalText(d)),
        RecordValue r => r.Attributes.Values.All(IsPlain) ? r : new RecordValue(r.Attributes.ToDictionary(kv => kv.Key, kv => Normalize(kv.Value)!, StringComparer.Ordinal)),
        SetValue s => s.Items.All(IsPlain) ? s : new SetValue(s.Items.Select(i => Normalize(i)!)),
        _ when value.Kind is ValueKind.IpAddr or ValueKind.Datetime or ValueKind.Duration => new StringValue(value.ToString()),
        _ => value,
    };

    private static bool IsPlain(Value v) => v.Kind is ValueKind.Bool or ValueKind.Long or ValueKind.String or ValueKind.Entity || v is DecimalTextValue or NullValue;

    private static string DecimalText(DecimalValue d)
    {
        var text = d.ToString(); // decimal("1.5000")
        var open = text.IndexOf('"');
        return open < 0 ? text : text[(open + 1)..text.LastIndexOf('"')];
    }

    /// <summary>Converts a value to what Cedar evaluation accepts (decimal text becomes a Cedar decimal when it parses).</summary>
    public static Value ToCedar(Value value) => value switch
    {
        DecimalTextValue d => (Value?)DecimalValue.Parse(d.Text) ?? new StringValue(d.Text),
        NullValue => new StringValue(""),
        RecordValue r => new RecordValue(r.Attributes.ToDictionary(kv => kv.Key, kv => ToCedar(kv.Value), StringComparer.Ordinal)),
        SetValue s => SetValue.FromDistinctCandidates(s.Items.Select(ToCedar).ToArray()),
        _ => value,
    };
}
