namespace RuntimeAuthz.Policy.Schema;

/// <summary>A fully resolved schema type: common types are already inlined, names are full paths.</summary>
public abstract record SchemaType
{
    private protected SchemaType() { }
}

public enum PrimitiveKind { Long, String, Bool }

public sealed record PrimitiveSchemaType(PrimitiveKind Kind) : SchemaType
{
    public static readonly PrimitiveSchemaType Long = new(PrimitiveKind.Long);
    public static readonly PrimitiveSchemaType String = new(PrimitiveKind.String);
    public static readonly PrimitiveSchemaType Bool = new(PrimitiveKind.Bool);
    public override string ToString() => Kind.ToString();
}

/// <summary>A reference to an entity of the given type (full name, e.g. "Ns::User").</summary>
public sealed record EntitySchemaType(string EntityTypeName) : SchemaType
{
    public override string ToString() => EntityTypeName;
}

/// <summary>An extension type: "ipaddr", "decimal", "datetime" or "duration".</summary>
public sealed record ExtensionSchemaType(string Name) : SchemaType
{
    public static readonly IReadOnlySet<string> KnownNames = new HashSet<string>(StringComparer.Ordinal) { "ipaddr", "decimal", "datetime", "duration" };

    /// <summary>The single-argument constructor Cedar implies when a JSON string stands for a value of this type.</summary>
    public string ConstructorName => Name switch
    {
        "ipaddr" => "ip",
        _ => Name,
    };

    public override string ToString() => Name;
}

public sealed record SetSchemaType(SchemaType Element) : SchemaType
{
    public override string ToString() => $"Set<{Element}>";
}

public sealed record RecordSchemaType(IReadOnlyDictionary<string, SchemaAttribute> Attributes) : SchemaType
{
    public static readonly RecordSchemaType Empty = new(new Dictionary<string, SchemaAttribute>(StringComparer.Ordinal));
    public override string ToString() => "{" + string.Join(", ", Attributes.Select(a => $"{a.Key}{(a.Value.Required ? "" : "?")}: {a.Value.Type}")) + "}";
}

public sealed record SchemaAttribute(SchemaType Type, bool Required, IReadOnlyDictionary<string, string> Annotations);

/// <summary>A declared entity type.</summary>
/// <param name="Name">Full name.</param>
/// <param name="MemberOfTypes">Full names of the entity types its entities may have as parents.</param>
/// <param name="Attributes">Attribute record (empty when none are declared).</param>
/// <param name="Tags">Tag value type, or null when the type has no tags.</param>
/// <param name="EnumIds">For enumerated entity types, the only allowed ids; otherwise null.</param>
public sealed record SchemaEntityType(
    string Name,
    IReadOnlyList<string> MemberOfTypes,
    RecordSchemaType Attributes,
    SchemaType? Tags,
    IReadOnlyList<string>? EnumIds,
    IReadOnlyDictionary<string, string> Annotations,
    int Line,
    int Column);

/// <summary>A declared action.</summary>
/// <param name="Uid">Action entity, e.g. Ns::Action::"view".</param>
/// <param name="Parents">Action groups it is a member of.</param>
/// <param name="PrincipalTypes">Full entity type names allowed as principal (empty: applies to none).</param>
/// <param name="ResourceTypes">Full entity type names allowed as resource.</param>
/// <param name="Context">The context record type.</param>
public sealed record SchemaAction(
    EntityUid Uid,
    IReadOnlyList<EntityUid> Parents,
    IReadOnlyList<string> PrincipalTypes,
    IReadOnlyList<string> ResourceTypes,
    RecordSchemaType Context,
    bool HasAppliesTo,
    IReadOnlyDictionary<string, string> Annotations,
    int Line,
    int Column);
