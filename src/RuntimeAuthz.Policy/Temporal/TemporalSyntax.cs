namespace RuntimeAuthz.Policy.Temporal;

/// <summary>Where a temporal construct starts in the policy file (1-based), for checker messages.</summary>
internal readonly record struct SourcePosition(int Line, int Column)
{
    public override string ToString() => $"{Line}:{Column}";
}

/// <summary>A <c>within</c> window: <paramref name="Milliseconds"/> as written (<paramref name="Text"/>, e.g. "30m").</summary>
internal sealed record Window(long Milliseconds, string Text, SourcePosition Position);

internal enum CompareOp { Less, LessEqual, Greater, GreaterEqual, Equal }

// ---- conditions (the body of a temporal block) -----------------------------------------------

internal abstract record Cond(SourcePosition Position);

internal sealed record AndCond(Cond Left, Cond Right, SourcePosition Position) : Cond(Position);
internal sealed record NotCond(Cond Inner, SourcePosition Position) : Cond(Position);
internal sealed record FormerlyCond(Window Window, Cond Body, SourcePosition Position) : Cond(Position);
internal sealed record PreviousCond(Window Window, Cond Body, SourcePosition Position) : Cond(Position);
internal sealed record SinceCond(Cond Left, Window Window, Cond Right, SourcePosition Position) : Cond(Position);
internal sealed record ExistsCond(string Variable, string Type, Cond Body, SourcePosition Position) : Cond(Position);
internal sealed record TpCond(string Variable, SourcePosition Position) : Cond(Position);
internal sealed record CompareCond(CompareOp Op, Term Left, Term Right, SourcePosition Position) : Cond(Position);

/// <summary>
/// An event predicate <c>Ns::Action::"Id"::kind{ path: term, … }</c>. <see cref="ActionType"/> is the
/// entity type of the action (e.g. "Ns::Action"); pins from the event schema are appended as
/// extra arguments after checking.
/// </summary>
internal sealed record PredicateCond(string ActionType, string ActionId, string Kind, IReadOnlyList<PredicateArg> Args, SourcePosition Position) : Cond(Position)
{
    public string Signature => $"{ActionType}::\"{EntityUid.EscapeString(ActionId)}\"::{Kind}";
}

internal sealed record PredicateArg(string Path, Term Term, SourcePosition Position, bool IsPin = false);

// ---- terms ------------------------------------------------------------------------------------

internal abstract record Term(SourcePosition Position);

internal sealed record LiteralTerm(Value Value, SourcePosition Position) : Term(Position);
internal sealed record WildcardTerm(SourcePosition Position) : Term(Position);
/// <summary><c>context.a.b</c>: a field of the current request.</summary>
internal sealed record ContextTerm(IReadOnlyList<string> Path, SourcePosition Position) : Term(Position)
{
    public string Dotted => string.Join('.', Path);
}
/// <summary><c>principal</c> / <c>resource</c>, optionally with an attribute path.</summary>
internal sealed record ScopeTerm(bool IsPrincipal, IReadOnlyList<string> Attributes, SourcePosition Position) : Term(Position);
internal sealed record VariableTerm(string Name, SourcePosition Position) : Term(Position);
internal sealed record ArrayTerm(IReadOnlyList<Term> Items, SourcePosition Position) : Term(Position);
internal sealed record Binder(string Variable, string Type, SourcePosition Position);
/// <summary><c>count for (…). where φ</c> or <c>sum v for (…). where φ</c> (then <see cref="SumVariable"/> is v).</summary>
internal sealed record AggregateTerm(string? SumVariable, IReadOnlyList<Binder> Binders, Cond Body, SourcePosition Position) : Term(Position)
{
    public bool IsSum => SumVariable is not null;
}

/// <summary>
/// One <c>temporal { … }</c> block of a policy. The Cedar condition reads its boolean, computed by
/// the temporal engine before the Cedar policies run.
/// </summary>
internal sealed class TemporalBlock(Cond condition, SourcePosition position, string sourceName)
{
    /// <summary>The condition after checking (pins appended); set by the checker.</summary>
    public Cond Condition { get; set; } = condition;
    public Cond AuthoredCondition { get; } = condition;
    public SourcePosition Position { get; } = position;
    public string SourceName { get; } = sourceName;
    public string PolicyId { get; set; } = "";
    public override string ToString() => $"{SourceName}:{Position}";
}
