namespace RuntimeAuthz.Enforcement.Tests.Infrastructure;

/// <summary>The policy the tests publish (policies.cedar beside the tests).</summary>
public static class TestPolicy
{
    public const string ReadDocuments = "policy0";
    public const string PaymentsNeedApproval = "policy1";
    public const string NeverDeleteDatabases = "policy2";

    public static Task<string> TextAsync() => File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "policies.cedar"));
}
