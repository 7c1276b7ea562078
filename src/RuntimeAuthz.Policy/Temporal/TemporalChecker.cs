using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Temporal;

/// <summary>
/// The acceptance rules of Dogwood's temporal language (closedness, range restriction, producer
/// before consumer, aggregation domains, aggregate position, timepoint dependence, window cap) and
/// the event-schema name checks. A violation throws <see cref="CedarSyntaxException"/> whose detail
/// starts with the rule's name, e.g. "[WF-Exists] …", at the offending construct's line and column.
/// On success the event schema's pins are appended to every predicate.
/// </summary>
internal sealed class TemporalChecker
{
    private readonly EventSchema eventSchema;
    private readonly CedarSchema? cedarSchema;
    private readonly string sourceName;

    private readonly IReadOnlyList<EntityUid>? scopedActions;

    private TemporalChecker(EventSchema eventSchema, CedarSchema? cedarSchema, string sourceName, IReadOnlyList<EntityUid>? scopedActions)
    {
        this.eventSchema = eventSchema;
        this.cedarSchema = cedarSchema;
        this.sourceName = sourceName;
        this.scopedActions = scopedActions;
    }

    /// <param name="scopedActions">The actions the policy's scope names (null when unconstrained): context paths are checked against each.</param>
    public static void Check(TemporalBlock block, EventSchema eventSchema, CedarSchema? cedarSchema, IReadOnlyList<EntityUid>? scopedActions = null)
    {
        var checker = new TemporalChecker(eventSchema, cedarSchema, block.SourceName, scopedActions);
        var condition = block.AuthoredCondition;
        checker.CheckNames(condition);
        checker.CheckContextPaths(condition);
        checker.CheckWindows(condition);
        checker.CheckChain(condition, new HashSet<string>(StringComparer.Ordinal), new Dictionary<string, string>(StringComparer.Ordinal));
        checker.CheckClosed(condition);
        // Timepoint dependence is a schema-stage check (as in Dogwood): it runs when a Cedar schema is given.
        if (cedarSchema is not null)
        foreach (var conjunct in Flatten(condition))
            if (!TpDependent(conjunct))
                throw checker.Fail(conjunct.Position, "WF-TpDep-Conjunct", "this when/unless conjunct does not vary with the current timepoint; it monitors nothing (it needs an event predicate, a tp(…) or an aggregate)");
        block.Condition = checker.InjectPins(condition);
    }

    private CedarSyntaxException Fail(SourcePosition at, string rule, string detail) =>
        new([new CedarError(CedarErrorKind.TemporalRule, new SourceSpan(sourceName, at.Line, at.Column, at.Line, at.Column, 0, 0), $"[{rule}] {detail}") { Rule = rule }]);

    // ---- free variables and range restriction ---------------------------------------------------

    internal static void FreeVars(Cond c, Dictionary<string, SourcePosition> into)
    {
        switch (c)
        {
            case AndCond a: FreeVars(a.Left, into); FreeVars(a.Right, into); break;
            case NotCond n: FreeVars(n.Inner, into); break;
            case FormerlyCond f: FreeVars(f.Body, into); break;
            case PreviousCond p: FreeVars(p.Body, into); break;
            case SinceCond s: FreeVars(s.Left, into); FreeVars(s.Right, into); break;
            case ExistsCond e:
            {
                var inner = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
                FreeVars(e.Body, inner);
                inner.Remove(e.Variable);
                foreach (var (k, v) in inner) into.TryAdd(k, v);
                break;
            }
            case TpCond t: into.TryAdd(t.Variable, t.Position); break;
            case CompareCond cmp: FreeVars(cmp.Left, into); FreeVars(cmp.Right, into); break;
            case PredicateCond p: foreach (var arg in p.Args) FreeVars(arg.Term, into); break;
        }
    }

    internal static void FreeVars(Term t, Dictionary<string, SourcePosition> into)
    {
        switch (t)
        {
            case VariableTerm v: into.TryAdd(v.Name, v.Position); break;
            case ArrayTerm a: foreach (var item in a.Items) FreeVars(item, into); break;
            case AggregateTerm agg:
            {
                var inner = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
                FreeVars(agg.Body, inner);
                foreach (var binder in agg.Binders) inner.Remove(binder.Variable);
                foreach (var (k, v) in inner) into.TryAdd(k, v);
                break;
            }
        }
    }

    private static Dictionary<string, SourcePosition> FreeVarMap(Term t)
    {
        var d = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
        FreeVars(t, d);
        return d;
    }

    /// <summary>Variables range-restricted by a positive atom of <paramref name="c"/>; negation contributes nothing.</summary>
    internal static HashSet<string> RangeRestricted(Cond c)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        void Walk(Cond x)
        {
            switch (x)
            {
                case AndCond a: Walk(a.Left); Walk(a.Right); break;
                case FormerlyCond f: Walk(f.Body); break;
                case PreviousCond p: Walk(p.Body); break;
                case SinceCond s: Walk(s.Right); break;
                case ExistsCond e:
                {
                    var inner = RangeRestricted(e.Body);
                    inner.Remove(e.Variable);
                    result.UnionWith(inner);
                    break;
                }
                case TpCond t: result.Add(t.Variable); break;
                case PredicateCond p:
                    foreach (var arg in p.Args)
                        if (arg.Term is VariableTerm v) result.Add(v.Name);
                    break;
                case CompareCond { Op: CompareOp.Equal } cmp:
                    if (cmp.Left is VariableTerm l && cmp.Right is not (VariableTerm or WildcardTerm)) result.Add(l.Name);
                    if (cmp.Right is VariableTerm r && cmp.Left is not (VariableTerm or WildcardTerm)) result.Add(r.Name);
                    break;
            }
        }
        Walk(c);
        return result;
    }

    internal static List<Cond> Flatten(Cond c)
    {
        var list = new List<Cond>();
        void Walk(Cond x)
        {
            if (x is AndCond a) { Walk(a.Left); Walk(a.Right); }
            else list.Add(x);
        }
        Walk(c);
        return list;
    }

    private void CheckClosed(Cond condition)
    {
        var free = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
        FreeVars(condition, free);
        foreach (var (name, position) in free)
            throw Fail(position, "WF-Closed", $"variable `{name}` is free in this temporal condition: bind it with exists ({name}: T). … or an aggregation's for-list, or write '*' for any value");
    }

    // ---- the ordered-conjunction (demands) walk -----------------------------------------------

    /// <summary>Checks a chain left to right; <paramref name="established"/> holds the variables restricted before this position.</summary>
    private void CheckChain(Cond chain, HashSet<string> established, Dictionary<string, string> declared)
    {
        var rho = new HashSet<string>(established, StringComparer.Ordinal);
        foreach (var conjunct in Flatten(chain))
        {
            CheckConjunct(conjunct, rho, declared);
            rho.UnionWith(RangeRestricted(conjunct));
        }
    }

    private void Demand(IEnumerable<KeyValuePair<string, SourcePosition>> variables, HashSet<string> rho, string what)
    {
        foreach (var (name, position) in variables)
            if (!rho.Contains(name))
                throw Fail(position, "WF-Demands", $"variable `{name}` is used in {what} that is not range-restricted by a preceding conjunct: put a predicate, tp(…) or binding equality that restricts `{name}` before it");
    }

    private void CheckConjunct(Cond c, HashSet<string> rho, Dictionary<string, string> declared)
    {
        switch (c)
        {
            case PredicateCond p:
                foreach (var arg in p.Args) CheckTermPlacement(arg.Term, "a predicate field value");
                break;
            case TpCond t:
                if (declared.TryGetValue(t.Variable, out var type) && type != "Timepoint")
                    throw Fail(t.Position, "TEMP-Type-Tp", $"tp({t.Variable}) binds a timepoint, but `{t.Variable}` is declared {type}: declare it ({t.Variable}: Timepoint)");
                break;
            case CompareCond cmp:
            {
                CheckOperand(cmp.Left, rho, declared);
                CheckOperand(cmp.Right, rho, declared);
                if (cmp.Op == CompareOp.Equal)
                {
                    var (variable, other) = cmp.Left is VariableTerm l && cmp.Right is not (VariableTerm or WildcardTerm) ? (l, cmp.Right)
                        : cmp.Right is VariableTerm r && cmp.Left is not (VariableTerm or WildcardTerm) ? (r, cmp.Left) : (null, null);
                    if (variable is not null && !rho.Contains(variable.Name))
                    {
                        Demand(FreeVarMap(other!), rho, $"the aggregate or value that binds `{variable.Name}`");
                        break;
                    }
                }
                Demand(FreeVarMap(cmp.Left).Concat(FreeVarMap(cmp.Right)), rho, "a filter (a comparison that binds nothing)");
                break;
            }
            case NotCond n:
            {
                var free = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
                FreeVars(n.Inner, free);
                Demand(free, rho, "a negation (a negation is a filter and binds nothing)");
                CheckChain(n.Inner, rho, declared);
                break;
            }
            case FormerlyCond f:
                CheckChain(f.Body, rho, declared);
                RequireTpDependent(f.Body, "WF-TpDep-Op-Body", "the body of 'formerly'");
                break;
            case PreviousCond p:
                CheckChain(p.Body, rho, declared);
                RequireTpDependent(p.Body, "WF-TpDep-Op-Body", "the body of 'previous'");
                break;
            case SinceCond s:
            {
                var anchor = RangeRestricted(s.Right);
                var leftFree = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
                FreeVars(s.Left, leftFree);
                foreach (var (name, position) in leftFree)
                    if (!anchor.Contains(name) && !rho.Contains(name))
                        throw Fail(position, "WF-Demands", $"variable `{name}` is used in the left operand of a 'since' but is restricted neither by its anchor (the right operand) nor by a preceding conjunct");
                CheckChain(s.Right, rho, declared);
                CheckChain(s.Left, [.. rho, .. anchor], declared);
                RequireTpDependent(s.Left, "WF-TpDep-Since", "the left operand of 'since'");
                RequireTpDependent(s.Right, "WF-TpDep-Since", "the right operand of 'since'");
                break;
            }
            case ExistsCond e:
            {
                if (!RangeRestricted(e.Body).Contains(e.Variable))
                    throw Fail(e.Position, "WF-Exists", $"existential variable `{e.Variable}` is not range-restricted by any positive atom in the exists body (a predicate field, tp({e.Variable}) or an equality that binds it; a negated atom restricts nothing)");
                var inner = new HashSet<string>(rho, StringComparer.Ordinal);
                inner.Remove(e.Variable);
                var scope = new Dictionary<string, string>(declared, StringComparer.Ordinal) { [e.Variable] = e.Type };
                CheckChain(e.Body, inner, scope);
                RequireTpDependent(e.Body, "WF-TpDep-Exists-Body", "the body of 'exists'");
                break;
            }
            case AndCond:
                CheckChain(c, rho, declared);
                break;
        }
    }

    private void CheckOperand(Term term, HashSet<string> rho, Dictionary<string, string> declared)
    {
        if (term is AggregateTerm agg) CheckAggregate(agg, rho, declared);
        else CheckTermPlacement(term, "this position");
    }

    private void CheckTermPlacement(Term term, string where)
    {
        switch (term)
        {
            case AggregateTerm agg:
                throw Fail(agg.Position, "WF-Agg-Operand", $"an aggregate (sum/count) may appear only as the immediate operand of a comparison, not in {where}");
            case ArrayTerm array:
                foreach (var item in array.Items) CheckTermPlacement(item, "an array");
                break;
        }
    }

    private void CheckAggregate(AggregateTerm agg, HashSet<string> rho, Dictionary<string, string> declared)
    {
        var forVars = agg.Binders.Select(b => b.Variable).ToHashSet(StringComparer.Ordinal);
        if (agg.SumVariable is { } summed && !forVars.Contains(summed))
            throw Fail(agg.Position, "WF-Agg-BoundVar-InDomain", $"aggregation sums `{summed}`, which is not one of its for binders: add ({summed}: Long) to the for-list");
        var bodyFree = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
        FreeVars(agg.Body, bodyFree);
        foreach (var (name, position) in bodyFree)
            if (!forVars.Contains(name) && !declared.ContainsKey(name))
                throw Fail(position, "WF-Agg-Domain-Binds-FreeVars", $"variable `{name}` is used in the aggregation body but is bound by neither its for-list nor an enclosing binder");
        var restricted = RangeRestricted(agg.Body);
        foreach (var binder in agg.Binders)
        {
            if (!bodyFree.ContainsKey(binder.Variable))
                throw Fail(binder.Position, "WF-Agg-Domain-Occurs", $"for-variable `{binder.Variable}` does not occur in the aggregation body");
            if (!restricted.Contains(binder.Variable))
                throw Fail(binder.Position, "WF-Agg-Domain-RR", $"aggregation for-variable `{binder.Variable}` is not range-restricted by any positive atom in the where body (not under a negation, not only in a since's left operand)");
        }
        var inner = new HashSet<string>(rho, StringComparer.Ordinal);
        inner.ExceptWith(forVars);
        var scope = new Dictionary<string, string>(declared, StringComparer.Ordinal);
        foreach (var binder in agg.Binders) scope[binder.Variable] = binder.Type;
        CheckChain(agg.Body, inner, scope);
        RequireTpDependent(agg.Body, "WF-TpDep-Agg-Body", "the where body of the aggregate");
    }

    // ---- timepoint dependence -------------------------------------------------------------------

    private static bool TpDependent(Cond c) => c switch
    {
        PredicateCond or TpCond => true,
        AndCond a => TpDependent(a.Left) || TpDependent(a.Right),
        NotCond n => TpDependent(n.Inner),
        FormerlyCond f => TpDependent(f.Body),
        PreviousCond p => TpDependent(p.Body),
        SinceCond s => TpDependent(s.Left) || TpDependent(s.Right),
        ExistsCond e => TpDependent(e.Body),
        CompareCond cmp => TermDependent(cmp.Left) || TermDependent(cmp.Right),
        _ => false,
    };

    private static bool TermDependent(Term t) => t switch
    {
        AggregateTerm or VariableTerm => true,
        ArrayTerm a => a.Items.Any(TermDependent),
        _ => false,
    };

    private void RequireTpDependent(Cond body, string rule, string what)
    {
        if (cedarSchema is not null && !TpDependent(body))
            throw Fail(body.Position, rule, $"{what} does not vary with the current timepoint; it monitors nothing (it needs an event predicate, a tp(…) or an aggregate)");
    }

    // ---- schema checks --------------------------------------------------------------------------

    private void CheckWindows(Cond c)
    {
        void Window(Window w)
        {
            if (w.Milliseconds > eventSchema.MaxWindowMilliseconds)
                throw Fail(w.Position, "TEMP-MaxWindow", $"window {w.Text} exceeds the event schema's max_window of {FormatWindow(eventSchema.MaxWindowMilliseconds)}");
            if (w.Milliseconds == 0)
                throw Fail(w.Position, "TEMP-MaxWindow", "a window must be positive");
        }
        Visit(c, cond =>
        {
            switch (cond)
            {
                case FormerlyCond f: Window(f.Window); break;
                case PreviousCond p: Window(p.Window); break;
                case SinceCond s: Window(s.Window); break;
            }
        });
    }

    private static string FormatWindow(long ms)
    {
        var s = ms / 1000;
        if (s % 86400 == 0) return $"{s / 86400}d";
        if (s % 3600 == 0) return $"{s / 3600}h";
        if (s % 60 == 0) return $"{s / 60}m";
        return $"{s}s";
    }

    private void CheckNames(Cond c)
    {
        Visit(c, cond =>
        {
            if (cond is not PredicateCond p) return;
            var kind = eventSchema.Find(p.Kind)
                ?? throw Fail(p.Position, "EVENT-Predicate-DeclaredEvent", $"predicate `{p.Signature}` does not name a declared event: kind '{p.Kind}' is not in the event schema (declared: {string.Join(", ", eventSchema.KindNames)})");
            if (cedarSchema is not null && !cedarSchema.Actions.Contains(new EntityUid(p.ActionType, p.ActionId)))
                throw Fail(p.Position, "EVENT-Predicate-DeclaredEvent", $"predicate `{p.Signature}` does not name a declared event: action {p.ActionType}::\"{p.ActionId}\" is not in the schema");
            foreach (var arg in p.Args)
            {
                var shape = kind.Resolve(arg.Path, out var field);
                if (shape is null)
                    throw Fail(arg.Position, "EVENT-Field-Absent", $"field '{arg.Path}' is not declared on '{p.Kind}' events");
                if (shape == EventFieldShape.Group)
                    throw Fail(arg.Position, "EVENT-Field-Group", $"field '{arg.Path}' of '{p.Kind}' events is a group, not a leaf: name a field inside it");
                // A field spread from the action's input/output: with a schema, it must be declared there.
                if (cedarSchema?.GetAction(new EntityUid(p.ActionType, p.ActionId)) is { } action && field?.Shape == EventFieldShape.Spread)
                {
                    var segments = arg.Path.Split('.');
                    var found = Walk(action.Context, [field.Name, .. segments[1..]]);
                    if (found is null)
                        throw Fail(arg.Position, "EVENT-Field-Absent", $"field '{arg.Path}' is not declared in the context of {p.ActionType}::\"{p.ActionId}\" in the schema");
                    if (found is Schema.RecordSchemaType)
                        throw Fail(arg.Position, "EVENT-Field-Group", $"field '{arg.Path}' of {p.ActionType}::\"{p.ActionId}\" is a record, not a leaf: name a field inside it");
                }
            }
        });
    }

    private static Schema.SchemaType? Walk(Schema.RecordSchemaType record, IEnumerable<string> path)
    {
        Schema.SchemaType current = record;
        foreach (var segment in path)
        {
            if (current is not Schema.RecordSchemaType r || !r.Attributes.TryGetValue(segment, out var attribute)) return null;
            current = attribute.Type;
        }
        return current;
    }

    /// <summary>TEMP-ContextPath: with a schema, every context.&lt;path&gt; term resolves in the context of every action the policy's scope names.</summary>
    private void CheckContextPaths(Cond c)
    {
        if (cedarSchema is null || scopedActions is null) return;
        void Term(Term t)
        {
            switch (t)
            {
                case ContextTerm context:
                    foreach (var uid in scopedActions)
                    {
                        if (cedarSchema.GetAction(uid) is not { } action) continue;
                        if (Walk(action.Context, context.Path) is null)
                            throw Fail(context.Position, "TEMP-ContextPath", $"context.{context.Dotted} is not declared in the context of {uid} in the schema");
                    }
                    break;
                case ArrayTerm array:
                    foreach (var item in array.Items) Term(item);
                    break;
            }
        }
        Visit(c, cond =>
        {
            switch (cond)
            {
                case CompareCond cmp: Term(cmp.Left); Term(cmp.Right); break;
                case PredicateCond p: foreach (var arg in p.Args) Term(arg.Term); break;
            }
        });
    }

    private static void Visit(Cond c, Action<Cond> action)
    {
        action(c);
        switch (c)
        {
            case AndCond a: Visit(a.Left, action); Visit(a.Right, action); break;
            case NotCond n: Visit(n.Inner, action); break;
            case FormerlyCond f: Visit(f.Body, action); break;
            case PreviousCond p: Visit(p.Body, action); break;
            case SinceCond s: Visit(s.Left, action); Visit(s.Right, action); break;
            case ExistsCond e: Visit(e.Body, action); break;
            case CompareCond cmp: VisitTerm(cmp.Left, action); VisitTerm(cmp.Right, action); break;
            case PredicateCond p: foreach (var arg in p.Args) VisitTerm(arg.Term, action); break;
        }
    }

    private static void VisitTerm(Term t, Action<Cond> action)
    {
        if (t is AggregateTerm agg) Visit(agg.Body, action);
        else if (t is ArrayTerm a) foreach (var item in a.Items) VisitTerm(item, action);
    }

    // ---- pins -----------------------------------------------------------------------------------

    private Cond InjectPins(Cond c) => c switch
    {
        AndCond a => a with { Left = InjectPins(a.Left), Right = InjectPins(a.Right) },
        NotCond n => n with { Inner = InjectPins(n.Inner) },
        FormerlyCond f => f with { Body = InjectPins(f.Body) },
        PreviousCond p => p with { Body = InjectPins(p.Body) },
        SinceCond s => s with { Left = InjectPins(s.Left), Right = InjectPins(s.Right) },
        ExistsCond e => e with { Body = InjectPins(e.Body) },
        CompareCond cmp => cmp with { Left = InjectPins(cmp.Left), Right = InjectPins(cmp.Right) },
        PredicateCond p => p with
        {
            Args = [.. p.Args.Select(a => a with { Term = InjectPins(a.Term) }),
                .. (eventSchema.Find(p.Kind)?.Pins() ?? []).Select(pin => new PredicateArg(pin.Path, pin.Reference, p.Position, IsPin: true))],
        },
        _ => c,
    };

    private Term InjectPins(Term t) => t switch
    {
        AggregateTerm agg => agg with { Body = InjectPins(agg.Body) },
        ArrayTerm a => a with { Items = [.. a.Items.Select(InjectPins)] },
        _ => t,
    };
}
