using System.Collections.Immutable;
using System.Text.Json;
using RuntimeAuthz.Policy.Evaluation;

namespace RuntimeAuthz.Policy.Schema;

/// <summary>
/// Type-checks condition trees in one request environment (one principal type, one action, one
/// resource type), as Cedar's validator does: booleans Cedar types as constant (True/False) make code
/// unreachable, and unreachable code is not checked. Where this checker cannot tell whether Cedar
/// would type a boolean as constant it is unsure, and checks what follows silently, so a valid policy
/// is never flagged.
/// </summary>
internal sealed class ConditionChecker(
    CedarSchema schema, string principalType, SchemaAction action, string resourceType,
    ConditionChecker.Hierarchy hierarchy, Action<CedarError> report)
{
    /// <summary>What the schema says about <c>in</c>: which entity types can be in which, and which actions are in which.</summary>
    internal sealed record Hierarchy(Func<string, string, bool> TypeCanBeIn, Func<EntityUid, EntityUid, bool> ActionIsIn);

    private enum Truth { True, False, Any, Unsure }

    private abstract record VT;
    private sealed record VBool(Truth Value) : VT;
    private sealed record VLong : VT;
    private sealed record VString : VT;
    private sealed record VEntity(string? Type) : VT;             // null: an entity of unknown type
    private sealed record VSet(VT Element) : VT;
    private sealed record VRecord(IReadOnlyDictionary<string, SchemaAttribute> Attributes) : VT;
    private sealed record VExt(string Name) : VT;
    private sealed record VUnknown : VT;

    private static readonly VT Long = new VLong(), Str = new VString(), Unknown = new VUnknown();
    private static readonly VT AnyBool = new VBool(Truth.Any), UnsureBool = new VBool(Truth.Unsure);

    /// <summary>Checks the clauses in order: they are conjoined, so after a clause that may be false, Cedar may skip the rest.</summary>
    public void Check(IEnumerable<Condition> clauses)
    {
        bool live = true;
        _capabilities = NoCapabilities;
        foreach (var (isWhen, body) in clauses.Select(c => (c.IsWhen, c.Body)))
        {
            var type = Visit(body, live);
            if (isWhen) _capabilities = _capabilities.Union(_produced); // a when clause's tests guard the later clauses
            Expect(live, body, type, "Bool", t => t is VBool);
            var truth = (type as VBool)?.Value ?? Truth.Unsure;
            if (!isWhen) truth = truth switch { Truth.True => Truth.False, Truth.False => Truth.True, _ => truth };
            if (truth is not (Truth.True or Truth.Any)) live = false;
        }
    }

    private void Report(bool live, Expr at, CedarErrorKind kind, string message, string? help = null)
    {
        if (live) report(new CedarError(kind, at.Span, message, help));
    }

    private static string Name(VT t) => t switch
    {
        VBool => "Bool", VLong => "Long", VString => "String", VEntity e => e.Type is null ? "an entity" : $"entity of type '{e.Type}'",
        VSet => "a Set", VRecord or VRecordLiteral => "a record", VExt x => x.Name, _ => "unknown",
    };

    private static string TypeText(VT t) => t switch
    {
        VBool { Value: Truth.True } => "True", VBool { Value: Truth.False } => "False", VBool => "Bool", VLong => "Long", VString => "String",
        VEntity e => e.Type ?? "entity", VSet s => $"Set<{TypeText(s.Element)}>", VRecord or VRecordLiteral => "record", VExt x => x.Name, _ => "unknown",
    };

    /// <summary>
    /// Cedar's least upper bound in strict mode: the common type of <paramref name="a"/> and <paramref name="b"/>, or
    /// null when there is none. Anything involving a type this checker does not know is taken as compatible.
    /// </summary>
    private VT? Lub(VT a, VT b)
    {
        switch (a, b)
        {
            case (VUnknown, _) or (_, VUnknown): return Unknown;
            case (VBool x, VBool y):
                if (x.Value == Truth.Unsure || y.Value == Truth.Unsure) return UnsureBool;
                return x.Value == y.Value ? x : AnyBool;
            case (VLong, VLong) or (VString, VString): return a;
            case (VExt x, VExt y): return x.Name == y.Name ? a : null;
            case (VEntity { Type: null }, VEntity) or (VEntity, VEntity { Type: null }): return new VEntity(null);
            case (VEntity x, VEntity y): return x.Type == y.Type ? a : null;
            case (VSet x, VSet y): return Lub(x.Element, y.Element) is { } element ? new VSet(element) : null;
            case (VRecord or VRecordLiteral, VRecord or VRecordLiteral):
            {
                var left = RecordFields(a);
                var right = RecordFields(b);
                if (left is null || right is null) return Unknown;
                if (!left.Keys.ToHashSet(StringComparer.Ordinal).SetEquals(right.Keys)) return null;
                var fields = new Dictionary<string, VT>(StringComparer.Ordinal);
                foreach (var (key, type) in left)
                {
                    if (Lub(type, right[key]) is not { } common) return null;
                    fields[key] = common;
                }
                return new VRecordLiteral(fields);
            }
            default: return null;
        }
    }

    /// <summary>The field types of a record; null when a field is optional (the strict rules for those are not modelled).</summary>
    private IReadOnlyDictionary<string, VT>? RecordFields(VT record) => record switch
    {
        VRecordLiteral literal => literal.Fields,
        VRecord declared when declared.Attributes.Values.All(a => a.Required) => declared.Attributes.ToDictionary(a => a.Key, a => FromSchema(a.Value.Type), StringComparer.Ordinal),
        _ => null,
    };

    /// <summary>The common type of <paramref name="types"/>; reports Cedar's "types are not compatible" at <paramref name="at"/> when there is none.</summary>
    private VT LubOrReport(bool live, Expr at, IReadOnlyList<VT> types)
    {
        var common = types[0];
        foreach (var next in types.Skip(1))
        {
            if (Lub(common, next) is { } lub) { common = lub; continue; }
            Report(live, at, CedarErrorKind.IncompatibleTypes, $"the types {TypeText(common)} and {TypeText(next)} are not compatible");
            return Unknown;
        }
        return common;
    }

    private void Expect(bool live, Expr at, VT actual, string expected, Func<VT, bool> ok)
    {
        if (actual is VUnknown || ok(actual)) return;
        Report(live, at, CedarErrorKind.TypeMismatch, $"type mismatch: expected {expected}, but the expression is {Name(actual)}");
    }

    private VT FromSchema(SchemaType t) => t switch
    {
        PrimitiveSchemaType { Kind: PrimitiveKind.Long } => Long,
        PrimitiveSchemaType { Kind: PrimitiveKind.String } => Str,
        PrimitiveSchemaType => AnyBool,
        EntitySchemaType e => new VEntity(e.EntityTypeName),
        SetSchemaType s => new VSet(FromSchema(s.Element)),
        RecordSchemaType r => new VRecord(r.Attributes),
        ExtensionSchemaType x => new VExt(x.Name),
        _ => Unknown,
    };

    // Capabilities (Cedar's guards): after "e has a" is true, e.a may be read; after "e.hasTag(t)", e.getTag(t).
    // Cedar matches e (and t) by the shape of the expression, so a capability is keyed by shape keys.
    // _capabilities hold where the node is; _produced hold when the node just visited was true.
    private static readonly ImmutableHashSet<string> NoCapabilities = ImmutableHashSet.Create<string>(StringComparer.Ordinal);
    private ImmutableHashSet<string> _capabilities = NoCapabilities;
    private ImmutableHashSet<string> _produced = NoCapabilities;
    private readonly Dictionary<Expr, string> _shapeKeys = new(ReferenceEqualityComparer.Instance);

    private static string AttributeCapability(string subjectKey, string attribute) => "attr " + subjectKey + " " + Quote(attribute);

    private string TagCapability(Expr subject, Expr tag) => "tag " + ShapeKey(subject) + " " + ShapeKey(tag);

    private static string Quote(string text) => JsonSerializer.Serialize(text);

    private static string GetAttrKey(string operandKey, string attribute) => $"get({operandKey},{Quote(attribute)})";

    /// <summary>
    /// A key equal for two expressions exactly when they have the same shape (Cedar compares guards so,
    /// ignoring source positions). The patterns of <c>like</c> and the operators of comparisons are not in the
    /// tree's public surface, so those nodes compare by operands only: that can only add guards, never flag more.
    /// </summary>
    private string ShapeKey(Expr node)
    {
        if (_shapeKeys.TryGetValue(node, out var known)) return known;
        string Children() => string.Join(",", node.Children.Select(ShapeKey));
        var key = node switch
        {
            LiteralExpr { Folded: { } folded } => ShapeKey(folded),
            LiteralExpr { Value: BoolValue b } => b.Value ? "true" : "false",
            LiteralExpr { Value: LongValue l } => l.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            LiteralExpr { Value: StringValue text } => Quote(text.Value),
            LiteralExpr { Value: EntityValue { Uid: var uid } } => $"uid({Quote(uid.Type)},{Quote(uid.Id)})",
            VariableExpr v => v.Variable.ToString(),
            GetAttrExpr g => GetAttrKey(ShapeKey(g.Operand), g.Attribute),
            HasAttrExpr h => $"has({ShapeKey(h.Operand)},{string.Join(",", h.Path.Select(Quote))})",
            IsExpr i => $"is({Quote(i.EntityType)},{Children()})",
            // Cedar keeps record literals as maps: the order the keys are written in does not matter.
            RecordExpr r => "record(" + string.Join(",", r.Keys.Select((k, n) => Quote(k) + ":" + ShapeKey(r.Children[n])).Order(StringComparer.Ordinal)) + ")",
            ExtensionCallExpr c => $"call({Quote(c.Function.Name)},{Children()})",
            ArithmeticExpr a => $"{a.Op}({Children()})",
            SetOpExpr o => $"{o.Op}({Children()})",
            _ => $"{node.GetType().Name}({Children()})",
        };
        _shapeKeys[node] = key;
        return key;
    }

    private VT Visit(Expr node, bool live)
    {
        var type = VisitCore(node, live, out var produced);
        _produced = produced;
        return type;
    }

    /// <summary>Cedar's type of <c>l &amp;&amp; r</c> from the types of its operands.</summary>
    private static Truth And(Truth l, Truth r) => (l, r) switch
    {
        (Truth.False, _) or (_, Truth.False) => Truth.False,
        (Truth.Unsure, _) or (_, Truth.Unsure) => Truth.Unsure,
        (Truth.True, _) => r,
        _ => Truth.Any,
    };

    /// <summary>
    /// Cedar's type of <c>subject has attribute</c>, and the attribute's type when it is declared. Records and entity
    /// attributes are closed: an undeclared attribute is False. A declared one is True once guarded, and a required
    /// one of a record is always True; a required one of an entity is not, since the entity may not exist.
    /// Actions have no attributes.
    /// </summary>
    private (Truth Truth, VT? AttributeType) HasAttributeType(VT subject, string subjectKey, string attribute, ImmutableHashSet<string> guards)
    {
        bool guarded = guards.Contains(AttributeCapability(subjectKey, attribute));
        switch (subject)
        {
            case VRecordLiteral literal:
                return literal.Fields.TryGetValue(attribute, out var field) ? (Truth.True, field) : (Truth.False, null);
            case VRecord record:
                if (!record.Attributes.TryGetValue(attribute, out var declared)) return (Truth.False, null);
                return (declared.Required || guarded ? Truth.True : Truth.Any, FromSchema(declared.Type));
            case VEntity { Type: { } type }:
                if (schema.GetEntityType(type) is { } definition)
                {
                    if (definition.EnumIds is not null || !definition.Attributes.Attributes.TryGetValue(attribute, out var entityAttribute))
                        return (Truth.False, null);
                    return (guarded ? Truth.True : Truth.Any, FromSchema(entityAttribute.Type));
                }
                return schema.IsActionEntityType(type) ? (Truth.False, null) : (Truth.Unsure, null);
            default:
                return (Truth.Unsure, null);
        }
    }

    private VT WithCapabilities(ImmutableHashSet<string> added, Func<VT> visit)
    {
        var saved = _capabilities;
        _capabilities = saved.Union(added);
        try { return visit(); }
        finally { _capabilities = saved; }
    }

    private VT VisitCore(Expr node, bool live, out ImmutableHashSet<string> produced)
    {
        produced = NoCapabilities;
        switch (node)
        {
            case LiteralExpr { Folded: { } folded }: return VisitCore(folded, live, out produced);
            case LiteralExpr { Value: BoolValue b }: return new VBool(b.Value ? Truth.True : Truth.False);
            case LiteralExpr { Value: LongValue }: return Long;
            case LiteralExpr { Value: StringValue }: return Str;
            case LiteralExpr { Value: EntityValue { Uid.Type: var type } }:
                return schema.GetEntityType(type) != null || schema.IsActionEntityType(type) ? new VEntity(type) : Unknown;
            case VariableExpr v:
                return v.Variable switch
                {
                    Variable.Principal => new VEntity(principalType),
                    Variable.Resource => new VEntity(resourceType),
                    Variable.Action => new VEntity(action.Uid.Type),
                    _ => new VRecord(action.Context.Attributes),
                };
            case IfExpr i:
                {
                    var c = Visit(i.Condition, live);
                    var conditionCapabilities = _produced;
                    Expect(live, i.Condition, c, "Bool", t => t is VBool);
                    var truth = (c as VBool)?.Value ?? Truth.Unsure;
                    var then = WithCapabilities(conditionCapabilities, () => Visit(i.Then, live && truth is Truth.True or Truth.Any));
                    var thenCapabilities = conditionCapabilities.Union(_produced);
                    var otherwise = Visit(i.Otherwise, live && truth is Truth.False or Truth.Any);
                    produced = truth switch
                    {
                        Truth.True => thenCapabilities,
                        Truth.False => _produced,
                        Truth.Any => thenCapabilities.Intersect(_produced),
                        _ => thenCapabilities.Union(_produced), // more guards can only mean fewer findings
                    };
                    if (truth == Truth.True) return then;
                    if (truth == Truth.False) return otherwise;
                    // Only when Cedar cannot decide the condition does it need a type both branches have.
                    if (truth == Truth.Any) return LubOrReport(live, i, [then, otherwise]);
                    return then.GetType() == otherwise.GetType() && then is not VBool ? then : then is VBool && otherwise is VBool ? UnsureBool : Unknown;
                }
            case AndExpr a:
                {
                    var left = Visit(a.Left, live);
                    var leftCapabilities = _produced;
                    Expect(live, a.Left, left, "Bool", t => t is VBool);
                    var l = (left as VBool)?.Value ?? Truth.Unsure;
                    var right = WithCapabilities(leftCapabilities, () => Visit(a.Right, live && l is Truth.True or Truth.Any));
                    Expect(live && l is Truth.True or Truth.Any, a.Right, right, "Bool", t => t is VBool);
                    var r = (right as VBool)?.Value ?? Truth.Unsure;
                    var result = And(l, r);
                    produced = result == Truth.False ? NoCapabilities : leftCapabilities.Union(_produced);
                    return new VBool(result);
                }
            case OrExpr o:
                {
                    var left = Visit(o.Left, live);
                    var leftCapabilities = _produced;
                    Expect(live, o.Left, left, "Bool", t => t is VBool);
                    var l = (left as VBool)?.Value ?? Truth.Unsure;
                    var right = Visit(o.Right, live && l is Truth.False or Truth.Any);
                    var rightCapabilities = _produced;
                    Expect(live && l is Truth.False or Truth.Any, o.Right, right, "Bool", t => t is VBool);
                    var r = (right as VBool)?.Value ?? Truth.Unsure;
                    // When the || is true, the operand that may have made it so is known true.
                    produced = (l, r) switch
                    {
                        (Truth.Unsure, _) or (_, Truth.Unsure) => leftCapabilities.Union(rightCapabilities),
                        (Truth.True, _) or (_, Truth.False) => leftCapabilities,
                        (_, Truth.True) or (Truth.False, _) => rightCapabilities,
                        _ => leftCapabilities.Intersect(rightCapabilities),
                    };
                    if (l == Truth.True || r == Truth.True) return new VBool(Truth.True);
                    if (l == Truth.False) return new VBool(r);
                    return l == Truth.Any && r is Truth.Any or Truth.False ? AnyBool : UnsureBool;
                }
            case NegateExpr u:
                {
                    var operand = Visit(u.Operand, live);
                    Expect(live, u, operand, "Long", t => t is VLong);
                    return Long;
                }
            case NotExpr u:
                {
                    var operand = Visit(u.Operand, live);
                    Expect(live, u, operand, "Bool", t => t is VBool);
                    return (operand as VBool)?.Value switch
                    {
                        Truth.True => new VBool(Truth.False),
                        Truth.False => new VBool(Truth.True),
                        Truth.Any => AnyBool,
                        _ => UnsureBool,
                    };
                }
            case ArithmeticExpr or CompareExpr or InExpr or EqualsExpr: return VisitBinary((BinaryExpr)node, live);
            case HasAttrExpr h:
                {
                    var operand = Visit(h.Operand, live);
                    Expect(live, h, operand, "an entity or a record", t => t is VEntity or VRecord or VRecordLiteral);
                    // Cedar reads "e has a.b" as "e has a && e.a has b": each step is guarded by the ones before it.
                    var subject = operand;
                    var subjectKey = ShapeKey(h.Operand);
                    var truth = Truth.True;
                    var guards = NoCapabilities;
                    foreach (var attribute in h.Path)
                    {
                        var (step, attributeType) = HasAttributeType(subject, subjectKey, attribute, _capabilities.Union(guards));
                        truth = And(truth, step);
                        if (truth == Truth.False) return new VBool(Truth.False);
                        if (attributeType is null) return UnsureBool;
                        guards = guards.Add(AttributeCapability(subjectKey, attribute));
                        (subject, subjectKey) = (attributeType, GetAttrKey(subjectKey, attribute));
                    }
                    produced = guards;
                    return new VBool(truth);
                }
            case LikeExpr l:
                {
                    var operand = Visit(l.Operand, live);
                    Expect(live, l, operand, "String", t => t is VString);
                    return AnyBool;
                }
            case IsExpr i:
                {
                    var operand = Visit(i.Operand, live);
                    Expect(live, i, operand, "an entity", t => t is VEntity);
                    // Cedar decides the test from the operand's entity type.
                    var isTruth = operand is VEntity { Type: { } actual } ? (actual == i.EntityType ? Truth.True : Truth.False) : Truth.Unsure;
                    if (i.In is null) return new VBool(isTruth);
                    // "x is T in e" is "x is T && x in e": the "in" is checked only where the "is" may hold.
                    var inLive = live && isTruth is Truth.True or Truth.Any;
                    var target = Visit(i.In, inLive);
                    Expect(inLive, i.In, target, "an entity or a set of entities", t => t is VEntity or VSet);
                    return new VBool(And(isTruth, (InType(i.Operand, i.In, operand, target) as VBool)?.Value ?? Truth.Unsure));
                }
            case GetAttrExpr g: return VisitGetAttr(g, live);
            case HasTagExpr h:
                {
                    var type = VisitTag(h, live);
                    produced = NoCapabilities.Add(TagCapability(h.Left, h.Right));
                    return type;
                }
            case GetTagExpr g: return VisitTag(g, live);
            case SetOpExpr or IsEmptyExpr: return VisitSetMethod(node, live);
            case ExtensionCallExpr { Function.IsMethod: true } m: return VisitMethod(m, live);
            case ExtensionCallExpr c: return VisitCall(c, live);
            case SetExpr s:
                {
                    if (s.Children.Count == 0)
                    {
                        Report(live, s, CedarErrorKind.EmptySetLiteral, "empty set literals are not allowed in validated policies (their element type cannot be known)");
                        return new VSet(Unknown);
                    }
                    var types = s.Children.Select(e => Visit(e, live)).ToList();
                    return new VSet(LubOrReport(live, s, types));
                }
            case RecordExpr r:
                {
                    var fields = new Dictionary<string, VT>(StringComparer.Ordinal);
                    for (var k = 0; k < r.Keys.Count; k++) fields[r.Keys[k]] = Visit(r.Children[k], live);
                    return new VRecordLiteral(fields);
                }
            default:
                return Unknown;
        }
    }

    // A record literal: its keys are known, the value types are not followed.
    private sealed record VRecordLiteral(IReadOnlyDictionary<string, VT> Fields) : VT;

    private VT VisitBinary(BinaryExpr b, bool live)
    {
        var left = Visit(b.Left, live);
        var right = Visit(b.Right, live);
        switch (b)
        {
            case ArithmeticExpr:
                Expect(live, b.Left, left, "Long", t => t is VLong);
                Expect(live, b.Right, right, "Long", t => t is VLong);
                return Long;
            case CompareExpr:
                {
                    static bool Comparable(VT t) => t is VLong or VExt { Name: "datetime" or "duration" };
                    Expect(live, b.Left, left, "Long, datetime or duration", Comparable);
                    Expect(live, b.Right, right, "Long, datetime or duration", Comparable);
                    if (Comparable(left) && Comparable(right) && left != right)
                        Report(live, b, CedarErrorKind.TypeMismatch, $"type mismatch: cannot compare {Name(left)} with {Name(right)}");
                    return AnyBool;
                }
            case InExpr:
                Expect(live, b.Left, left, "an entity", t => t is VEntity or VUnknown);
                Expect(live, b.Right, right, "an entity or a set of entities", t => t is VEntity or VSet);
                return InType(b.Left, b.Right, left, right);
            default:
                return EqualityType(live, b, left, right);
        }
    }

    /// <summary>Cedar's type for <c>hasTag</c>: False for a type without tags, True where a test already guards the tag, else Bool.</summary>
    private VT HasTagType(BinaryExpr hasTag, VT receiver)
    {
        if (receiver is not VEntity { Type: { } type }) return UnsureBool;
        if (schema.GetEntityType(type) is { } definition)
        {
            if (definition.Tags is null) return new VBool(Truth.False);
        }
        else
        {
            return schema.IsActionEntityType(type) ? new VBool(Truth.False) : UnsureBool;
        }
        return _capabilities.Contains(TagCapability(hasTag.Left, hasTag.Right)) ? new VBool(Truth.True) : AnyBool;
    }

    private static bool IsActionTypeName(string type) => type == "Action" || type.EndsWith("::Action", StringComparison.Ordinal);

    /// <summary>The uid of an entity literal or of the action variable (whose uid the environment fixes), as Cedar reads them.</summary>
    private EntityUid? LiteralUid(Expr e) => e switch
    {
        LiteralExpr { Folded: null, Value: EntityValue v } => v.Uid,
        VariableExpr { Variable: Variable.Action } => action.Uid,
        _ => null,
    };

    private List<EntityUid>? LiteralUids(Expr e)
    {
        if (LiteralUid(e) is { } uid) return [uid];
        var set = e is LiteralExpr { Folded: SetExpr folded } ? folded : e as SetExpr;
        if (set is null) return null;
        var uids = new List<EntityUid>();
        foreach (var element in set.Children)
        {
            if (LiteralUid(element) is not { } elementUid) return null;
            uids.Add(elementUid);
        }
        return uids;
    }

    /// <summary>
    /// Cedar's type for <c>in</c>: exact for an action literal in action literals, False when the left entity type can
    /// never be a descendant of the right one, Bool otherwise; unsure when this checker does not know enough.
    /// </summary>
    private VT InType(Expr leftExpr, Expr rightExpr, VT left, VT right)
    {
        if (LiteralUid(leftExpr) is { } lhs && IsActionTypeName(lhs.Type) && LiteralUids(rightExpr) is { } rhs)
        {
            var actions = rhs.Where(r => IsActionTypeName(r.Type)).ToList();
            if (actions.Count == 0) return new VBool(Truth.False);
            if (actions.Any(a => schema.GetAction(a) is null)) return UnsureBool;
            return new VBool(actions.Any(a => hierarchy.ActionIsIn(lhs, a)) ? Truth.True : Truth.False);
        }
        var rightType = right switch { VEntity e => e.Type, VSet { Element: VEntity e } => e.Type, _ => null };
        if (left is not VEntity { Type: { } leftType } || rightType is null) return UnsureBool;
        var leftIsAction = schema.IsActionEntityType(leftType);
        var rightIsAction = schema.IsActionEntityType(rightType);
        // Only actions are in actions; an action in an action of its own type may or may not be.
        if (!leftIsAction && rightIsAction && schema.GetEntityType(leftType) is not null) return new VBool(Truth.False);
        if (leftIsAction || rightIsAction) return leftType == rightType ? AnyBool : UnsureBool;
        return hierarchy.TypeCanBeIn(leftType, rightType) ? AnyBool : new VBool(Truth.False);
    }

    /// <summary>Cedar's type for <c>==</c> (and <c>!=</c>): constant for two literals or disjoint entity types, else Bool, and in strict mode the operands need a common type.</summary>
    private VT EqualityType(bool live, BinaryExpr b, VT left, VT right)
    {
        if (Literal(b.Left) is { } x && Literal(b.Right) is { } y) return new VBool(x.Equals(y) ? Truth.True : Truth.False);
        if (left is VEntity { Type: { } t1 } && right is VEntity { Type: { } t2 }) return t1 == t2 ? AnyBool : new VBool(Truth.False);
        if (!Known(left) || !Known(right)) return UnsureBool;
        if (Lub(left, right) is null)
            Report(live, b, CedarErrorKind.IncompatibleTypes, $"the types {TypeText(left)} and {TypeText(right)} are not compatible");
        return AnyBool;
    }

    private Value? Literal(Expr e) => e switch
    {
        LiteralExpr { Folded: null, Value: BoolValue or LongValue or StringValue or EntityValue } literal => literal.Value,
        VariableExpr { Variable: Variable.Action } => new EntityValue(action.Uid),
        _ => null,
    };

    /// <summary>Whether this checker knows the type all the way down, as Cedar does.</summary>
    private static bool Known(VT t) => t switch
    {
        VUnknown or VEntity { Type: null } => false,
        VSet s => Known(s.Element),
        VRecordLiteral r => r.Fields.Values.All(Known),
        _ => true,
    };

    private VT VisitGetAttr(GetAttrExpr g, bool live)
    {
        var operand = Visit(g.Operand, live);
        switch (operand)
        {
            case VEntity { Type: { } type }:
                {
                    var definition = schema.GetEntityType(type);
                    IReadOnlyDictionary<string, SchemaAttribute> attributes;
                    if (definition is not null) attributes = definition.EnumIds is null ? definition.Attributes.Attributes : RecordSchemaType.Empty.Attributes;
                    else if (schema.IsActionEntityType(type)) attributes = RecordSchemaType.Empty.Attributes; // actions have no attributes in this schema format
                    else return Unknown;
                    if (attributes.TryGetValue(g.Attribute, out var declared)) return Guarded(g, declared, live);
                    Report(live, g, CedarErrorKind.UndeclaredAttribute, $"attribute '{g.Attribute}' is not declared for entity type '{type}'");
                    return Unknown;
                }
            case VRecord record:
                if (record.Attributes.TryGetValue(g.Attribute, out var field)) return Guarded(g, field, live);
                Report(live, g, CedarErrorKind.UndeclaredAttribute, $"attribute '{g.Attribute}' is not declared in this record type");
                return Unknown;
            case VRecordLiteral literal:
                if (literal.Fields.TryGetValue(g.Attribute, out var fieldType)) return fieldType;
                Report(live, g, CedarErrorKind.UndeclaredAttribute, $"the record has no attribute '{g.Attribute}'");
                return Unknown;
            default:
                Expect(live, g, operand, "an entity or a record", t => t is VEntity or VRecord or VRecordLiteral);
                return Unknown;
        }
    }

    /// <summary>An optional attribute may only be read where a 'has' test guards it.</summary>
    private VT Guarded(GetAttrExpr access, SchemaAttribute declared, bool live)
    {
        if (!declared.Required && !_capabilities.Contains(AttributeCapability(ShapeKey(access.Operand), access.Attribute)))
            Report(live, access, CedarErrorKind.UnguardedAttribute, $"attribute '{access.Attribute}' is optional", $"test it with 'has' before reading it");
        return FromSchema(declared.Type);
    }

    private VT VisitSetMethod(Expr m, bool live)
    {
        var receiver = Visit(m.Children[0], live);
        if (m is SetOpExpr { Op: var op } setOp)
        {
            var argument = Visit(setOp.Right, live);
            Expect(live, setOp.Left, receiver, "a Set", t => t is VSet);
            if (op is SetOp.ContainsAll or SetOp.ContainsAny) Expect(live, setOp.Right, argument, "a Set", t => t is VSet);
            // Strict mode: what is looked for must have a type in common with the elements.
            var (mine, theirs) = op == SetOp.Contains ? ((receiver as VSet)?.Element, argument) : (receiver as VSet, argument as VSet);
            if (mine is not null && theirs is not null && Known(mine) && Known(theirs) && Lub(mine, theirs) is null)
                Report(live, m, CedarErrorKind.IncompatibleTypes, $"the types {TypeText(mine)} and {TypeText(theirs)} are not compatible");
        }
        else
        {
            Expect(live, m.Children[0], receiver, "a Set", t => t is VSet);
        }
        return AnyBool;
    }

    private VT VisitTag(BinaryExpr m, bool live)
    {
        var receiver = Visit(m.Left, live);
        var tagType = Visit(m.Right, live);
        Expect(live, m.Left, receiver, "an entity", t => t is VEntity);
        Expect(live, m.Right, tagType, "String", t => t is VString);
        if (m is HasTagExpr) return HasTagType(m, receiver);
        if (receiver is VEntity { Type: { } actionType } && schema.GetEntityType(actionType) is null && schema.IsActionEntityType(actionType))
        {
            Report(live, m, CedarErrorKind.NoTags, $"entity type '{actionType}' has no tags");
            return Unknown;
        }
        if (receiver is VEntity { Type: { } type } && schema.GetEntityType(type) is { } definition)
        {
            if (definition.Tags is null) { Report(live, m, CedarErrorKind.NoTags, $"entity type '{type}' has no tags"); return Unknown; }
            if (!_capabilities.Contains(TagCapability(m.Left, m.Right))) Report(live, m, CedarErrorKind.UnguardedTag, "the tag may be absent", "test it with hasTag before reading it");
            return FromSchema(definition.Tags);
        }
        return Unknown;
    }

    private VT VisitMethod(ExtensionCallExpr m, bool live)
    {
        var types = m.Children.Select(a => Visit(a, live)).ToList();
        var function = m.Function;
        if (!m.HasRightArity)
        {
            Report(live, m, CedarErrorKind.WrongArity, $"wrong number of arguments for '{function.Name}': expected {function.Arity - 1}, got {m.Children.Count - 1}");
            return Unknown;
        }
        (string receiverType, string? argumentType, VT result) = function.Name switch
        {
            "lessThan" or "lessThanOrEqual" or "greaterThan" or "greaterThanOrEqual" => ("decimal", "decimal", AnyBool),
            "isIpv4" or "isIpv6" or "isLoopback" or "isMulticast" => ("ipaddr", (string?)null, AnyBool),
            "isInRange" => ("ipaddr", "ipaddr", AnyBool),
            "offset" => ("datetime", "duration", new VExt("datetime")),
            "durationSince" => ("datetime", "datetime", new VExt("duration")),
            "toDate" => ("datetime", null, new VExt("datetime")),
            "toTime" => ("datetime", null, new VExt("duration")),
            _ => ("duration", null, Long), // toMilliseconds, toSeconds, toMinutes, toHours, toDays
        };
        Expect(live, m.Children[0], types[0], receiverType, t => t is VExt x && x.Name == receiverType);
        if (argumentType != null) Expect(live, m.Children[1], types[1], argumentType, t => t is VExt x && x.Name == argumentType);
        return result;
    }

    private VT VisitCall(ExtensionCallExpr c, bool live)
    {
        foreach (var argument in c.Children) Visit(argument, live);
        var name = c.Function.Name;
        VT result = new VExt(name == "ip" ? "ipaddr" : name);
        if (!c.HasRightArity)
        {
            Report(live, c, CedarErrorKind.WrongArity, $"wrong number of arguments for '{name}': expected 1, got {c.Children.Count}");
            return result;
        }
        if (c.Children[0] is not LiteralExpr { Folded: null, Value: StringValue literal } argumentLiteral)
        {
            Report(live, c, CedarErrorKind.InvalidExtensionArgument, $"'{name}' must be called with a string literal");
            return result;
        }
        try
        {
            c.Function.Invoke1(literal);
        }
        catch (EvaluationException e)
        {
            Report(live, argumentLiteral, CedarErrorKind.InvalidExtensionArgument, $"invalid argument to '{name}': {e.Message}");
        }
        return result;
    }
}
