using RuntimeAuthz.Policy.Evaluation;

namespace RuntimeAuthz.Policy.Temporal;

/// <summary>The Cedar side of a <c>temporal { … }</c> block: reads the block's verdict computed before the Cedar policies run.</summary>
internal sealed class TemporalExpr(TemporalBlock block) : Expr
{
    public TemporalBlock Block { get; } = block;

    public override Value Eval(EvalEnv env)
    {
        if (env.Temporal is { } values && values.TryGetValue(Block, out var holds)) return BoolValue.Of(holds);
        throw new EvaluationException(CedarErrorKind.Temporal, $"the temporal condition at {Block} was not evaluated: temporal policies decide only within a session");
    }
}

/// <summary>
/// Everything the temporal blocks of a policy set need at run time, derived once: how far back any
/// block can look (the retention horizon), which predicates get an index, and which aggregates are
/// answered from an index.
/// </summary>
internal sealed class TemporalMonitor
{
    internal sealed record FastAggregateShape(PredicateCond Predicate, long WindowMs);
    private sealed record IndexSpec(PredicateCond Predicate, string? SumPath);

    private readonly Dictionary<object, FastAggregateShape> fastAggregates = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<object, HashSet<string>> freeVariables = new(ReferenceEqualityComparer.Instance);
    private readonly List<IndexSpec> indexSpecs = [];
    private readonly List<PredicateCond> predicates = [];

    public TemporalMonitor(IReadOnlyList<TemporalBlock> blocks, EventSchema eventSchema)
    {
        Blocks = blocks;
        EventSchema = eventSchema;
        foreach (var block in blocks)
        {
            HorizonMs = Math.Max(HorizonMs, Horizon(block.Condition));
            Analyze(block.Condition);
        }
    }

    public IReadOnlyList<TemporalBlock> Blocks { get; }
    public EventSchema EventSchema { get; }
    /// <summary>The longest nested window of any block: older events can no longer change a verdict.</summary>
    public long HorizonMs { get; }

    public TemporalHistory CreateHistory() =>
        new(HorizonMs, indexSpecs.Select(s => new PredicateIndex(s.Predicate, s.SumPath)), predicates);

    public FastAggregateShape? FastAggregate(AggregateTerm aggregate) => fastAggregates.GetValueOrDefault(aggregate);

    public HashSet<string> FreeVariables(Cond c)
    {
        lock (freeVariables)
        {
            if (freeVariables.TryGetValue(c, out var cached)) return cached;
            var map = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
            TemporalChecker.FreeVars(c, map);
            var set = map.Keys.ToHashSet(StringComparer.Ordinal);
            freeVariables[c] = set;
            return set;
        }
    }

    /// <summary>
    /// Evaluates, at the newest timepoint of <paramref name="history"/>, the blocks of the policies
    /// whose scope matches the request (the others cannot affect the decision).
    /// </summary>
    public Dictionary<TemporalBlock, bool> Evaluate(TemporalHistory history, DecisionInput request, IReadOnlyList<Policy> policies, EvalEnv scope)
    {
        var evaluator = new TemporalEvaluator(this, history, request);
        var at = history.NextIndex - 1;
        var values = new Dictionary<TemporalBlock, bool>(ReferenceEqualityComparer.Instance);
        foreach (var policy in policies)
        {
            if (policy.TemporalBlocks.Length == 0 || policy.IsTemplate || !policy.ScopeMatches(scope)) continue;
            foreach (var block in policy.TemporalBlocks) values[block] = evaluator.Holds(block.Condition, at);
        }
        return values;
    }

    private static long Horizon(Cond c) => c switch
    {
        AndCond a => Math.Max(Horizon(a.Left), Horizon(a.Right)),
        NotCond n => Horizon(n.Inner),
        FormerlyCond f => f.Window.Milliseconds + Horizon(f.Body),
        PreviousCond p => p.Window.Milliseconds + Horizon(p.Body),
        SinceCond s => s.Window.Milliseconds + Math.Max(Horizon(s.Left), Horizon(s.Right)),
        ExistsCond e => Horizon(e.Body),
        CompareCond cmp => Math.Max(Horizon(cmp.Left), Horizon(cmp.Right)),
        _ => 0,
    };

    private static long Horizon(Term t) => t switch
    {
        AggregateTerm agg => Horizon(agg.Body),
        ArrayTerm a => a.Items.Select(Horizon).DefaultIfEmpty(0).Max(),
        _ => 0,
    };

    private void Analyze(Cond c)
    {
        switch (c)
        {
            case AndCond a: Analyze(a.Left); Analyze(a.Right); break;
            case NotCond n: Analyze(n.Inner); break;
            case FormerlyCond f:
                if (f.Body is PredicateCond fp && !HasAggregate(fp)) indexSpecs.Add(new IndexSpec(fp, null));
                Analyze(f.Body);
                break;
            case PreviousCond p: Analyze(p.Body); break;
            case SinceCond s:
                if (s.Left is NotCond { Inner: PredicateCond lp } && !HasAggregate(lp)) indexSpecs.Add(new IndexSpec(lp, null));
                if (s.Right is PredicateCond rp && !HasAggregate(rp)) indexSpecs.Add(new IndexSpec(rp, null));
                Analyze(s.Left);
                Analyze(s.Right);
                break;
            case ExistsCond e: Analyze(e.Body); break;
            case CompareCond cmp: Analyze(cmp.Left); Analyze(cmp.Right); break;
            case PredicateCond p:
                predicates.Add(p);
                foreach (var arg in p.Args) Analyze(arg.Term);
                break;
        }
    }

    private void Analyze(Term t)
    {
        if (t is ArrayTerm array) foreach (var item in array.Items) Analyze(item);
        if (t is not AggregateTerm agg) return;
        Analyze(agg.Body);
        // count for (t: Timepoint). where formerly within W (P && tp(t))
        // sum a for (a: Long), (t: Timepoint). where formerly within W (P{…, f: a} && tp(t))
        if (agg.Body is not FormerlyCond { Body: AndCond pair } formerly) return;
        var (predicate, tp) = pair switch
        {
            { Left: PredicateCond p, Right: TpCond t1 } => (p, t1),
            { Left: TpCond t2, Right: PredicateCond p } => (p, t2),
            _ => (null, null),
        };
        if (predicate is null || tp is null || HasAggregate(predicate)) return;
        var tpVariable = tp.Variable;
        if (!agg.Binders.Any(b => b.Variable == tpVariable)) return;
        if (predicate.Args.Any(a => a.Term is VariableTerm v && v.Name == tpVariable)) return;
        string? sumPath = null;
        if (agg.IsSum)
        {
            if (agg.Binders.Count != 2 || agg.SumVariable == tpVariable) return;
            var summed = predicate.Args.Where(a => a.Term is VariableTerm v && v.Name == agg.SumVariable).ToList();
            if (summed.Count != 1) return;
            if (predicate.Args.Any(a => a != summed[0] && a.Path == summed[0].Path)) return;
            sumPath = summed[0].Path;
        }
        else if (agg.Binders.Count != 1) return;
        // Other variables in the predicate must come from outside the aggregate (checked at lookup).
        if (predicate.Args.Any(a => a.Term is VariableTerm v && v.Name != agg.SumVariable && agg.Binders.Any(b => b.Variable == v.Name))) return;
        indexSpecs.Add(new IndexSpec(predicate, sumPath));
        fastAggregates[agg] = new FastAggregateShape(predicate, formerly.Window.Milliseconds);
    }

    private static bool HasAggregate(PredicateCond p) => p.Args.Any(a => a.Term is AggregateTerm or ArrayTerm);
}
