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
    /// <summary>Template links: (template id, new id, ?principal value, ?resource value).</summary>
    public IReadOnlyList<(string TemplateId, string NewId, EntityUid? Principal, EntityUid? Resource)> Links { get; init; } = [];

    /// <summary>Ids (policyN) of the entries of <see cref="Policies"/> that are templates.</summary>
    public IReadOnlySet<string> TemplateIds { get; init; } = new HashSet<string>();

    /// <summary>Human-readable schema the entities and context are read with, or null.</summary>
    public string? Schema { get; init; }

    public string PolicyText => string.Join("\n", Policies);

    public JsonObject ToOracleJson()
    {
        var staticPolicies = new JsonObject();
        var templates = new JsonObject();
        for (int i = 0; i < Policies.Count; i++)
        {
            string id = $"policy{i}";
            if (TemplateIds.Contains(id)) templates[id] = Policies[i];
            else staticPolicies[id] = Policies[i];
        }
        var links = new JsonArray();
        foreach (var (templateId, newId, principal, resource) in Links)
        {
            var values = new JsonObject();
            if (principal is { } p) values["?principal"] = Uid(p);
            if (resource is { } r) values["?resource"] = Uid(r);
            links.Add(new JsonObject { ["templateId"] = templateId, ["newId"] = newId, ["values"] = values });
        }
        return new JsonObject
        {
            ["policies"] = staticPolicies,
            ["templates"] = templates,
            ["templateLinks"] = links,
            ["entities"] = Entities.DeepClone(),
            ["principal"] = Uid(Principal),
            ["action"] = Uid(Action),
            ["resource"] = Uid(Resource),
            ["context"] = Context.DeepClone(),
            ["schema"] = Schema,
        };
    }

    private static JsonObject Uid(EntityUid uid) => new() { ["type"] = uid.Type, ["id"] = uid.Id };

    /// <summary>Everything needed to reproduce the case by hand.</summary>
    public string Describe()
    {
        var options = new System.Text.Json.JsonSerializerOptions { WriteIndented = true };
        return $"""
            policies:
            {string.Join("\n", Policies.Select((p, i) => $"  // policy{i}{(TemplateIds.Contains($"policy{i}") ? " (template)" : "")}\n  {p}"))}
            links: {string.Join("; ", Links.Select(l => $"{l.NewId} = {l.TemplateId}(?principal={l.Principal}, ?resource={l.Resource})"))}
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
