using System.Text.Json.Nodes;

namespace RuntimeAuthz.Policy.Tests.Differential;

/// <summary>One generated authorization problem: policies (ids policy0..N in order), entities, request.</summary>
internal sealed record DifferentialCase(
    int Index,
    IReadOnlyList<string> Policies,
    JsonArray Entities,
    EntityUid Principal,
    EntityUid Action,
    EntityUid Resource,
    JsonObject Context)
{
    public string PolicyText => string.Join("\n", Policies);

    public JsonObject ToOracleJson()
    {
        var policies = new JsonObject();
        for (int i = 0; i < Policies.Count; i++) policies[$"policy{i}"] = Policies[i];
        return new JsonObject
        {
            ["policies"] = policies,
            ["entities"] = Entities.DeepClone(),
            ["principal"] = Uid(Principal),
            ["action"] = Uid(Action),
            ["resource"] = Uid(Resource),
            ["context"] = Context.DeepClone(),
        };
    }

    private static JsonObject Uid(EntityUid uid) => new() { ["type"] = uid.Type, ["id"] = uid.Id };

    /// <summary>Everything needed to reproduce the case by hand.</summary>
    public string Describe()
    {
        var options = new System.Text.Json.JsonSerializerOptions { WriteIndented = true };
        return $"""
            policies:
            {string.Join("\n", Policies.Select((p, i) => $"  // policy{i}\n  {p}"))}
            request: principal={Principal} action={Action} resource={Resource}
            context: {Context.ToJsonString()}
            entities: {Entities.ToJsonString(options)}
            """;
    }
}

/// <summary>What one engine said about a case.</summary>
internal sealed record DifferentialOutcome(string Decision, IReadOnlyList<string> Reasons, IReadOnlyList<string> Errors, string Details)
{
    public bool SameAs(DifferentialOutcome other) =>
        Decision == other.Decision && Reasons.SequenceEqual(other.Reasons) && Errors.SequenceEqual(other.Errors);

    public override string ToString() =>
        $"decision={Decision} reasons=[{string.Join(",", Reasons)}] errors=[{string.Join(",", Errors)}]{(Details.Length > 0 ? " (" + Details + ")" : "")}";
}
