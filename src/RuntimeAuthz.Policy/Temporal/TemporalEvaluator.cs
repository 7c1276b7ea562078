namespace RuntimeAuthz.Policy.Temporal;

/// <summary>A set of variable bindings (one row of a condition's relation). Immutable; equality is set equality.</summary>
internal sealed class Row : IEquatable<Row>
{
    public static readonly Row Empty = new([], []);
    private readonly string[] names;
    private readonly Value[] values;

    private Row(string[] names, Value[] values)
    {
        this.names = names;
        this.values = values;
    }

    public int Count => names.Length;

    public Value? Get(string name)
    {
        for (var i = 0; i < names.Length; i++)
            if (names[i] == name) return values[i];
        return null;
    }

    public bool Has(string name) => Array.IndexOf(names, name) >= 0;

    public Row With(string name, Value value)
    {
        var i = Array.IndexOf(names, name);
        if (i >= 0)
        {
            var copy = (Value[])values.Clone();
            copy[i] = value;
            return new Row(names, copy);
        }
        return new Row([.. names, name], [.. values, value]);
    }

    public Row Without(string name)
    {
        var i = Array.IndexOf(names, name);
        if (i < 0) return this;
        return new Row([.. names[..i], .. names[(i + 1)..]], [.. values[..i], .. values[(i + 1)..]]);
    }

    public bool Equals(Row? other)
    {
        if (other is null || other.names.Length != names.Length) return false;
        for (var i = 0; i < names.Length; i++)
        {
            var v = other.Get(names[i]);
            if (v is null || !v.Equals(values[i])) return false;
        }
        return true;
    }

    public override bool Equals(object? obj) => obj is Row r && Equals(r);

    public override int GetHashCode()
    {
        var hash = names.Length;
        for (var i = 0; i < names.Length; i++) hash ^= HashCode.Combine(names[i], values[i].GetHashCode());
        return hash;
    }
}

/// <summary>The current decision request, against which <c>context.…</c>, <c>principal</c> and <c>resource</c> resolve.</summary>
internal sealed record DecisionInput(RecordValue Logged, RecordValue? RequestContext, EntityUid? Principal, EntityUid? Resource, EntityStore Entities);

/// <summary>A temporal evaluation that cannot produce a verdict; the decision then denies.</summary>
internal sealed class TemporalEvaluationException(string message) : Exception(message);

/// <summary>
/// Evaluates temporal conditions over a <see cref="TemporalHistory"/> by the formal semantics: each
/// condition denotes a set of binding rows at a timepoint. Predicates with an index are answered by
/// binary search (latest match, count and sum in a window), so those costs do not grow with the
/// history; other shapes walk the retained window.
/// </summary>
internal sealed class TemporalEvaluator(TemporalMonitor monitor, TemporalHistory history, DecisionInput request)
{
    public bool Holds(Cond condition, long at) => Eval(condition, at, Row.Empty).Any();

    private IEnumerable<Row> Eval(Cond c, long j, Row env) => c switch
    {
        AndCond a => EvalAnd(a, j, env),
        NotCond n => Eval(n.Inner, j, env).Any() ? [] : [env],
        PredicateCond p => MatchPredicate(p, j, env),
        TpCond t => EvalTp(t, j, env),
        CompareCond cmp => EvalCompare(cmp, j, env),
        ExistsCond e => EvalExists(e, j, env),
        FormerlyCond f => EvalFormerly(f, j, env),
        PreviousCond p => EvalPrevious(p, j, env),
        SinceCond s => EvalSince(s, j, env),
        _ => throw new TemporalEvaluationException($"unsupported temporal condition {c.GetType().Name}"),
    };

    private IEnumerable<Row> EvalAnd(AndCond a, long j, Row env)
    {
        foreach (var left in Eval(a.Left, j, env))
            foreach (var right in Eval(a.Right, j, left))
                yield return right;
    }

    private static IEnumerable<Row> EvalTp(TpCond t, long j, Row env)
    {
        var value = LongValue.Of(j);
        var bound = env.Get(t.Variable);
        if (bound is null) return [env.With(t.Variable, value)];
        return bound.Equals(value) ? [env] : [];
    }

    private IEnumerable<Row> MatchPredicate(PredicateCond p, long j, Row env)
    {
        var e = history.At(j);
        if (e is null || e.Fields is null || e.Kind != p.Kind || e.ActionId != p.ActionId || e.ActionType != p.ActionType) yield break;
        var row = env;
        foreach (var arg in p.Args)
        {
            var actual = TemporalValueOps.Lookup(e.Fields, arg.Path);
            if (actual is null) yield break;
            switch (arg.Term)
            {
                case WildcardTerm:
                    continue;
                case VariableTerm v:
                {
                    var bound = row.Get(v.Name);
                    if (bound is null) row = row.With(v.Name, actual);
                    else if (!bound.Equals(actual)) yield break;
                    continue;
                }
                default:
                {
                    var expected = Resolve(arg.Term, j, row);
                    if (expected is null || !expected.Equals(actual)) yield break;
                    continue;
                }
            }
        }
        yield return row;
    }

    private IEnumerable<Row> EvalCompare(CompareCond cmp, long j, Row env)
    {
        if (cmp.Op == CompareOp.Equal)
        {
            if (cmp.Left is VariableTerm lv && !env.Has(lv.Name) && cmp.Right is not (VariableTerm or WildcardTerm))
            {
                var value = Resolve(cmp.Right, j, env);
                return value is null ? [] : [env.With(lv.Name, value)];
            }
            if (cmp.Right is VariableTerm rv && !env.Has(rv.Name) && cmp.Left is not (VariableTerm or WildcardTerm))
            {
                var value = Resolve(cmp.Left, j, env);
                return value is null ? [] : [env.With(rv.Name, value)];
            }
        }
        var left = Resolve(cmp.Left, j, env);
        var right = Resolve(cmp.Right, j, env);
        if (left is null || right is null) return [];
        bool holds;
        if (cmp.Op == CompareOp.Equal) holds = left.Equals(right);
        else if (left is LongValue l && right is LongValue r)
        {
            holds = cmp.Op switch
            {
                CompareOp.Less => l.Value < r.Value,
                CompareOp.LessEqual => l.Value <= r.Value,
                CompareOp.Greater => l.Value > r.Value,
                _ => l.Value >= r.Value,
            };
        }
        else holds = false;
        return holds ? [env] : [];
    }

    private IEnumerable<Row> EvalExists(ExistsCond e, long j, Row env)
    {
        var outer = env.Get(e.Variable);
        var seen = new HashSet<Row>();
        foreach (var row in Eval(e.Body, j, env.Without(e.Variable)))
        {
            var projected = row.Without(e.Variable);
            if (outer is not null) projected = projected.With(e.Variable, outer);
            if (seen.Add(projected)) yield return projected;
        }
    }

    private IEnumerable<Row> EvalFormerly(FormerlyCond f, long j, Row env)
    {
        var now = history.At(j);
        if (now is null) yield break;
        if (f.Body is PredicateCond p && history.IndexFor(p) is { } index && KeyFor(index, j, env) is { } key)
        {
            var entries = index.Get(key);
            if (entries is null) yield break;
            var (lo, hi) = PredicateIndex.Range(entries, j, now.TimeMs - f.Window.Milliseconds);
            if (lo < hi) yield return env;
            yield break;
        }
        var seen = new HashSet<Row>();
        for (var k = j; k >= history.FirstRetainedIndex; k--)
        {
            var past = history.At(k)!;
            var distance = now.TimeMs - past.TimeMs;
            if (distance > f.Window.Milliseconds) break;
            if (distance < 0) continue;
            foreach (var row in Eval(f.Body, k, env))
                if (seen.Add(row)) yield return row;
        }
    }

    private IEnumerable<Row> EvalPrevious(PreviousCond p, long j, Row env)
    {
        var now = history.At(j);
        var before = history.At(j - 1);
        if (now is null || before is null) return [];
        var distance = now.TimeMs - before.TimeMs;
        if (distance < 0 || distance > p.Window.Milliseconds) return [];
        return Eval(p.Body, j - 1, env);
    }

    private IEnumerable<Row> EvalSince(SinceCond s, long j, Row env)
    {
        var now = history.At(j);
        if (now is null) yield break;
        var leftFree = monitor.FreeVariables(s.Left);
        var leftClosed = leftFree.All(env.Has);
        // An anchor predicate that binds nothing: only the latest anchor in the window matters
        // (an earlier one must satisfy the left over a longer stretch), found by one index lookup.
        if (leftClosed && s.Right is PredicateCond anchor && history.IndexFor(anchor) is { } anchorIndex && KeyFor(anchorIndex, j, env) is { } anchorKey)
        {
            var anchors = anchorIndex.Get(anchorKey);
            if (anchors is null) yield break;
            var (lo, hi) = PredicateIndex.Range(anchors, j, now.TimeMs - s.Window.Milliseconds);
            if (lo < hi && LeftHoldsThrough(s.Left, anchors.Index[hi - 1] + 1, j, env)) yield return env;
            yield break;
        }
        var streakHolds = true; // left holds at every step in (k, j] — used when the left reads no anchor binding
        var seen = new HashSet<Row>();
        for (var k = j; k >= history.FirstRetainedIndex; k--)
        {
            var past = history.At(k)!;
            var distance = now.TimeMs - past.TimeMs;
            if (distance > s.Window.Milliseconds) break;
            if (distance >= 0)
            {
                foreach (var row in Eval(s.Right, k, env))
                {
                    var ok = leftClosed ? streakHolds : LeftHoldsThrough(s.Left, k + 1, j, row);
                    if (ok && seen.Add(row)) yield return row;
                }
            }
            if (leftClosed)
            {
                streakHolds = streakHolds && Eval(s.Left, k, env).Any();
                if (!streakHolds) yield break;
            }
        }
    }

    private bool LeftHoldsThrough(Cond left, long from, long to, Row row)
    {
        if (from > to) return true;
        // "No X since the anchor": one index lookup instead of a walk over every step.
        if (left is NotCond { Inner: PredicateCond p } && history.IndexFor(p) is { } index && KeyFor(index, to, row) is { } key)
        {
            var entries = index.Get(key);
            if (entries is null) return true;
            var (lo, hi) = PredicateIndex.Range(entries, to, long.MinValue);
            return hi == lo || entries.Index[hi - 1] < from;
        }
        for (var m = from; m <= to; m++)
            if (!Eval(left, m, row).Any()) return false;
        return true;
    }

    private ValueKey? KeyFor(PredicateIndex index, long j, Row env)
    {
        var parts = new Value[index.KeyArgs.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var value = Resolve(index.KeyArgs[i].Term, j, env);
            if (value is null) return null;
            parts[i] = value;
        }
        return new ValueKey(parts);
    }

    // ---- terms ----------------------------------------------------------------------------------

    private Value? Resolve(Term t, long j, Row env) => t switch
    {
        LiteralTerm l => l.Value,
        VariableTerm v => env.Get(v.Name),
        ContextTerm c => TemporalValueOps.Normalize(TemporalValueOps.Lookup(request.RequestContext, c.Path) ?? TemporalValueOps.Lookup(request.Logged, c.Path)),
        ScopeTerm s => ResolveScope(s),
        ArrayTerm a => ResolveArray(a, j, env),
        AggregateTerm agg => EvalAggregate(agg, j, env),
        _ => null,
    };

    private Value? ResolveArray(ArrayTerm a, long j, Row env)
    {
        var items = new List<Value>(a.Items.Count);
        foreach (var item in a.Items)
        {
            var value = Resolve(item, j, env);
            if (value is null) return null;
            items.Add(value);
        }
        return new SetValue(items);
    }

    private Value? ResolveScope(ScopeTerm s)
    {
        var uid = s.IsPrincipal ? request.Principal : request.Resource;
        if (uid is null) return null;
        Value current = new EntityValue(uid.Value);
        foreach (var attribute in s.Attributes)
        {
            switch (current)
            {
                case EntityValue e when attribute == "id" && !HasAttribute(e, "id"): current = new StringValue(e.Uid.Id); break;
                case EntityValue e when attribute == "type" && !HasAttribute(e, "type"): current = new StringValue(e.Uid.Type); break;
                case EntityValue e:
                    if (!request.Entities.TryGet(e, out var data) || !data.Attributes.TryGetValue(attribute, out var value)) return null;
                    current = value;
                    break;
                case RecordValue r:
                    if (!r.Attributes.TryGetValue(attribute, out var field)) return null;
                    current = field;
                    break;
                default:
                    return null;
            }
        }
        return TemporalValueOps.Normalize(current);
    }

    private bool HasAttribute(EntityValue e, string attribute) =>
        request.Entities.TryGet(e, out var data) && data.Attributes.ContainsKey(attribute);

    private Value? EvalAggregate(AggregateTerm agg, long j, Row env)
    {
        var now = history.At(j);
        if (now is null) return null;
        if (monitor.FastAggregate(agg) is { } fast && history.IndexFor(fast.Predicate) is { } fastIndex && KeyFor(fastIndex, j, env) is { } key)
        {
            var entries = fastIndex.Get(key);
            if (entries is null) return LongValue.Of(0);
            var (lo, hi) = PredicateIndex.Range(entries, j, now.TimeMs - fast.WindowMs);
            if (!agg.IsSum) return LongValue.Of(hi - lo);
            return Clamp(entries.Prefix[hi] - entries.Prefix[lo]);
        }
        var inner = env;
        foreach (var binder in agg.Binders) inner = inner.Without(binder.Variable);
        var tuples = new HashSet<ValueKey>();
        Int128 total = 0;
        var sumIndex = agg.IsSum ? agg.Binders.ToList().FindIndex(b => b.Variable == agg.SumVariable) : -1;
        foreach (var row in Eval(agg.Body, j, inner))
        {
            var parts = new Value[agg.Binders.Count];
            var complete = true;
            for (var i = 0; i < parts.Length; i++)
            {
                var value = row.Get(agg.Binders[i].Variable);
                if (value is null) { complete = false; break; }
                parts[i] = value;
            }
            if (!complete || !tuples.Add(new ValueKey(parts))) continue;
            if (sumIndex >= 0 && parts[sumIndex] is LongValue l) total += l.Value;
        }
        return agg.IsSum ? Clamp(total) : LongValue.Of(tuples.Count);
    }

    // A total outside the Long range is implementation-defined; we clamp, so verdicts never depend on overflow.
    private static LongValue Clamp(Int128 total) =>
        LongValue.Of(total > long.MaxValue ? long.MaxValue : total < long.MinValue ? long.MinValue : (long)total);
}
