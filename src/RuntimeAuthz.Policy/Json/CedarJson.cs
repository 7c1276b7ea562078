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
                    throw source.Error(node, $"number {node.Text} is not a 64-bit integer (Cedar has only integers from -9223372036854775808 to 9223372036854775807)");
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
                var fields = new Dictionary<string, Value>(node.Properties.Count, StringComparer.Ordinal);
                foreach (var (key, value) in node.Properties) fields[key] = ToValue(source, value);
                return new RecordValue(fields);
            default:
                throw source.Error(node, "null is not a Cedar value");
        }
    }

    private static Value ToExtension(JsonSource source, JsonNode node)
    {
        if (node.Kind != JsonKind.Object) throw source.Error(node, "expected {\"fn\": ..., \"arg\": ...} after \"__extn\"");
        var fn = node.Get("fn");
        if (fn is not { Kind: JsonKind.String }) throw source.Error(node, "\"__extn\" needs a string \"fn\"");
        var arg = node.Get("arg") ?? (node.Get("args") is { Kind: JsonKind.Array, Items.Count: 1 } args ? args.Items![0] : null);
        if (arg is null) throw source.Error(node, $"\"__extn\" for '{fn.Text}' needs one \"arg\"");
        if (!ExtensionFunction.Constructors.ContainsKey(fn.Text!)) throw source.Error(fn, $"unknown extension function '{fn.Text}'");
        var argument = ToValue(source, arg);
        try
        {
            return ExtensionFunction.Construct(fn.Text!, argument)!;
        }
        catch (EvaluationException e)
        {
            throw source.Error(arg, e.Message);
        }
    }

    /// <summary>An entity reference: <c>{"type": ..., "id": ...}</c> or <c>{"__entity": {...}}</c>.</summary>
    public static EntityUid ToEntityUid(JsonSource source, JsonNode node)
    {
        if (node.Kind == JsonKind.Object && node.Properties!.Count == 1 && node.Properties[0].Key == "__entity")
            node = node.Properties[0].Value;
        if (node.Kind != JsonKind.Object) throw source.Error(node, "expected an entity reference {\"type\": ..., \"id\": ...}");
        var type = node.Get("type");
        var id = node.Get("id");
        if (type is not { Kind: JsonKind.String } || id is not { Kind: JsonKind.String })
            throw source.Error(node, "expected an entity reference with string \"type\" and \"id\"");
        return new EntityUid(type.Text!, id.Text!);
    }
}
