using RuntimeAuthz.Policy.Evaluation;
using RuntimeAuthz.Policy.Parsing;

namespace RuntimeAuthz.Policy;

/// <summary>
/// One Cedar expression on its own (for example a condition stored beside other data), parsed once
/// with the same parser as policies; positions in its errors count from where the caller says the
/// text starts.
/// </summary>
public sealed class CedarExpression
{
    private readonly Expr expr;

    private CedarExpression(Expr expr, string text)
    {
        this.expr = expr;
        Text = text;
    }

    public string Text { get; }

    /// <summary>Where the expression is in its source.</summary>
    public SourceSpan Span => expr.Span;

    /// <summary>
    /// Parses <paramref name="text"/>, which must be exactly one expression. Throws
    /// <see cref="CedarSyntaxException"/> with positions relative to <paramref name="line"/>:<paramref name="column"/>.
    /// </summary>
    public static CedarExpression Parse(string text, string sourceName = "expression", int line = 1, int column = 1)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new CedarExpression(PolicyParser.ParseExpression(text, sourceName, line, column), text);
    }

    /// <summary>
    /// Whether the expression evaluates to <c>true</c> for the request. An evaluation error or a
    /// non-boolean result is not true: <paramref name="error"/> then says why.
    /// </summary>
    /// <summary>Whether the expression is true for the request; an evaluation error (typed, with its span) makes it not hold.</summary>
    public bool Holds(AuthorizationRequest request, EntityStore entities, out CedarError? error)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(entities);
        var env = Authorizer.CreateEnv(request, entities);
        try
        {
            error = null;
            return expr.EvalBool(env);
        }
        catch (EvaluationException e)
        {
            error = new CedarError(e.Kind, e.Span, e.Message);
            return false;
        }
        catch (EvaluationBudgetExceededException e)
        {
            error = new CedarError(CedarErrorKind.BudgetExceeded, Span, e.Message);
            return false;
        }
    }

    public override string ToString() => Text;
}
