using RuntimeAuthz.Client;

namespace RuntimeAuthz.Incidents;

/// <summary>The policy the walk-throughs need: the example policy followed by each incident's own.</summary>
public static class IncidentPolicy
{
    /// <summary>The incidents' policy files, in a fixed order.</summary>
    public static IReadOnlyList<string> Files(string examplesDirectory) =>
        [.. Directory.GetFiles(Path.Combine(examplesDirectory, "incidents"), "policy.cedar", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    /// <summary>Publishes the combined text unless it is already the current version; returns the new version, or null.</summary>
    public static async Task<long?> EnsurePublishedAsync(AuthzClient governance, string examplesDirectory, CancellationToken cancellationToken = default)
    {
        var texts = new List<string> { await File.ReadAllTextAsync(Path.Combine(examplesDirectory, "policies.cedar"), cancellationToken) };
        foreach (var file in Files(examplesDirectory)) texts.Add(await File.ReadAllTextAsync(file, cancellationToken));
        var combined = string.Join("\n", texts);
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
