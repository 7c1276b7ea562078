using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Schema;

/// <summary>
/// A Cedar schema parsed from the human-readable format (.cedarschema), with every name resolved:
/// common types are inlined, entity type names are full paths, actions are full entity uids.
/// </summary>
public sealed class CedarSchema
{
    private readonly Dictionary<string, SchemaEntityType> _entityTypes;
    private readonly Dictionary<EntityUid, SchemaAction> _actions;

    private CedarSchema(Dictionary<string, SchemaEntityType> entityTypes, Dictionary<EntityUid, SchemaAction> actions, IReadOnlyDictionary<string, SchemaType> commonTypes)
    {
        _entityTypes = entityTypes;
        _actions = actions;
        CommonTypes = commonTypes;
    }

    /// <summary>Parses a human-readable schema. Throws <see cref="CedarSyntaxException"/> on syntax or name-resolution errors.</summary>
    public static CedarSchema Parse(string text, string sourceName = "schema.cedarschema")
    {
        ArgumentNullException.ThrowIfNull(text);
        var namespaces = SchemaParser.Parse(text, sourceName);
        var resolved = new SchemaResolver(namespaces, sourceName).Resolve();
        return new CedarSchema(resolved.EntityTypes, resolved.Actions, resolved.CommonTypes);
    }

    /// <summary>Full names of every declared entity type (including enumerated ones).</summary>
    public IReadOnlyCollection<string> EntityTypes => _entityTypes.Keys;

    /// <summary>Every declared action.</summary>
    public IReadOnlyCollection<EntityUid> Actions => _actions.Keys;

    /// <summary>Resolved common types by full name.</summary>
    public IReadOnlyDictionary<string, SchemaType> CommonTypes { get; }

    public IEnumerable<SchemaEntityType> EntityTypeDefinitions => _entityTypes.Values;
    public IEnumerable<SchemaAction> ActionDefinitions => _actions.Values;

    public SchemaEntityType? GetEntityType(string fullName) => _entityTypes.GetValueOrDefault(fullName);
    public SchemaAction? GetAction(EntityUid action) => _actions.GetValueOrDefault(action);

    /// <summary>True for the type of action entities ("Action" or "Ns::Action") used by this schema.</summary>
    public bool IsActionEntityType(string typeName) => _actions.Keys.Any(a => a.Type == typeName);
}
