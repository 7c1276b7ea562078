using RuntimeAuthz.Policy.Json;

namespace RuntimeAuthz.Policy;

/// <summary>
/// A JSON object read once, member by member, into Cedar values (as an entity's <c>attrs</c> or a context are: a
/// member named <c>__entity</c> or <c>__extn</c> is a plain field at this level), for a host that completes it into a
/// record with <see cref="CedarRecordBuilder"/>. A member whose value is not Cedar keeps its error until the record
/// is finished; JSON that does not parse, is not an object or repeats a key throws here.
/// </summary>
public sealed class CedarJsonRecord
{
    private CedarJsonRecord(Dictionary<string, Value> members, Dictionary<string, CedarSyntaxException> unread, IReadOnlyList<EntityUid> references)
    {
        Members = members;
        Unread = unread;
        References = references;
    }

    internal IReadOnlyDictionary<string, Value> Members { get; }
    internal IReadOnlyDictionary<string, CedarSyntaxException> Unread { get; }

    /// <summary>Every entity the text names in Cedar's <c>{"__entity": {"type": …, "id": …}}</c> form, in any member.</summary>
    public IReadOnlyList<EntityUid> References { get; }

    public static CedarJsonRecord Parse(string json, string sourceName = "record.json", int maxDepth = JsonSource.DefaultMaxDepth)
    {
        var (source, root) = JsonSource.Parse(json, sourceName, maxDepth);
        if (root.Kind != JsonKind.Object) throw source.Error(root, CedarErrorKind.UnexpectedJsonValue, $"{sourceName} must be a JSON object");
        var members = new Dictionary<string, Value>(root.Properties!.Count, StringComparer.Ordinal);
        var unread = new Dictionary<string, CedarSyntaxException>(StringComparer.Ordinal);
        foreach (var (key, value) in root.Properties)
        {
            try { members[key] = CedarJson.ToValue(source, value); }
            catch (CedarSyntaxException error) { unread[key] = error; }
        }
        var references = new List<EntityUid>();
        CedarJson.CollectReferences(root, references);
        return new(members, unread, references);
    }

    /// <summary>The record of all members; the first member's error when one did not read.</summary>
    public CedarValue ToValue() => new CedarRecordBuilder(this).ToValue();
}
