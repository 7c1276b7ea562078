using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Schema;

/// <summary>
/// Checks a request against a schema as Cedar does before authorizing with request validation:
/// declared principal and resource types (and enumerated ids), a declared action whose appliesTo
/// allows them, and a context of the action's context type.
/// </summary>
public static class RequestValidator
{
    public static IReadOnlyList<CedarError> Validate(AuthorizationRequest request, CedarSchema schema)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(schema);
        var errors = new List<string>();
        CheckEntity(request.Principal, "principal", schema, errors);
        CheckEntity(request.Resource, "resource", schema, errors);
        if (schema.GetAction(request.Action) is not { } action)
        {
            errors.Add($"the action {request.Action} is not declared");
        }
        else
        {
            if (!action.PrincipalTypes.Contains(request.Principal.Type, StringComparer.Ordinal))
                errors.Add($"the principal type '{request.Principal.Type}' is not allowed for {request.Action}");
            if (!action.ResourceTypes.Contains(request.Resource.Type, StringComparer.Ordinal))
                errors.Add($"the resource type '{request.Resource.Type}' is not allowed for {request.Action}");
            if (Mismatch((request.Context ?? CedarContext.Empty).Record, action.Context, schema) is { } problem)
                errors.Add($"the context does not match the context type of {request.Action}: {problem}");
        }
        return errors.Select(e => new CedarError(CedarErrorKind.InvalidRequest, SourceSpan.None, e)).ToList();
    }

    private static void CheckEntity(EntityUid uid, string role, CedarSchema schema, List<string> errors)
    {
        if (schema.GetEntityType(uid.Type) is not { } type) errors.Add($"the {role} type '{uid.Type}' is not declared");
        else if (type.EnumIds is { } ids && !ids.Contains(uid.Id, StringComparer.Ordinal)) errors.Add($"{uid} is not one of the ids its enumerated type allows");
    }

    /// <summary>Why <paramref name="value"/> is not of <paramref name="type"/>, or null when it is.</summary>
    private static string? Mismatch(Value value, SchemaType type, CedarSchema schema)
    {
        switch (type)
        {
            case PrimitiveSchemaType { Kind: PrimitiveKind.Long }: return value is LongValue ? null : Expected("Long", value);
            case PrimitiveSchemaType { Kind: PrimitiveKind.String }: return value is StringValue ? null : Expected("String", value);
            case PrimitiveSchemaType: return value is BoolValue ? null : Expected("Bool", value);
            case ExtensionSchemaType x: return value.TypeName == x.Name ? null : Expected(x.Name, value);
            case EntitySchemaType e:
                if (value is not EntityValue entity || entity.Uid.Type != e.EntityTypeName) return Expected(e.EntityTypeName, value);
                return schema.GetEntityType(e.EntityTypeName)?.EnumIds is { } ids && !ids.Contains(entity.Uid.Id, StringComparer.Ordinal)
                    ? $"{entity.Uid} is not one of the ids its enumerated type allows" : null;
            case SetSchemaType s:
                if (value is not SetValue set) return Expected(s.ToString(), value);
                return set.Items.Select(item => Mismatch(item, s.Element, schema)).FirstOrDefault(p => p is not null);
            case RecordSchemaType r:
                if (value is not RecordValue record) return Expected("a record", value);
                foreach (var key in record.Attributes.Keys)
                    if (!r.Attributes.ContainsKey(key)) return $"attribute '{key}' is not declared";
                foreach (var (key, attribute) in r.Attributes)
                {
                    if (!record.Attributes.TryGetValue(key, out var field))
                    {
                        if (attribute.Required) return $"required attribute '{key}' is missing";
                        continue;
                    }
                    if (Mismatch(field, attribute.Type, schema) is { } problem) return $"attribute '{key}': {problem}";
                }
                return null;
            default: return null;
        }
    }

    private static string Expected(string type, Value actual) => $"expected {type}, got {actual.TypeName}";
}
