namespace RuntimeAuthz.Policy;

/// <summary>
/// A syntax error in policy, schema or JSON input. The message is "&lt;source&gt;:&lt;line&gt;:&lt;column&gt;: &lt;detail&gt;"
/// with 1-based line and column, so editors and people can jump straight to the problem.
/// </summary>
public class CedarSyntaxException : Exception
{
    public CedarSyntaxException(string sourceName, int line, int column, string detail, Exception? inner = null)
        : base($"{sourceName}:{line}:{column}: {detail}", inner)
    {
        SourceName = sourceName;
        Line = line;
        Column = column;
        Detail = detail;
    }

    public string SourceName { get; }
    public int Line { get; }
    public int Column { get; }
    public string Detail { get; }
}

/// <summary>An error raised while evaluating a policy; the authorizer skips the policy and reports it.</summary>
internal sealed class EvaluationException(string message) : Exception(message)
{
    public static EvaluationException TypeError(string expected, Value actual) =>
        new($"type error: expected {expected}, got {actual.TypeName}");
}
