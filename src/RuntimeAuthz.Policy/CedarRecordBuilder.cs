namespace RuntimeAuthz.Policy;

/// <summary>
/// Builds a Cedar record field by field; a later <see cref="Set"/> of a name replaces the earlier value. Started from a
/// <see cref="CedarJsonRecord"/>, a member of it that did not read counts only if it is still there when the record is
/// finished (<see cref="ToValue"/> throws its error), as if it had been replaced in the JSON text before Cedar read it.
/// </summary>
public sealed class CedarRecordBuilder
{
    private readonly Dictionary<string, Value> fields;
    private readonly Dictionary<string, CedarSyntaxException>? unread;

    public CedarRecordBuilder() => fields = new(StringComparer.Ordinal);

    /// <summary>Starts from the fields of <paramref name="record"/>.</summary>
    public CedarRecordBuilder(CedarValue record) =>
        fields = new(record.AsRecord("the starting value").Attributes, StringComparer.Ordinal);

    /// <summary>Starts from the members of a JSON object (their errors pending until the members are replaced).</summary>
    public CedarRecordBuilder(CedarJsonRecord record)
    {
        fields = new(record.Members, StringComparer.Ordinal);
        if (record.Unread.Count > 0) unread = new(record.Unread, StringComparer.Ordinal);
    }

    public int Count => fields.Count + (unread?.Count ?? 0);

    public bool Contains(string name) => fields.ContainsKey(name) || unread?.ContainsKey(name) == true;

    public CedarRecordBuilder Set(string name, CedarValue value)
    {
        ArgumentNullException.ThrowIfNull(name);
        fields[name] = CedarValue.Unwrap(value);
        unread?.Remove(name);
        return this;
    }

    /// <summary>Sets every field of <paramref name="record"/> (its values win).</summary>
    public CedarRecordBuilder SetAll(CedarValue record)
    {
        foreach (var (name, value) in record.AsRecord("the fields to set").Attributes)
        {
            fields[name] = value;
            unread?.Remove(name);
        }
        return this;
    }

    /// <summary>The record; the error of a member that did not read and is still in it, if any.</summary>
    public CedarValue ToValue()
    {
        if (unread is { Count: > 0 }) throw unread.Values.MinBy(e => (e.Line, e.Column))!;
        return new(fields.Count == 0 ? RecordValue.Empty : new RecordValue(new Dictionary<string, Value>(fields, StringComparer.Ordinal)));
    }

    public CedarContext ToContext() => new((RecordValue)ToValue().Inner);
}
