using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Cli.Commands;

internal sealed record SchemaIssue(string PolicyId, int Line, int Column, string Message);

/// <summary>Schema validation of a policy set (the engine's validator).</summary>
internal static class SchemaCheck
{
    /// <summary>False until the engine ships PolicyValidator; then the schema is only parsed.</summary>
    public const bool Available = false;

    public static IReadOnlyList<SchemaIssue> Validate(PolicySet policies, CedarSchema schema)
    {
        _ = policies;
        _ = schema;
        return [];
    }
}
