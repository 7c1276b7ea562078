namespace RuntimeAuthz.Policy.Schema;

/// <summary>
/// Resolves the names of a parsed schema. An unqualified type name N used in namespace NS means,
/// in order: common type NS::N, entity type NS::N, common type N, entity type N, built-in N
/// (Long, String, Bool, ipaddr, decimal, datetime, duration). __cedar::N always means the built-in.
/// </summary>
internal sealed class SchemaResolver
{
    internal sealed record Result(
        Dictionary<string, SchemaEntityType> EntityTypes,
        Dictionary<EntityUid, SchemaAction> Actions,
        IReadOnlyDictionary<string, SchemaType> CommonTypes);

    private readonly IReadOnlyList<RawNamespace> _namespaces;
    private readonly string _sourceName;
    private readonly Dictionary<string, (RawCommonTypeDeclaration Declaration, string Namespace)> _commonDeclarations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SchemaType> _resolvedCommon = new(StringComparer.Ordinal);
    private readonly HashSet<string> _resolvingCommon = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SourcePos> _entityTypeNames = new(StringComparer.Ordinal);
    private readonly Dictionary<EntityUid, SourcePos> _actionNames = new();

    public SchemaResolver(IReadOnlyList<RawNamespace> namespaces, string sourceName)
    {
        _namespaces = namespaces;
        _sourceName = sourceName;
    }

    private CedarSyntaxException Error(SourcePos pos, CedarErrorKind kind, string detail) => new(kind, _sourceName, pos.Line, pos.Column, detail);

    private static string Qualify(string ns, string name) => ns.Length == 0 ? name : ns + "::" + name;
    internal static string ActionTypeOf(string ns) => Qualify(ns, "Action");

    public Result Resolve()
    {
        // Pass 1: collect every declared name so declarations may refer to later ones.
        foreach (var ns in _namespaces)
        {
            string nsName = ns.Name?.FullName ?? "";
            if (ns.Name != null && ns.Name.Segments.Contains("__cedar"))
                throw Error(ns.Name.Pos, CedarErrorKind.ReservedWord, "'__cedar' is reserved and cannot be used in a namespace name");
            foreach (var declaration in ns.Declarations)
            {
                switch (declaration)
                {
                    case RawEntityDeclaration entity:
                        foreach (var (name, pos) in entity.Names)
                        {
                            string full = Qualify(nsName, name);
                            if (!_entityTypeNames.TryAdd(full, pos)) throw Error(pos, CedarErrorKind.DuplicateDeclaration, $"entity type '{full}' is declared twice");
                        }
                        break;
                    case RawActionDeclaration action:
                        foreach (var (name, pos) in action.Names)
                        {
                            var uid = new EntityUid(ActionTypeOf(nsName), name);
                            if (!_actionNames.TryAdd(uid, pos)) throw Error(pos, CedarErrorKind.DuplicateDeclaration, $"action {uid} is declared twice");
                        }
                        break;
                    case RawCommonTypeDeclaration common:
                        {
                            if (IsBuiltinName(common.Name) && nsName.Length == 0)
                                throw Error(common.Pos, CedarErrorKind.DuplicateDeclaration, $"common type '{common.Name}' would shadow the built-in type of the same name");
                            string full = Qualify(nsName, common.Name);
                            if (!_commonDeclarations.TryAdd(full, (common, nsName))) throw Error(common.Pos, CedarErrorKind.DuplicateDeclaration, $"common type '{full}' is declared twice");
                            break;
                        }
                }
            }
        }
        foreach (var name in _entityTypeNames.Keys)
        {
            if (_commonDeclarations.TryGetValue(name, out var clash))
                throw Error(clash.Declaration.Pos, CedarErrorKind.DuplicateDeclaration, $"'{name}' is declared both as a common type and as an entity type");
        }

        // Pass 2: resolve.
        foreach (var full in _commonDeclarations.Keys) ResolveCommon(full);

        var entityTypes = new Dictionary<string, SchemaEntityType>(StringComparer.Ordinal);
        var actions = new Dictionary<EntityUid, SchemaAction>();
        foreach (var ns in _namespaces)
        {
            string nsName = ns.Name?.FullName ?? "";
            foreach (var declaration in ns.Declarations)
            {
                switch (declaration)
                {
                    case RawEntityDeclaration entity:
                        {
                            var memberOf = entity.MemberOf.Select(p => ResolveEntityType(p, nsName)).Distinct(StringComparer.Ordinal).ToList();
                            var attributes = entity.Attributes is null ? RecordSchemaType.Empty : (RecordSchemaType)ResolveType(entity.Attributes, nsName);
                            var tags = entity.Tags is null ? null : ResolveType(entity.Tags, nsName);
                            foreach (var (name, pos) in entity.Names)
                            {
                                string full = Qualify(nsName, name);
                                entityTypes[full] = new SchemaEntityType(full, memberOf, attributes, tags, entity.EnumIds, entity.Annotations, pos.Line, pos.Column);
                            }
                            break;
                        }
                    case RawActionDeclaration action:
                        {
                            var parents = action.MemberOf.Select(r => ResolveActionRef(r, nsName)).Distinct().ToList();
                            var principals = action.AppliesTo?.Principals?.Select(p => ResolveEntityType(p, nsName)).Distinct(StringComparer.Ordinal).ToList() ?? [];
                            var resources = action.AppliesTo?.Resources?.Select(p => ResolveEntityType(p, nsName)).Distinct(StringComparer.Ordinal).ToList() ?? [];
                            var context = RecordSchemaType.Empty;
                            if (action.AppliesTo?.Context is { } rawContext)
                            {
                                context = ResolveType(rawContext, nsName) as RecordSchemaType
                                    ?? throw Error(rawContext.Pos, CedarErrorKind.TypeMismatch, "the context type of an action must be a record");
                            }
                            foreach (var (name, pos) in action.Names)
                            {
                                var uid = new EntityUid(ActionTypeOf(nsName), name);
                                actions[uid] = new SchemaAction(uid, parents, principals, resources, context, action.AppliesTo != null, action.Annotations, pos.Line, pos.Column);
                            }
                            break;
                        }
                }
            }
        }
        CheckActionHierarchyIsAcyclic(actions);
        return new Result(entityTypes, actions, new Dictionary<string, SchemaType>(_resolvedCommon, StringComparer.Ordinal));
    }

    private static bool IsBuiltinName(string name) =>
        name is "Long" or "String" or "Bool" || ExtensionSchemaType.KnownNames.Contains(name);

    private static SchemaType? Builtin(string name) => name switch
    {
        "Long" => PrimitiveSchemaType.Long,
        "String" => PrimitiveSchemaType.String,
        "Bool" => PrimitiveSchemaType.Bool,
        _ when ExtensionSchemaType.KnownNames.Contains(name) => new ExtensionSchemaType(name),
        _ => null,
    };

    private SchemaType ResolveCommon(string fullName)
    {
        if (_resolvedCommon.TryGetValue(fullName, out var done)) return done;
        var (declaration, ns) = _commonDeclarations[fullName];
        if (!_resolvingCommon.Add(fullName)) throw Error(declaration.Pos, CedarErrorKind.CyclicDefinition, $"common type '{fullName}' is defined in terms of itself");
        var type = ResolveType(declaration.Definition, ns);
        _resolvingCommon.Remove(fullName);
        _resolvedCommon[fullName] = type;
        return type;
    }

    private SchemaType ResolveType(RawType raw, string ns)
    {
        switch (raw)
        {
            case RawSetType set:
                return new SetSchemaType(ResolveType(set.Element, ns));
            case RawRecordType record:
                {
                    var attributes = new Dictionary<string, SchemaAttribute>(StringComparer.Ordinal);
                    foreach (var a in record.Attributes)
                        attributes[a.Name] = new SchemaAttribute(ResolveType(a.Type, ns), a.Required, a.Annotations);
                    return new RecordSchemaType(attributes);
                }
            case RawNamedType named:
                return ResolveNamedType(named.Path, ns);
            default:
                throw new InvalidOperationException("unknown raw type");
        }
    }

    private SchemaType ResolveNamedType(RawPath path, string ns)
    {
        var segments = path.Segments;
        if (segments.Count == 2 && segments[0] == "__cedar")
            return Builtin(segments[1]) ?? throw Error(path.Pos, CedarErrorKind.UnknownType, $"'{path.FullName}' is not a built-in type");
        if (segments.Count == 1)
        {
            string name = segments[0];
            if (ns.Length > 0)
            {
                string local = Qualify(ns, name);
                if (_commonDeclarations.ContainsKey(local)) return ResolveCommon(local);
                if (_entityTypeNames.ContainsKey(local)) return new EntitySchemaType(local);
            }
            if (_commonDeclarations.ContainsKey(name)) return ResolveCommon(name);
            if (_entityTypeNames.ContainsKey(name)) return new EntitySchemaType(name);
            return Builtin(name) ?? throw Error(path.Pos, CedarErrorKind.UnknownType, $"unknown type '{name}': not a common type, entity type or built-in type");
        }
        string full = path.FullName;
        if (_commonDeclarations.ContainsKey(full)) return ResolveCommon(full);
        if (_entityTypeNames.ContainsKey(full)) return new EntitySchemaType(full);
        throw Error(path.Pos, CedarErrorKind.UnknownType, $"unknown type '{full}': not a declared common type or entity type");
    }

    private string ResolveEntityType(RawPath path, string ns)
    {
        if (path.Segments.Count == 1 && ns.Length > 0)
        {
            string local = Qualify(ns, path.FullName);
            if (_entityTypeNames.ContainsKey(local)) return local;
        }
        string full = path.FullName;
        if (_entityTypeNames.ContainsKey(full)) return full;
        throw Error(path.Pos, CedarErrorKind.UnknownEntityType, $"unknown entity type '{full}'");
    }

    private EntityUid ResolveActionRef(RawActionRef reference, string ns)
    {
        if (reference.TypePath is null)
        {
            var local = new EntityUid(ActionTypeOf(ns), reference.Id);
            if (_actionNames.ContainsKey(local)) return local;
            throw Error(reference.Pos, CedarErrorKind.UnknownAction, $"unknown action group {local}");
        }
        string typeName = reference.TypePath.FullName;
        if (ns.Length > 0)
        {
            var qualified = new EntityUid(Qualify(ns, typeName), reference.Id);
            if (_actionNames.ContainsKey(qualified)) return qualified;
        }
        var exact = new EntityUid(typeName, reference.Id);
        if (_actionNames.ContainsKey(exact)) return exact;
        throw Error(reference.Pos, CedarErrorKind.UnknownAction, $"unknown action group {exact}");
    }

    private void CheckActionHierarchyIsAcyclic(Dictionary<EntityUid, SchemaAction> actions)
    {
        var state = new Dictionary<EntityUid, int>(); // 1 = on stack, 2 = done
        foreach (var start in actions.Keys) Visit(start);

        void Visit(EntityUid uid)
        {
            if (state.TryGetValue(uid, out int s))
            {
                if (s == 1)
                {
                    var a = actions[uid];
                    throw Error(new SourcePos(a.Line, a.Column), CedarErrorKind.CyclicDefinition, $"action {uid} is (transitively) a member of itself");
                }
                return;
            }
            state[uid] = 1;
            foreach (var parent in actions[uid].Parents) Visit(parent);
            state[uid] = 2;
        }
    }
}
