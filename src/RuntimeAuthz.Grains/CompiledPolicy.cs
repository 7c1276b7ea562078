using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;
using RuntimeAuthz.Policy.Temporal;
using RuntimeAuthz.Policy.Schema;
using RuntimeAuthz.Grains.Shadow;

namespace RuntimeAuthz.Grains;

/// <summary>A policy version parsed and ready for <see cref="Authorizer.IsAuthorized"/>.</summary>
public sealed class CompiledPolicy
{
    /// <param name="all">Every policy of the version; the log-only ones are left out of the set that decides unless <paramref name="enforceLogOnly"/>.</param>
    private CompiledPolicy(long version, TemporalPolicySet all, CedarSchema? schema, bool enforceLogOnly)
    {
        Version = version;
        LogOnlyPolicies = all.Policies.Policies.Where(p => PolicyMode.Read(p, PolicySourceName).LogOnly).Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        Temporal = enforceLogOnly || LogOnlyPolicies.Count == 0 ? all : all.Without(LogOnlyPolicies);
        Policies = Temporal.Policies;
        Schema = schema;
        PoliciesById = all.Policies.Policies.ToDictionary(p => p.Id, StringComparer.Ordinal);
        // Published versions were checked (see Check); a stored text from before that check keeps its readable annotations.
        Traits = all.Policies.Policies.ToDictionary(p => p.Id, p => PolicyTraits.Read(p, PolicySourceName).Traits ?? PolicyTraits.None, StringComparer.Ordinal);
        IsLogOnlyView = enforceLogOnly && LogOnlyPolicies.Count > 0;
    }

    /// <summary>The policies marked <c>@mode("log-only")</c>: never part of <see cref="Policies"/> (unless this is <see cref="LogOnlyEnforced"/>).</summary>
    public IReadOnlySet<string> LogOnlyPolicies { get; }
    /// <summary>True for <see cref="LogOnlyEnforced"/>: the version as it would decide with its log-only policies enforced.</summary>
    public bool IsLogOnlyView { get; }
    /// <summary>This version with its log-only policies enforced, for comparison only; null when it has none.</summary>
    public CompiledPolicy? LogOnlyEnforced { get; private init; }

    public long Version { get; }
    public PolicySet Policies { get; }
    /// <summary>The same policies with their Dogwood temporal blocks checked (AgentCore's event schema); decided per session.</summary>
    public TemporalPolicySet Temporal { get; }
    public CedarSchema? Schema { get; }
    public IReadOnlyDictionary<string, RuntimeAuthz.Policy.Policy> PoliciesById { get; }
    /// <summary>Each policy's <c>@risk</c> and <c>@approval</c>, read once here.</summary>
    public IReadOnlyDictionary<string, PolicyTraits> Traits { get; }
    /// <summary>The action catalog published with this version (policies see it as <c>context.action</c>).</summary>
    public Catalog.ActionCatalog Catalog { get; private init; } = RuntimeAuthz.Grains.Catalog.ActionCatalog.Empty;

    /// <summary>The risk (largest <c>@risk</c>) and whether approval is needed, over the determining policies of an allow.</summary>
    public PolicyTraits TraitsOf(IEnumerable<string> determiningPolicies)
    {
        long risk = 0;
        var approvers = 0;
        foreach (var id in determiningPolicies)
        {
            if (!Traits.TryGetValue(id, out var traits)) continue;
            risk = Math.Max(risk, traits.Risk);
            approvers = Math.Max(approvers, traits.Approvers);
        }
        return new PolicyTraits(risk, approvers);
    }

    public const string PolicySourceName = "policies.cedar";

    /// <summary>
    /// AgentCore's event model plus <c>reporter</c> on outcome events (<c>"agent"</c> or
    /// <c>"enforcement-point"</c>), so a rule can insist on outcomes an enforcement point saw.
    /// </summary>
    public static EventSchema EventModel { get; } = EventSchema.Parse(
        EventSchema.AgentCoreText
            .Replace("event <A>::response {", "event <A>::response {\n    reporter: String,", StringComparison.Ordinal)
            .Replace("event <A>::error {", "event <A>::error {\n    reporter: String,", StringComparison.Ordinal),
        "authz-events.dwschema");
    public const string SchemaSourceName = "schema.cedarschema";

    /// <summary>Compiles stored texts (already validated when published).</summary>
    public static CompiledPolicy FromRecord(PolicyVersionRecord record)
    {
        var schema = record.Schema is null ? null : CedarSchema.Parse(record.Schema, SchemaSourceName);
        var all = TemporalPolicySet.Parse(record.Policies, PolicySourceName, EventModel, schema);
        var catalog = RuntimeAuthz.Grains.Catalog.ActionCatalog.FromText(record.Catalog);
        var enforced = new CompiledPolicy(record.Version, all, schema, enforceLogOnly: true) { Catalog = catalog };
        return new(record.Version, all, schema, enforceLogOnly: false)
        {
            Catalog = catalog, LogOnlyEnforced = enforced.IsLogOnlyView ? enforced : null,
        };
    }

    /// <summary>
    /// Parses the policy text, the schema if given, and validates the policies against the
    /// schema. Returns the located problems (empty when the texts may be published).
    /// </summary>
    public static IReadOnlyList<SourceIssue> Check(string policies, string? schema, out int policyCount)
    {
        policyCount = 0;
        CedarSchema? parsedSchema = null;
        PolicySet set;
        try
        {
            // Policy text is Dogwood: Cedar whose conditions may hold temporal blocks, checked
            // against AgentCore's event schema (and, below, against the Cedar schema too).
            set = TemporalPolicySet.Parse(policies, PolicySourceName, EventModel).Policies;
        }
        catch (CedarSyntaxException ex)
        {
            return [Issue(ex)];
        }
        policyCount = set.Policies.Count;
        var annotationIssues = set.Policies.Select(p => PolicyTraits.Read(p, PolicySourceName).Issue ?? PolicyMode.Read(p, PolicySourceName).Issue).OfType<SourceIssue>().ToArray();
        if (annotationIssues.Length > 0) return annotationIssues;
        if (schema is null) return [];
        try
        {
            parsedSchema = CedarSchema.Parse(schema, SchemaSourceName);
            if (set.Policies.Any(p => p.Text.Contains("temporal", StringComparison.Ordinal)))
                TemporalPolicySet.Parse(policies, PolicySourceName, EventModel, parsedSchema);
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
