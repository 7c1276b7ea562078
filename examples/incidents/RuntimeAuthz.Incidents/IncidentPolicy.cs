using RuntimeAuthz.Client;
using RuntimeAuthz.Policy;
using RuntimeAuthz.Policy.Temporal;

namespace RuntimeAuthz.Incidents;

/// <summary>The policy the walk-throughs need: a base policy (the example policy, or a test's own) followed by each incident's.</summary>
public static class IncidentPolicy
{
    /// <summary>The incidents' policy files, in a fixed order.</summary>
    public static IReadOnlyList<string> Files(string examplesDirectory) =>
        [.. Directory.GetFiles(Path.Combine(examplesDirectory, "incidents"), "policy.cedar", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    /// <summary><paramref name="basePolicy"/> followed by every incident's policy; the base's policy ids stay what they were.</summary>
    public static string Combine(string basePolicy, string examplesDirectory) =>
        string.Join("\n", [basePolicy, .. Files(examplesDirectory).Select(File.ReadAllText)]);

    /// <summary>Publishes <c>examples/policies.cedar</c> with the incidents' policies unless that is the current version; returns the new version, or null.</summary>
    public static async Task<long?> EnsurePublishedAsync(AuthzClient governance, string examplesDirectory, CancellationToken cancellationToken = default)
    {
        var combined = Combine(await File.ReadAllTextAsync(Path.Combine(examplesDirectory, "policies.cedar"), cancellationToken), examplesDirectory);
        try
        {
            if ((await governance.GetCurrentPolicyAsync(cancellationToken)).Policies == combined) return null;
        }
        catch (AuthzApiException notFound) when (notFound.IsNotFound)
        {
            // nothing published yet
        }
        var version = await governance.PublishPolicyAsync(new PublishPolicyRequest(combined, Schema: null, Note: "incident walk-throughs"), cancellationToken);
        return version.Version;
    }
}

/// <summary>
/// The cluster names policies by position (<c>policy0</c>, <c>policy1</c>, ... in text order); people know them by their
/// <c>@id</c>. This maps one to the other for the text in force, so a step can say which rule stopped it.
/// </summary>
public sealed class PolicyNames(IReadOnlyDictionary<string, string> byId)
{
    // The cluster's outcome events carry who reported them; the names are all this needs, but parsing checks the fields.
    private static readonly EventSchema ClusterEvents = EventSchema.Parse(EventSchema.AgentCoreText
        .Replace("event <A>::response {", "event <A>::response { reporter: String,", StringComparison.Ordinal)
        .Replace("event <A>::error {", "event <A>::error { reporter: String,", StringComparison.Ordinal), "incidents.dwschema");

    /// <summary>The names in <paramref name="policyText"/>; none (positional ids are shown) when this parser cannot read it.</summary>
    public static PolicyNames Of(string policyText)
    {
        try
        {
            return new(TemporalPolicySet.Parse(policyText, "policies.cedar", ClusterEvents).Policies.Policies
                .Where(p => p.Annotations.TryGetValue("id", out var name) && name.Length > 0)
                .ToDictionary(p => p.Id, p => p.Annotations["id"], StringComparer.Ordinal));
        }
        catch (CedarSyntaxException)
        {
            // The names only label the output; the cluster accepted the text, so the decisions stand without them.
            return new(new Dictionary<string, string>());
        }
    }

    /// <summary>The policy's @id, or its positional id when it has none.</summary>
    public string Name(string policyId) => byId.GetValueOrDefault(policyId, policyId);
}
