using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Grains.Entities;

/// <summary>Cedar's JSON entity format for <see cref="EntityDocument"/>, and the checks every stored entity passes.</summary>
public static partial class EntityJson
{
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex TypeShape();

    public static JsonObject Uid(EntityKey key) => new() { ["type"] = key.Type, ["id"] = key.Id };

    /// <summary><c>{"uid":…,"attrs":…,"parents":[…]}</c>, the attributes as parsed nodes (a fresh copy each call).</summary>
    public static JsonObject ToNode(EntityDocument document) => new()
    {
        ["uid"] = Uid(document.Uid),
        ["attrs"] = JsonNode.Parse(document.AttrsJson),
        ["parents"] = new JsonArray(document.Parents.Select(p => (JsonNode?)Uid(p)).ToArray()),
    };

    public static string Format(EntityDocument document) => ToNode(document).ToJsonString();

    public static EntityDocument Parse(string json)
    {
        var node = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("a stored entity is not a JSON object");
        return FromNode(node, "entity");
    }

    /// <summary>Reads one entity in Cedar's JSON format; <see cref="FormatException"/> names the field (<paramref name="path"/> first).</summary>
    public static EntityDocument FromNode(JsonObject node, string path)
    {
        var uid = KeyOf(node["uid"], $"{path}.uid");
        var attrs = node["attrs"] switch
        {
            null => new JsonObject(),
            JsonObject obj => obj,
            var other => throw new FormatException($"{path}.attrs must be an object, not {Kind(other)}"),
        };
        var parents = new List<EntityKey>();
        switch (node["parents"])
        {
            case null: break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++) parents.Add(KeyOf(array[i], $"{path}.parents[{i}]"));
                break;
            case var other: throw new FormatException($"{path}.parents must be an array, not {Kind(other)}");
        }
        if (node.ContainsKey("tags")) throw new FormatException($"{path}.tags are not supported by the entity store; use attrs");
        return new EntityDocument { Uid = uid, AttrsJson = attrs.ToJsonString(), Parents = parents.Distinct().ToArray() };
    }

    /// <summary>An entity reference: <c>{"type","id"}</c>, or Cedar's <c>{"__entity":{"type","id"}}</c>.</summary>
    public static EntityKey KeyOf(JsonNode? node, string path)
    {
        if (node is JsonObject { Count: 1 } wrapped && wrapped["__entity"] is JsonObject inner) node = inner;
        if (node is not JsonObject obj) throw new FormatException($"{path} must be an object with type and id, not {Kind(node)}");
        var type = Text(obj["type"], $"{path}.type");
        var id = Text(obj["id"], $"{path}.id");
        return CheckKey(EntityKey.Of(type, id), path);
    }

    /// <summary>The limits on a uid: a Cedar type path of at most 128 characters, an id of 1-256 characters.</summary>
    public static EntityKey CheckKey(EntityKey key, string path)
    {
        if (key.Type.Length > EntityLimits.MaxTypeLength || !TypeShape().IsMatch(key.Type))
            throw new FormatException($"{path}.type '{Shorten(key.Type)}' is not a Cedar entity type (e.g. User or Ns::Folder, at most {EntityLimits.MaxTypeLength} characters)");
        if (key.Id.Length is 0 or > EntityLimits.MaxIdLength)
            throw new FormatException($"{path}.id must be 1-{EntityLimits.MaxIdLength} characters long");
        if (key.Id.Any(char.IsControl) || HasLoneSurrogate(key.Id)) throw new FormatException($"{path}.id must not contain control characters or unpaired surrogates");
        return key;
    }

    /// <summary>
    /// Size limits, then Cedar itself reads the entity (so attribute values are valid Cedar JSON values).
    /// Returns the problem, or null.
    /// </summary>
    public static string? Check(EntityDocument document, string path)
    {
        try
        {
            CheckKey(document.Uid, $"{path}.uid");
            if (Encoding.UTF8.GetByteCount(document.AttrsJson) > EntityLimits.MaxAttrsBytes)
                return $"{path}.attrs is larger than {EntityLimits.MaxAttrsBytes} bytes as JSON";
            if (document.Parents.Count > EntityLimits.MaxParents) return $"{path}.parents has more than {EntityLimits.MaxParents} entries";
            for (var i = 0; i < document.Parents.Count; i++)
            {
                CheckKey(document.Parents[i], $"{path}.parents[{i}]");
                if (document.Parents[i] == document.Uid) return $"{path}.parents[{i}]: an entity cannot be its own parent";
            }
            EntityStore.FromJson(new JsonArray(ToNode(document)).ToJsonString(), schema: null, sourceName: path);
            return null;
        }
        catch (FormatException ex) { return ex.Message; }
        catch (CedarSyntaxException ex) { return $"{path} ({document.Uid}): {ex.Detail}"; }
        catch (JsonException ex) { return $"{path}.attrs is not valid JSON: {ex.Message}"; }
    }

    /// <summary>The entities an entity's attributes refer to (<c>{"__entity": …}</c> anywhere in them).</summary>
    public static IReadOnlyList<EntityKey> References(JsonNode? attrs)
    {
        var found = new List<EntityKey>();
        void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject { Count: 1 } obj when obj["__entity"] is JsonObject inner
                    && inner["type"] is JsonValue t && t.TryGetValue<string>(out var type) && inner["id"] is JsonValue i && i.TryGetValue<string>(out var id):
                    found.Add(EntityKey.Of(type, id));
                    break;
                case JsonObject obj:
                    foreach (var (_, value) in obj) Walk(value);
                    break;
                case JsonArray array:
                    foreach (var item in array) Walk(item);
                    break;
            }
        }
        Walk(attrs);
        return found;
    }

    private static string Text(JsonNode? node, string path) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
            : throw new FormatException(node is null ? $"{path} is required" : $"{path} must be a string, not {Kind(node)}");

    private static bool HasLoneSurrogate(string text) => JsonInputText.HasLoneSurrogate(text);

    private static string Kind(JsonNode? node) => JsonInputText.Kind(node);

    private static string Shorten(string value) => JsonInputText.Shorten(value);
}
