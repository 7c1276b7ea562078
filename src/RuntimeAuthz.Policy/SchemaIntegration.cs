using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy;

/// <summary>Hands entity and context JSON to the schema-directed rewrite when a schema is given.</summary>
internal static class SchemaIntegration
{
    public static string ResolveEntitiesJson(string json, CedarSchema? schema, string sourceName) =>
        schema is null ? json : SchemaJsonResolver.ResolveEntities(json, schema, sourceName);

    public static string ResolveContextJson(string json, CedarSchema? schema, EntityUid? action, string sourceName) =>
        schema is null ? json : SchemaJsonResolver.ResolveContext(json, schema, action, sourceName);
}
