namespace RuntimeAuthz.Policy.Evaluation;

/// <summary>
/// A compiled Cedar expression. Policies are parsed once into this tree; evaluation walks it with
/// no per-node allocation except where Cedar builds new values (sets, records, arithmetic results).
/// </summary>
internal abstract class Expr
{
    protected Expr(params Expr[] children)
    {
        Children = children;
        var deepest = 0;
        foreach (var child in children) deepest = Math.Max(deepest, child.Depth);
        Depth = deepest + 1;
    }

    /// <summary>The direct sub-expressions, in source order (the validator walks them).</summary>
    public IReadOnlyList<Expr> Children { get; }

    /// <summary>Height of the tree under this node; the parser bounds it so evaluation cannot exhaust the stack.</summary>
    public int Depth { get; }

    /// <summary>Where this expression is in the source; set once by the parser.</summary>
    public SourceSpan Span { get; internal set; } = SourceSpan.None;

    public abstract Value Eval(EvalEnv env);

    /// <summary>Evaluates and requires a boolean, as conditions and the boolean operators do.</summary>
    public bool EvalBool(EvalEnv env)
    {
        var value = Eval(env);
        return value is BoolValue b ? b.Value : throw TypeError("bool", value);
    }

    /// <summary>An evaluation error located at this expression.</summary>
    internal EvaluationException Error(CedarErrorKind kind, string message) => new(kind, message, Span);

    internal EvaluationException TypeError(string expected, Value actual) => EvaluationException.TypeError(expected, actual).At(Span);

    /// <summary>True when this node always yields the same value and has no errors.</summary>
    public virtual Value? ConstantValue => null;
}

/// <summary>A constant; <see cref="Folded"/> is the expression it was computed from at parse time, if any.</summary>
internal sealed class LiteralExpr(Value value, Expr? folded = null) : Expr(folded is null ? [] : [folded])
{
    public Value Value { get; } = value;
    public Expr? Folded { get; } = folded;
    public override Value Eval(EvalEnv env) => Value;
    public override Value? ConstantValue => Value;
}

internal enum Variable { Principal, Action, Resource, Context }

internal sealed class VariableExpr(Variable variable) : Expr
{
    public Variable Variable { get; } = variable;
    public override Value Eval(EvalEnv env) => Variable switch
    {
        Variable.Principal => env.Principal,
        Variable.Action => env.Action,
        Variable.Resource => env.Resource,
        _ => env.Context,
    };
}

internal sealed class IfExpr(Expr condition, Expr then, Expr otherwise) : Expr(condition, then, otherwise)
{
    public Expr Condition { get; } = condition;
    public Expr Then { get; } = then;
    public Expr Otherwise { get; } = otherwise;
    public override Value Eval(EvalEnv env) => Condition.EvalBool(env) ? Then.Eval(env) : Otherwise.Eval(env);
}

internal abstract class BinaryExpr(Expr left, Expr right) : Expr(left, right)
{
    public Expr Left { get; } = left;
    public Expr Right { get; } = right;
}

internal abstract class UnaryExpr(Expr operand) : Expr(operand)
{
    public Expr Operand { get; } = operand;
}

internal sealed class AndExpr(Expr left, Expr right) : BinaryExpr(left, right)
{
    public override Value Eval(EvalEnv env) => BoolValue.Of(Left.EvalBool(env) && Right.EvalBool(env));
}

internal sealed class OrExpr(Expr left, Expr right) : BinaryExpr(left, right)
{
    public override Value Eval(EvalEnv env) => BoolValue.Of(Left.EvalBool(env) || Right.EvalBool(env));
}

internal sealed class NotExpr(Expr operand) : UnaryExpr(operand)
{
    public override Value Eval(EvalEnv env) => BoolValue.Of(!Operand.EvalBool(env));
}

internal sealed class NegateExpr(Expr operand) : UnaryExpr(operand)
{
    public override Value Eval(EvalEnv env)
    {
        var value = Operand.Eval(env);
        if (value is not LongValue l) throw TypeError("long", value);
        if (l.Value == long.MinValue) throw Error(CedarErrorKind.IntegerOverflow, $"integer overflow: cannot negate {l.Value}");
        return LongValue.Of(-l.Value);
    }
}

internal sealed class EqualsExpr(Expr left, Expr right) : BinaryExpr(left, right)
{
    public override Value Eval(EvalEnv env) => BoolValue.Of(Left.Eval(env).Equals(Right.Eval(env)));
}

internal enum ComparisonOp { Less, LessEqual }

internal sealed class CompareExpr(ComparisonOp op, Expr left, Expr right) : BinaryExpr(left, right)
{
    public override Value Eval(EvalEnv env)
    {
        var a = Left.Eval(env);
        var b = Right.Eval(env);
        long x, y;
        switch (a)
        {
            case LongValue la when b is LongValue lb: x = la.Value; y = lb.Value; break;
            case DatetimeValue da when b is DatetimeValue db: x = da.Milliseconds; y = db.Milliseconds; break;
            case DurationValue ua when b is DurationValue ub: x = ua.Milliseconds; y = ub.Milliseconds; break;
            default:
                throw Error(CedarErrorKind.TypeError, $"type error: cannot compare {a.TypeName} with {b.TypeName} (expected long, datetime or duration on both sides)");
        }
        return BoolValue.Of(op == ComparisonOp.Less ? x < y : x <= y);
    }
}

internal enum ArithmeticOp { Add, Subtract, Multiply }

internal sealed class ArithmeticExpr(ArithmeticOp op, Expr left, Expr right) : BinaryExpr(left, right)
{
    public ArithmeticOp Op { get; } = op;

    public override Value Eval(EvalEnv env)
    {
        var a = Left.Eval(env);
        var b = Right.Eval(env);
        if (a is not LongValue la) throw TypeError("long", a);
        if (b is not LongValue lb) throw TypeError("long", b);
        try
        {
            return LongValue.Of(Op switch
            {
                ArithmeticOp.Add => checked(la.Value + lb.Value),
                ArithmeticOp.Subtract => checked(la.Value - lb.Value),
                _ => checked(la.Value * lb.Value),
            });
        }
        catch (OverflowException)
        {
            throw Error(CedarErrorKind.IntegerOverflow, $"integer overflow in {la.Value} {(Op == ArithmeticOp.Add ? "+" : Op == ArithmeticOp.Subtract ? "-" : "*")} {lb.Value}");
        }
    }
}

internal sealed class InExpr(Expr left, Expr right) : BinaryExpr(left, right)
{
    public override Value Eval(EvalEnv env)
    {
        var a = Left.Eval(env);
        if (a is not EntityValue entity)
        {
            Right.Eval(env);
            throw TypeError("entity", a);
        }
        return Evaluate(this, entity, Right.Eval(env), env);
    }

    /// <summary>Whether <paramref name="entity"/> is in <paramref name="b"/> (an entity or a set of entities).</summary>
    public static Value Evaluate(Expr at, EntityValue entity, Value b, EvalEnv env)
    {
        if (b is EntityValue target) return BoolValue.Of(env.Entities.IsDescendantOrSelf(entity, target));
        if (b is not SetValue set) throw at.TypeError("entity or set of entities", b);
        env.Charge(set.Count + 1);
        foreach (var item in set.Items)
            if (item is not EntityValue) throw at.TypeError("set of entities", item);
        foreach (var item in set.Items)
            if (env.Entities.IsDescendantOrSelf(entity, (EntityValue)item)) return BoolValue.True;
        return BoolValue.False;
    }
}

internal enum SetOp { Contains, ContainsAll, ContainsAny }

internal sealed class SetOpExpr(SetOp op, Expr left, Expr right) : BinaryExpr(left, right)
{
    public SetOp Op { get; } = op;

    public override Value Eval(EvalEnv env)
    {
        var a = Left.Eval(env);
        var b = Right.Eval(env);
        if (a is not SetValue set) throw TypeError("set", a);
        if (Op == SetOp.Contains) return BoolValue.Of(set.Contains(b));
        if (b is not SetValue other) throw TypeError("set", b);
        env.Charge(other.Count + 1);
        if (Op == SetOp.ContainsAll)
        {
            foreach (var item in other.Items)
                if (!set.Contains(item)) return BoolValue.False;
            return BoolValue.True;
        }
        foreach (var item in other.Items)
            if (set.Contains(item)) return BoolValue.True;
        return BoolValue.False;
    }
}

internal sealed class IsEmptyExpr(Expr operand) : UnaryExpr(operand)
{
    public override Value Eval(EvalEnv env)
    {
        var value = Operand.Eval(env);
        return value is SetValue set ? BoolValue.Of(set.Count == 0) : throw TypeError("set", value);
    }
}

internal sealed class HasTagExpr(Expr entity, Expr tag) : BinaryExpr(entity, tag)
{
    public override Value Eval(EvalEnv env)
    {
        var a = Left.Eval(env);
        var b = Right.Eval(env);
        if (a is not EntityValue e) throw TypeError("entity", a);
        if (b is not StringValue s) throw TypeError("string", b);
        return BoolValue.Of(env.Entities.TryGet(e, out var data) && data.Tags.ContainsKey(s.Value));
    }
}

internal sealed class GetTagExpr(Expr entity, Expr tag) : BinaryExpr(entity, tag)
{
    public override Value Eval(EvalEnv env)
    {
        var a = Left.Eval(env);
        var b = Right.Eval(env);
        if (a is not EntityValue e) throw TypeError("entity", a);
        if (b is not StringValue s) throw TypeError("string", b);
        if (env.Entities.TryGet(e, out var data) && data.Tags.TryGetValue(s.Value, out var value)) return value;
        throw Error(CedarErrorKind.MissingTag, $"entity {e.Uid} has no tag \"{s.Value}\"");
    }
}

internal sealed class LikeExpr(Expr operand, WildcardPattern pattern) : UnaryExpr(operand)
{
    public override Value Eval(EvalEnv env)
    {
        var value = Operand.Eval(env);
        if (value is not StringValue s) throw TypeError("string", value);
        // Each literal run between wildcards may scan the rest of the input once.
        env.Charge((long)(s.Value.Length + 1) * (pattern.WildcardCount + 1));
        return BoolValue.Of(pattern.Matches(s.Value));
    }
}

/// <summary><c>e is T</c>, or <c>e is T in x</c> (<see cref="In"/> is x): the type test, then, only when it holds, the <c>in</c>.</summary>
internal sealed class IsExpr(Expr operand, string entityType, Expr? inTarget) : Expr(inTarget is null ? [operand] : [operand, inTarget])
{
    public Expr Operand { get; } = operand;
    public string EntityType { get; } = entityType;
    public Expr? In { get; } = inTarget;
    /// <summary>Where the type name is written.</summary>
    public SourceSpan TypeSpan { get; init; } = SourceSpan.None;

    public override Value Eval(EvalEnv env)
    {
        var value = Operand.Eval(env);
        if (value is not EntityValue e) throw TypeError("entity", value);
        if (!string.Equals(e.Uid.Type, EntityType, StringComparison.Ordinal)) return BoolValue.False;
        return In is null ? BoolValue.True : InExpr.Evaluate(this, e, In.Eval(env), env);
    }
}

/// <summary><c>e has a.b.c</c>: <c>e has a &amp;&amp; e.a has b &amp;&amp; e.a.b has c</c>, stopping at the first missing attribute.</summary>
internal sealed class HasAttrExpr(Expr operand, string[] path) : UnaryExpr(operand)
{
    public IReadOnlyList<string> Path { get; } = path;

    public override Value Eval(EvalEnv env)
    {
        var value = Operand.Eval(env);
        for (var i = 0; i < path.Length; i++)
        {
            if (!Has(value, path[i], env)) return BoolValue.False;
            if (i + 1 < path.Length) value = GetAttrExpr.Get(this, value, path[i], env);
        }
        return BoolValue.True;
    }

    private bool Has(Value value, string attribute, EvalEnv env) => value switch
    {
        RecordValue record => record.Attributes.ContainsKey(attribute),
        EntityValue entity => env.Entities.TryGet(entity, out var data) && data.Attributes.ContainsKey(attribute),
        _ => throw TypeError("entity or record", value),
    };
}

internal sealed class GetAttrExpr(Expr operand, string attribute) : UnaryExpr(operand)
{
    public string Attribute { get; } = attribute;

    public override Value Eval(EvalEnv env) => Get(this, Operand.Eval(env), Attribute, env);

    public static Value Get(Expr at, Value value, string attribute, EvalEnv env)
    {
        switch (value)
        {
            case RecordValue record:
                return record.Attributes.TryGetValue(attribute, out var field)
                    ? field
                    : throw at.Error(CedarErrorKind.MissingAttribute, $"record does not have the attribute \"{attribute}\"");
            case EntityValue entity:
                if (!env.Entities.TryGet(entity, out var data))
                    throw at.Error(CedarErrorKind.EntityNotFound, $"entity {entity.Uid} does not exist");
                return data.Attributes.TryGetValue(attribute, out var attr)
                    ? attr
                    : throw at.Error(CedarErrorKind.MissingAttribute, $"entity {entity.Uid} does not have the attribute \"{attribute}\"");
            default: throw at.TypeError("entity or record", value);
        }
    }
}

internal sealed class SetExpr(Expr[] elements) : Expr(elements)
{
    private readonly Expr[] elements = elements;

    public override Value Eval(EvalEnv env)
    {
        var values = new Value[elements.Length];
        for (var i = 0; i < elements.Length; i++) values[i] = elements[i].Eval(env);
        return SetValue.FromDistinctCandidates(values);
    }
}

internal sealed class RecordExpr(string[] keys, Expr[] values) : Expr(values)
{
    private readonly string[] keys = keys;
    private readonly Expr[] values = values;

    public IReadOnlyList<string> Keys => keys;

    public override Value Eval(EvalEnv env)
    {
        var fields = new Dictionary<string, Value>(keys.Length, StringComparer.Ordinal);
        for (var i = 0; i < keys.Length; i++) fields[keys[i]] = values[i].Eval(env);
        return new RecordValue(fields);
    }
}

/// <summary>
/// A call of an extension function or method (for a method, the receiver is the first argument);
/// arguments are evaluated left to right first. With the wrong number of arguments it evaluates
/// them, then fails, as Cedar does.
/// </summary>
internal sealed class ExtensionCallExpr(ExtensionFunction function, Expr[] arguments) : Expr(arguments)
{
    private readonly Expr[] arguments = arguments;

    public ExtensionFunction Function { get; } = function;
    public bool HasRightArity => arguments.Length == Function.Arity;

    public override Value Eval(EvalEnv env)
    {
        if (!HasRightArity)
        {
            foreach (var argument in arguments) argument.Eval(env);
            throw Error(CedarErrorKind.WrongArity, $"wrong number of arguments for '{Function.Name}': expected {Function.Arity}, got {arguments.Length}");
        }
        var first = arguments[0].Eval(env);
        var second = arguments.Length == 2 ? arguments[1].Eval(env) : null;
        try
        {
            return second is null ? Function.Invoke1(first) : Function.Invoke2(first, second);
        }
        catch (EvaluationException e) when (e.Span.IsNone)
        {
            throw e.At(Span);
        }
    }
}
