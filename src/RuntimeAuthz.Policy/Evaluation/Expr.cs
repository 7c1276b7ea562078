namespace RuntimeAuthz.Policy.Evaluation;

/// <summary>
/// A compiled Cedar expression. Policies are parsed once into this tree; evaluation walks it with
/// no per-node allocation except where Cedar builds new values (sets, records, arithmetic results).
/// </summary>
internal abstract class Expr
{
    protected Expr(params Expr[] children)
    {
        var deepest = 0;
        foreach (var child in children) deepest = Math.Max(deepest, child.Depth);
        Depth = deepest + 1;
    }

    protected Expr(int deepestChild) => Depth = deepestChild + 1;

    protected static int Deepest(Expr[] children) => children.Length == 0 ? 0 : children.Max(c => c.Depth);

    /// <summary>Height of the tree under this node; the parser bounds it so evaluation cannot exhaust the stack.</summary>
    public int Depth { get; }

    public abstract Value Eval(EvalEnv env);

    /// <summary>Evaluates and requires a boolean, as conditions and the boolean operators do.</summary>
    public bool EvalBool(EvalEnv env)
    {
        var value = Eval(env);
        return value is BoolValue b ? b.Value : throw EvaluationException.TypeError("bool", value);
    }

    /// <summary>True when this node always yields the same value and has no errors.</summary>
    public virtual Value? ConstantValue => null;
}

internal sealed class LiteralExpr(Value value) : Expr
{
    public Value Value { get; } = value;
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
    public override Value Eval(EvalEnv env) => condition.EvalBool(env) ? then.Eval(env) : otherwise.Eval(env);
}

internal sealed class AndExpr(Expr left, Expr right) : Expr(left, right)
{
    public override Value Eval(EvalEnv env) => BoolValue.Of(left.EvalBool(env) && right.EvalBool(env));
}

internal sealed class OrExpr(Expr left, Expr right) : Expr(left, right)
{
    public override Value Eval(EvalEnv env) => BoolValue.Of(left.EvalBool(env) || right.EvalBool(env));
}

internal sealed class NotExpr(Expr operand) : Expr(operand)
{
    public override Value Eval(EvalEnv env) => BoolValue.Of(!operand.EvalBool(env));
}

internal sealed class NegateExpr(Expr operand) : Expr(operand)
{
    public override Value Eval(EvalEnv env)
    {
        var value = operand.Eval(env);
        if (value is not LongValue l) throw EvaluationException.TypeError("long", value);
        if (l.Value == long.MinValue) throw new EvaluationException($"integer overflow: cannot negate {l.Value}");
        return LongValue.Of(-l.Value);
    }
}

internal sealed class EqualsExpr(Expr left, Expr right) : Expr(left, right)
{
    public override Value Eval(EvalEnv env) => BoolValue.Of(left.Eval(env).Equals(right.Eval(env)));
}

internal enum ComparisonOp { Less, LessEqual }

internal sealed class CompareExpr(ComparisonOp op, Expr left, Expr right) : Expr(left, right)
{
    public override Value Eval(EvalEnv env)
    {
        var a = left.Eval(env);
        var b = right.Eval(env);
        long x, y;
        switch (a)
        {
            case LongValue la when b is LongValue lb: x = la.Value; y = lb.Value; break;
            case DatetimeValue da when b is DatetimeValue db: x = da.Milliseconds; y = db.Milliseconds; break;
            case DurationValue ua when b is DurationValue ub: x = ua.Milliseconds; y = ub.Milliseconds; break;
            default:
                throw new EvaluationException($"type error: cannot compare {a.TypeName} with {b.TypeName} (expected long, datetime or duration on both sides)");
        }
        return BoolValue.Of(op == ComparisonOp.Less ? x < y : x <= y);
    }
}

internal enum ArithmeticOp { Add, Subtract, Multiply }

internal sealed class ArithmeticExpr(ArithmeticOp op, Expr left, Expr right) : Expr(left, right)
{
    public override Value Eval(EvalEnv env)
    {
        var a = left.Eval(env);
        var b = right.Eval(env);
        if (a is not LongValue la) throw EvaluationException.TypeError("long", a);
        if (b is not LongValue lb) throw EvaluationException.TypeError("long", b);
        try
        {
            return LongValue.Of(op switch
            {
                ArithmeticOp.Add => checked(la.Value + lb.Value),
                ArithmeticOp.Subtract => checked(la.Value - lb.Value),
                _ => checked(la.Value * lb.Value),
            });
        }
        catch (OverflowException)
        {
            throw new EvaluationException($"integer overflow in {la.Value} {(op == ArithmeticOp.Add ? "+" : op == ArithmeticOp.Subtract ? "-" : "*")} {lb.Value}");
        }
    }
}

internal sealed class InExpr(Expr left, Expr right) : Expr(left, right)
{
    public override Value Eval(EvalEnv env)
    {
        var a = left.Eval(env);
        var b = right.Eval(env);
        if (a is not EntityValue entity) throw EvaluationException.TypeError("entity", a);
        if (b is EntityValue target) return BoolValue.Of(env.Entities.IsDescendantOrSelf(entity, target));
        if (b is not SetValue set) throw EvaluationException.TypeError("entity or set of entities", b);
        foreach (var item in set.Items)
            if (item is not EntityValue) throw EvaluationException.TypeError("set of entities", item);
        foreach (var item in set.Items)
            if (env.Entities.IsDescendantOrSelf(entity, (EntityValue)item)) return BoolValue.True;
        return BoolValue.False;
    }
}

internal enum SetOp { Contains, ContainsAll, ContainsAny }

internal sealed class SetOpExpr(SetOp op, Expr left, Expr right) : Expr(left, right)
{
    public override Value Eval(EvalEnv env)
    {
        var a = left.Eval(env);
        var b = right.Eval(env);
        if (a is not SetValue set) throw EvaluationException.TypeError("set", a);
        if (op == SetOp.Contains) return BoolValue.Of(set.Contains(b));
        if (b is not SetValue other) throw EvaluationException.TypeError("set", b);
        if (op == SetOp.ContainsAll)
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

internal sealed class IsEmptyExpr(Expr operand) : Expr(operand)
{
    public override Value Eval(EvalEnv env)
    {
        var value = operand.Eval(env);
        return value is SetValue set ? BoolValue.Of(set.Count == 0) : throw EvaluationException.TypeError("set", value);
    }
}

internal sealed class HasTagExpr(Expr entity, Expr tag) : Expr(entity, tag)
{
    public override Value Eval(EvalEnv env)
    {
        var a = entity.Eval(env);
        var b = tag.Eval(env);
        if (a is not EntityValue e) throw EvaluationException.TypeError("entity", a);
        if (b is not StringValue s) throw EvaluationException.TypeError("string", b);
        return BoolValue.Of(env.Entities.TryGet(e, out var data) && data.Tags.ContainsKey(s.Value));
    }
}

internal sealed class GetTagExpr(Expr entity, Expr tag) : Expr(entity, tag)
{
    public override Value Eval(EvalEnv env)
    {
        var a = entity.Eval(env);
        var b = tag.Eval(env);
        if (a is not EntityValue e) throw EvaluationException.TypeError("entity", a);
        if (b is not StringValue s) throw EvaluationException.TypeError("string", b);
        if (env.Entities.TryGet(e, out var data) && data.Tags.TryGetValue(s.Value, out var value)) return value;
        throw new EvaluationException($"entity {e.Uid} has no tag \"{s.Value}\"");
    }
}

internal sealed class LikeExpr(Expr operand, Pattern pattern) : Expr(operand)
{
    public override Value Eval(EvalEnv env)
    {
        var value = operand.Eval(env);
        return value is StringValue s ? BoolValue.Of(pattern.Matches(s.Value)) : throw EvaluationException.TypeError("string", value);
    }
}

internal sealed class IsExpr(Expr operand, string entityType) : Expr(operand)
{
    public override Value Eval(EvalEnv env)
    {
        var value = operand.Eval(env);
        return value is EntityValue e
            ? BoolValue.Of(string.Equals(e.Uid.Type, entityType, StringComparison.Ordinal))
            : throw EvaluationException.TypeError("entity", value);
    }
}

internal sealed class HasAttrExpr(Expr operand, string attribute) : Expr(operand)
{
    public override Value Eval(EvalEnv env)
    {
        var value = operand.Eval(env);
        switch (value)
        {
            case RecordValue record: return BoolValue.Of(record.Attributes.ContainsKey(attribute));
            case EntityValue entity:
                return BoolValue.Of(env.Entities.TryGet(entity, out var data) && data.Attributes.ContainsKey(attribute));
            default: throw EvaluationException.TypeError("entity or record", value);
        }
    }
}

internal sealed class GetAttrExpr(Expr operand, string attribute) : Expr(operand)
{
    public override Value Eval(EvalEnv env)
    {
        var value = operand.Eval(env);
        switch (value)
        {
            case RecordValue record:
                return record.Attributes.TryGetValue(attribute, out var field)
                    ? field
                    : throw new EvaluationException($"record does not have the attribute \"{attribute}\"");
            case EntityValue entity:
                if (!env.Entities.TryGet(entity, out var data))
                    throw new EvaluationException($"entity {entity.Uid} does not exist");
                return data.Attributes.TryGetValue(attribute, out var attr)
                    ? attr
                    : throw new EvaluationException($"entity {entity.Uid} does not have the attribute \"{attribute}\"");
            default: throw EvaluationException.TypeError("entity or record", value);
        }
    }
}

internal sealed class SetExpr(Expr[] elements) : Expr(Deepest(elements))
{
    public override Value Eval(EvalEnv env)
    {
        var values = new Value[elements.Length];
        for (var i = 0; i < elements.Length; i++) values[i] = elements[i].Eval(env);
        return SetValue.FromDistinctCandidates(values);
    }
}

internal sealed class RecordExpr(string[] keys, Expr[] values) : Expr(Deepest(values))
{
    public override Value Eval(EvalEnv env)
    {
        var fields = new Dictionary<string, Value>(keys.Length, StringComparer.Ordinal);
        for (var i = 0; i < keys.Length; i++) fields[keys[i]] = values[i].Eval(env);
        return new RecordValue(fields);
    }
}

/// <summary>A call of an extension function or method; arguments are evaluated left to right first.</summary>
internal sealed class ExtensionCallExpr(ExtensionFunction function, Expr[] arguments) : Expr(Deepest(arguments))
{
    public override Value Eval(EvalEnv env)
    {
        switch (arguments.Length)
        {
            case 1: return function.Invoke1(arguments[0].Eval(env));
            case 2:
            {
                var first = arguments[0].Eval(env);
                return function.Invoke2(first, arguments[1].Eval(env));
            }
            default: throw new EvaluationException($"wrong number of arguments to {function.Name}");
        }
    }
}

/// <summary>An extension call with the wrong number of arguments: evaluates them, then fails, as Cedar does.</summary>
internal sealed class WrongArityExpr(ExtensionFunction function, Expr[] arguments) : Expr(Deepest(arguments))
{
    public override Value Eval(EvalEnv env)
    {
        foreach (var argument in arguments) argument.Eval(env);
        throw new EvaluationException($"wrong number of arguments for '{function.Name}': expected {function.Arity}, got {arguments.Length}");
    }
}
