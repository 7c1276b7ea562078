using RuntimeAuthz.Policy.Parsing;

namespace RuntimeAuthz.Policy;

/// <summary>One template link: the template, the new policy's id and the values for its slots.</summary>
public sealed record TemplateLink(string TemplateId, string NewId, EntityUid? Principal, EntityUid? Resource);

/// <summary>An immutable set of policies and templates, compiled and indexed once.</summary>
public sealed class PolicySet
{
    private readonly Dictionary<string, Policy> byId;

    private PolicySet(IReadOnlyList<Policy> policies)
    {
        Policies = policies;
        byId = new Dictionary<string, Policy>(StringComparer.Ordinal);
        foreach (var policy in policies)
        {
            if (!byId.TryAdd(policy.Id, policy)) throw new ArgumentException($"duplicate policy id '{policy.Id}'");
        }
        Index = new PolicyIndex([.. policies.Where(p => !p.IsTemplate)]);
        HasTemporal = policies.Any(p => p.TemporalBlocks.Length > 0);
    }

    public static PolicySet Empty { get; } = new([]);

    /// <summary>
    /// Parses a whole policy file. Ids are "policy0", "policy1", ... in file order (templates count too);
    /// an <c>@id("...")</c> annotation is kept in <see cref="Policy.Annotations"/>.
    /// </summary>
    public static PolicySet Parse(string text, string sourceName = "policies.cedar")
    {
        ArgumentNullException.ThrowIfNull(text);
        return new PolicySet(PolicyParser.ParsePolicies(text, sourceName));
    }

    /// <summary>Parses a Dogwood file: Cedar whose conditions may hold <c>temporal { … }</c> blocks (unchecked; see <see cref="Temporal.TemporalPolicySet"/>).</summary>
    internal static PolicySet ParseDogwood(string text, string sourceName) =>
        new(PolicyParser.ParsePolicies(text, sourceName, allowTemporal: true));

    /// <summary>True when a policy has temporal blocks: such a set decides only within a session (see <see cref="Temporal.TemporalSession"/>).</summary>
    internal bool HasTemporal { get; }

    /// <summary>All policies and templates, in order (linked policies after the parsed ones).</summary>
    public IReadOnlyList<Policy> Policies { get; }

    internal PolicyIndex Index { get; }

    public Policy? this[string id] => byId.GetValueOrDefault(id);

    /// <summary>Links a template: returns a new set with the linked policy added under <paramref name="newId"/>.</summary>
    public PolicySet Link(string templateId, string newId, EntityUid? principal, EntityUid? resource) =>
        LinkMany([new TemplateLink(templateId, newId, principal, resource)]);

    /// <summary>Links many templates at once (one index build instead of one per link).</summary>
    public PolicySet LinkMany(IEnumerable<TemplateLink> links)
    {
        ArgumentNullException.ThrowIfNull(links);
        var added = new List<Policy>();
        var newIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (templateId, newId, principal, resource) in links)
        {
            if (!byId.TryGetValue(templateId, out var template)) throw new ArgumentException($"no template with id '{templateId}'", nameof(links));
            if (!template.IsTemplate) throw new ArgumentException($"'{templateId}' is a static policy, not a template", nameof(links));
            if (byId.ContainsKey(newId) || !newIds.Add(newId)) throw new ArgumentException($"a policy with id '{newId}' already exists", nameof(links));
            if (template.Principal.IsSlot != (principal is not null))
                throw new ArgumentException(template.Principal.IsSlot ? $"template '{templateId}' needs a value for ?principal" : $"template '{templateId}' has no ?principal slot", nameof(links));
            if (template.Resource.IsSlot != (resource is not null))
                throw new ArgumentException(template.Resource.IsSlot ? $"template '{templateId}' needs a value for ?resource" : $"template '{templateId}' has no ?resource slot", nameof(links));
            added.Add(template.Link(newId, principal, resource));
        }
        return new PolicySet([.. Policies, .. added]);
    }

    /// <summary>The same set without the named policies (the others keep their ids).</summary>
    public PolicySet Without(IReadOnlySet<string> policyIds) => new([.. Policies.Where(p => !policyIds.Contains(p.Id))]);

    /// <summary>A set holding the policies of both sets; ids must not collide.</summary>
    public PolicySet Merge(PolicySet other) => new([.. Policies, .. other.Policies]);
}
