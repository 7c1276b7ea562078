using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Grains;

/// <summary>A policy version parsed and ready for <see cref="Authorizer.IsAuthorized"/>.</summary>
public sealed class CompiledPolicy
{
    private CompiledPolicy(long version, PolicySet policies, CedarSchema? schema)
    {
        Version = version;
        Policies = policies;
        Schema = schema;
        PoliciesById = policies.Policies.ToDictionary(p => p.Id, StringComparer.Ordinal);
    }

    public long Version { get; }
    public PolicySet Policies { get; }
    public CedarSchema? Schema { get; }
    public IReadOnlyDictionary<string, RuntimeAuthz.Policy.Policy> PoliciesById { get; }

    public const string PolicySourceName = "policies.cedar";
    public const string SchemaSourceName = "schema.cedarschema";

    /// <summary>Compiles stored texts (already validated when published).</summary>
    public static CompiledPolicy FromRecord(PolicyVersionRecord record) =>
        new(record.Version,
            PolicySet.Parse(record.Policies, PolicySourceName),
            record.Schema is null ? null : CedarSchema.Parse(record.Schema, SchemaSourceName));

    /// <summary>
    /// Parses the policy text, the schema if given, and validates the policies against the
    /// schema. Returns the located problems (empty when the texts may be published).
    /// </summary>
    public static IReadOnlyList<SourceIssue> Check(string policies, string? schema, out int policyCount)
    {
        policyCount = 0;
        PolicySet set;
        try
        {
            set = PolicySet.Parse(policies, PolicySourceName);
        }
        catch (CedarSyntaxException ex)
        {
            return [Issue(ex)];
        }
        policyCount = set.Policies.Count;
        if (schema is null) return [];

        CedarSchema parsedSchema;
        try
        {
            parsedSchema = CedarSchema.Parse(schema, SchemaSourceName);
        }
        catch (CedarSyntaxException ex)
        {
            return [Issue(ex)];
        }
        return ValidateAgainstSchema(set, parsedSchema);
    }

    // PolicyValidator (POLICY_API.md) is being written concurrently by the schema owners; bind to it
    // when the engine assembly provides it, so publishing validates as soon as it exists.
    private static readonly System.Reflection.MethodInfo? ValidateMethod =
        typeof(PolicySet).Assembly.GetType("RuntimeAuthz.Policy.PolicyValidator")?.GetMethod("Validate", [typeof(PolicySet), typeof(CedarSchema)]);

    /// <summary>True when the engine provides schema validation of policies.</summary>
    public static bool CanValidateAgainstSchema => ValidateMethod is not null;

    private static IReadOnlyList<SourceIssue> ValidateAgainstSchema(PolicySet set, CedarSchema schema)
    {
        if (ValidateMethod is null) return [];
        object? result;
        try
        {
            result = ValidateMethod.Invoke(null, [set, schema]);
        }
        catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
        var issues = new List<SourceIssue>();
        foreach (var issue in result as System.Collections.IEnumerable ?? Array.Empty<object>())
        {
            var type = issue.GetType();
            string Text(string name) => type.GetProperty(name)?.GetValue(issue)?.ToString() ?? "";
            int Number(string name) => type.GetProperty(name)?.GetValue(issue) is int n ? n : 0;
            issues.Add(new SourceIssue { Source = PolicySourceName, Line = Number("Line"), Column = Number("Column"), Message = $"{Text("PolicyId")}: {Text("Message")}" });
        }
        return issues;
    }

    private static SourceIssue Issue(CedarSyntaxException ex) =>
        new() { Source = ex.SourceName, Line = ex.Line, Column = ex.Column, Message = ex.Detail };
}
