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
        return PolicyValidator.Validate(set, parsedSchema)
            .Select(i => new SourceIssue { Source = PolicySourceName, Line = i.Line, Column = i.Column, Message = $"{i.PolicyId}: {i.Message}" })
            .ToArray();
    }

    private static SourceIssue Issue(CedarSyntaxException ex) =>
        new() { Source = ex.SourceName, Line = ex.Line, Column = ex.Column, Message = ex.Detail };
}
