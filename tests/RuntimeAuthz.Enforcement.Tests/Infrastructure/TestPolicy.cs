namespace RuntimeAuthz.Enforcement.Tests.Infrastructure;

/// <summary>The policy the tests publish: their own rules first, then every incident walk-through's policy.</summary>
public static class TestPolicy
{
    public const string ReadDocuments = "policy0";
    public const string PaymentsNeedApproval = "policy1";
    public const string NeverDeleteDatabases = "policy2";

    public static async Task<string> TextAsync()
    {
        var parts = new List<string> { await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "policies.cedar")) };
        var incidents = Path.Combine(RepoPaths.Examples, "incidents");
        if (Directory.Exists(incidents))
        {
            foreach (var file in Directory.GetFiles(incidents, "policy.cedar", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                parts.Add(await File.ReadAllTextAsync(file));
            }
        }
        return string.Join("\n", parts);
    }
}
