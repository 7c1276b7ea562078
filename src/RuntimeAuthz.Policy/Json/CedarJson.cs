using System.Globalization;
using RuntimeAuthz.Policy.Evaluation;

namespace RuntimeAuthz.Policy.Json;

/// <summary>Reads Cedar values from their explicit JSON forms (<c>__entity</c>, <c>__extn</c>).</summary>
internal static class CedarJson
{
    public static Value ToValue(JsonSource source, JsonNode node)
    {
        switch (node.Kind)
        {
            case JsonKind.Bool: return BoolValue.Of(node.Bool);
            case JsonKind.String: return new StringValue(node.Text!);
            case JsonKind.Number:
                if (!long.TryParse(node.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
                    throw source.Error(node, CedarErrorKind.IntegerOutOfRange, $"number {node.Text} is not a 64-bit integer (Cedar has only integers from -9223372036854775808 to 9223372036854775807)");
                return LongValue.Of(number);
            case JsonKind.Array:
                return new SetValue(node.Items!.Select(item => ToValue(source, item)));
            case JsonKind.Object:
                if (node.Properties!.Count == 1)
                {
                    var (key, inner) = node.Properties[0];
                    if (key == "__entity") return new EntityValue(ToEntityUid(source, inner));
                    if (key == "__extn") return ToExtension(source, inner);
                }
                return ToRecord(source, node);
            default:
                throw source.Error(node, CedarErrorKind.UnexpectedJsonValue, "null is not a Cedar value");
        }
    }

    /// <summary>The members of a JSON object as a record's fields (no <c>__entity</c>/<c>__extn</c> forms at this level).</summary>
    public static RecordValue ToRecord(JsonSource source, JsonNode node)
    {
        if (node.Properties!.Count == 0) return RecordValue.Empty;
        var fields = new Dictionary<string, Value>(node.Properties.Count, StringComparer.Ordinal);
        foreach (var (key, value) in node.Properties) fields[key] = ToValue(source, value);
        return new RecordValue(fields);
    }

    // `{"__extn": {"fn": F, "arg": A}}` or `{"fn": F, "args": [A, B]}`: any extension function applied to values.
    private static Value ToExtension(JsonSource source, JsonNode node)
    {
        if (node.Kind != JsonKind.Object) throw source.Error(node, CedarErrorKind.UnexpectedJsonValue, "expected {\"fn\": ..., \"arg\": ...} after \"__extn\"");
        var fn = node.Get("fn");
        if (fn is not { Kind: JsonKind.String }) throw source.Error(node, CedarErrorKind.MissingField, "\"__extn\" needs a string \"fn\"");
        var argNodes = node.Get("arg") is { } single ? [single]
            : node.Get("args") is { Kind: JsonKind.Array } many ? many.Items!
            : throw source.Error(node, CedarErrorKind.MissingField, $"\"__extn\" for '{fn.Text}' needs \"arg\" or \"args\"");
        if (!ExtensionFunction.Constructors.TryGetValue(fn.Text!, out var function) && !ExtensionFunction.Methods.TryGetValue(fn.Text!, out function))
            throw source.Error(fn, CedarErrorKind.UnknownFunction, $"unknown extension function '{fn.Text}'");
        if (argNodes.Count != function.Arity)
            throw source.Error(node, CedarErrorKind.WrongArity, $"extension function '{fn.Text}' takes {function.Arity} argument(s), but {argNodes.Count} were given");
        var args = argNodes.Select(a => ToValue(source, a)).ToArray();
        try
        {
            return args.Length == 1 ? function.Invoke1(args[0]) : function.Invoke2(args[0], args[1]);
        }
        catch (EvaluationException e)
        {
            throw source.Error(node, CedarErrorKind.InvalidExtensionArgument, e.Message);
        }
    }

    /// <summary>
    /// The <c>{"__entity": {"type": "…", "id": "…"}}</c> forms anywhere in the JSON, read by their shape alone (a
    /// reference is found even where the value around it is not Cedar).
    /// </summary>
    public static void CollectReferences(JsonNode node, List<EntityUid> into)
    {
        if (node.Kind == JsonKind.Object && node.Properties!.Count == 1 && node.Properties[0].Key == "__entity"
            && node.Properties[0].Value is { Kind: JsonKind.Object } inner
            && inner.Get("type") is { Kind: JsonKind.String } type && inner.Get("id") is { Kind: JsonKind.String } id)
        {
            into.Add(new EntityUid(type.Text!, id.Text!));
            return;
        }
        foreach (var child in node.Items ?? (IEnumerable<JsonNode>?)node.Properties?.Select(p => p.Value) ?? [])
            CollectReferences(child, into);
    }

    /// <summary>An entity reference: <c>{"type": ..., "id": ...}</c> or <c>{"__entity": {...}}</c>.</summary>
    public static EntityUid ToEntityUid(JsonSource source, JsonNode node)
    {
        if (node.Kind == JsonKind.Object && node.Properties!.Count == 1 && node.Properties[0].Key == "__entity")
            node = node.Properties[0].Value;
        if (node.Kind != JsonKind.Object) throw source.Error(node, CedarErrorKind.UnexpectedJsonValue, "expected an entity reference {\"type\": ..., \"id\": ...}");
        var type = node.Get("type");
        var id = node.Get("id");
        if (type is not { Kind: JsonKind.String } || id is not { Kind: JsonKind.String })
            throw source.Error(node, CedarErrorKind.MissingField, "expected an entity reference with string \"type\" and \"id\"");
        if (!IsValidTypeName(type.Text!))
            throw source.Error(type, CedarErrorKind.InvalidName, $"\"{type.Text}\" is not a valid entity type name (identifiers joined by '::', no spaces or reserved words)");
        return new EntityUid(type.Text!, id.Text!);
    }

    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar" };

    /// <summary>A Cedar name: identifiers joined by <c>::</c>, none of them reserved.</summary>
    public static bool IsValidTypeName(string name)
    {
        foreach (var part in name.Split("::"))
        {
            if (part.Length == 0 || Reserved.Contains(part) || !(char.IsAsciiLetter(part[0]) || part[0] == '_')) return false;
            foreach (var ch in part)
                if (!char.IsAsciiLetterOrDigit(ch) && ch != '_') return false;
        }
        return true;
    }
}
