// How cedar-core uses this (EntityStore.FromJson / CedarContext.FromJson when a schema is given):
//
//     string explicitEntities = SchemaJsonResolver.ResolveEntities(json, schema, sourceName);
//     string explicitContext  = SchemaJsonResolver.ResolveContext(json, schema, action, sourceName);
//
// then parse the returned text exactly as schema-less JSON. (JsonNode overloads exist too, to avoid
// re-serialising.) The rewrite only adds explicit escapes where the schema's type asks for them:
//   * entity-typed value  {"type": T, "id": I}          -> {"__entity": {"type": T, "id": I}}
//   * extension-typed value "x" (any non-object value)  -> {"__extn": {"fn": ctor, "arg": "x"}}
//     with ctor = ip | decimal | datetime | duration for ipaddr | decimal | datetime | duration
//   * extension-typed value {"fn": F, "arg": A}          -> {"__extn": {"fn": F, "arg": A}}
// following attribute types through records, sets and common types (entity attrs and tags; context).
// Values that are already explicit, attributes the schema does not declare, and values whose shape
// does not fit the declared type are left untouched (the value parser then reports or accepts them
// as without a schema). ResolveEntities also appends the schema's action entities (with their action
// groups as parents) that the input does not list, as Cedar does, so `action in Action::"group"` works.
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Policy.Schema;

/// <summary>Schema-directed interpretation of Cedar entities/context JSON, as a JSON-to-JSON rewrite.</summary>
internal static class SchemaJsonResolver
{
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false };

    /// <summary>Rewrites an entities JSON array (see the file header). Throws CedarSyntaxException on malformed JSON.</summary>
    public static string ResolveEntities(string entitiesJson, CedarSchema schema, string sourceName = "entities.json")
    {
        var node = ParseJson(entitiesJson, sourceName);
        return (ResolveEntities(node, schema) ?? JsonValue.Create((string?)null))?.ToJsonString() ?? "null";
    }

    /// <summary>Rewrites a context JSON object using the context type of <paramref name="action"/> (unchanged when the action is unknown).</summary>
    public static string ResolveContext(string contextJson, CedarSchema schema, EntityUid? action, string sourceName = "context.json")
    {
        var node = ParseJson(contextJson, sourceName);
        var resolved = ResolveContext(node, schema, action);
        return resolved?.ToJsonString() ?? "null";
    }

    public static JsonNode? ResolveContext(JsonNode? context, CedarSchema schema, EntityUid? action)
    {
        if (action is null || schema.GetAction(action.Value) is not { } definition) return context;
        return ResolveValue(context, definition.Context);
    }

    public static JsonNode? ResolveEntities(JsonNode? entities, CedarSchema schema)
    {
        if (entities is not JsonArray array) return entities;
        var listed = new HashSet<EntityUid>();
        var result = new JsonArray();
        foreach (var item in array)
        {
            var copy = item?.DeepClone();
            if (copy is JsonObject entity && ReadUid(entity["uid"]) is { } uid)
            {
                listed.Add(uid);
                if (schema.GetEntityType(uid.Type) is { } type)
                {
                    if (entity["attrs"] is JsonObject attrs) entity["attrs"] = ResolveValue(attrs, type.Attributes);
                    if (type.Tags is { } tagType && entity["tags"] is JsonObject tags)
                    {
                        foreach (var key in tags.Select(p => p.Key).ToList())
                            tags[key] = ResolveValue(tags[key], tagType);
                    }
                }
            }
            result.Add(copy);
        }
        foreach (var action in schema.ActionDefinitions)
        {
            if (listed.Contains(action.Uid)) continue;
            var parents = new JsonArray();
            foreach (var parent in action.Parents) parents.Add(EntityJson(parent.Type, parent.Id));
            result.Add(new JsonObject
            {
                ["uid"] = EntityJson(action.Uid.Type, action.Uid.Id),
                ["attrs"] = new JsonObject(),
                ["parents"] = parents,
            });
        }
        return result;
    }

    /// <summary>Makes the implicit forms inside <paramref name="value"/> explicit according to <paramref name="type"/>.</summary>
    public static JsonNode? ResolveValue(JsonNode? value, SchemaType type)
    {
        switch (type)
        {
            case EntitySchemaType:
                if (value is JsonObject entityObject && !entityObject.ContainsKey("__entity")
                    && entityObject["type"] is JsonValue typeValue && typeValue.TryGetValue(out string? entityType)
                    && entityObject["id"] is JsonValue idValue && idValue.TryGetValue(out string? id))
                {
                    return EntityJson(entityType, id);
                }
                return value;

            case ExtensionSchemaType extension:
                if (value is JsonObject extensionObject)
                {
                    if (!extensionObject.ContainsKey("__extn") && extensionObject.ContainsKey("fn") && extensionObject.ContainsKey("arg"))
                        return new JsonObject { ["__extn"] = new JsonObject { ["fn"] = extensionObject["fn"]?.DeepClone(), ["arg"] = extensionObject["arg"]?.DeepClone() } };
                    return value;
                }
                if (value is null) return value;
                return new JsonObject { ["__extn"] = new JsonObject { ["fn"] = extension.ConstructorName, ["arg"] = value.DeepClone() } };

            case SetSchemaType set when value is JsonArray elements:
                {
                    var result = new JsonArray();
                    foreach (var element in elements) result.Add(ResolveValue(element?.DeepClone(), set.Element));
                    return result;
                }

            case RecordSchemaType record when value is JsonObject fields && !IsEscape(fields):
                {
                    var result = new JsonObject();
                    foreach (var (key, field) in fields)
                    {
                        var copy = field?.DeepClone();
                        result[key] = record.Attributes.TryGetValue(key, out var attribute) ? ResolveValue(copy, attribute.Type) : copy;
                    }
                    return result;
                }

            default:
                return value;
        }
    }

    private static bool IsEscape(JsonObject o) => o.Count == 1 && (o.ContainsKey("__entity") || o.ContainsKey("__extn") || o.ContainsKey("__expr"));

    private static JsonObject EntityJson(string type, string id) => new() { ["__entity"] = new JsonObject { ["type"] = type, ["id"] = id } };

    private static EntityUid? ReadUid(JsonNode? node)
    {
        if (node is not JsonObject o) return null;
        if (o["__entity"] is JsonObject inner) o = inner;
        return o["type"] is JsonValue t && t.TryGetValue(out string? type) && o["id"] is JsonValue i && i.TryGetValue(out string? id)
            ? new EntityUid(type, id)
            : null;
    }

    private static JsonNode? ParseJson(string json, string sourceName)
    {
        try
        {
            return JsonNode.Parse(json, NodeOptions, DocumentOptions);
        }
        catch (JsonException e)
        {
            int line = (int)(e.LineNumber ?? 0) + 1;
            int column = (int)(e.BytePositionInLine ?? 0) + 1;
            throw new CedarSyntaxException(CedarErrorKind.InvalidJson, sourceName, line, column, "invalid JSON: " + e.Message, e);
        }
    }
}
