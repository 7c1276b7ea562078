namespace RuntimeAuthz.Policy;

/// <summary>
/// Syntax errors in policy, schema or JSON input: every error the parser could find, each as
/// "&lt;source&gt;:&lt;line&gt;:&lt;column&gt;: &lt;detail&gt;" on its own line of the message (1-based line and column),
/// so editors and people can jump straight to each problem. <see cref="Line"/>, <see cref="Column"/>
/// and <see cref="Detail"/> describe the first one.
/// </summary>
public class CedarSyntaxException : Exception
{
    public CedarSyntaxException(CedarErrorKind kind, string sourceName, int line, int column, string detail, Exception? inner = null)
        : this([new CedarError(kind, new SourceSpan(sourceName, line, column, line, column, 0, 0), detail)], inner)
    {
    }

    public CedarSyntaxException(IReadOnlyList<CedarError> errors, Exception? inner = null)
        : base(string.Join("\n", Validate(errors).Select(e => e.ToString())), inner)
    {
        Errors = errors;
    }

    /// <summary>Every error found, in source order.</summary>
    public IReadOnlyList<CedarError> Errors { get; }

    public CedarErrorKind Kind => Errors[0].Kind;
    public SourceSpan Span => Errors[0].Span;
    public string SourceName => Errors[0].Span.Source;
    public int Line => Errors[0].Span.Line;
    public int Column => Errors[0].Span.Column;
    public string Detail => Errors[0].Message;
    public string? Help => Errors[0].Help;
    public string? Rule => Errors[0].Rule;

    private static IReadOnlyList<CedarError> Validate(IReadOnlyList<CedarError> errors) =>
        errors is { Count: > 0 } ? errors : throw new ArgumentException("at least one error is required", nameof(errors));
}

/// <summary>An error raised while evaluating a policy; the authorizer skips the policy and reports it.</summary>
internal sealed class EvaluationException(CedarErrorKind kind, string message, SourceSpan span) : Exception(message)
{
    public EvaluationException(CedarErrorKind kind, string message) : this(kind, message, SourceSpan.None) { }

    public CedarErrorKind Kind { get; } = kind;
    /// <summary>The expression that failed, when known.</summary>
    public SourceSpan Span { get; } = span;

    public EvaluationException At(SourceSpan where) => Span.IsNone ? new(Kind, Message, where) : this;

    public CedarError ToError() => new(Kind, Span, Message);

    public static EvaluationException TypeError(string expected, Value actual) =>
        new(CedarErrorKind.TypeError, $"type error: expected {expected}, got {actual.TypeName}");
}
