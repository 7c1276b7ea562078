namespace RuntimeAuthz.Policy.Tests.Schema;

/// <summary>Finds the repository root and the Cedar conformance data (a copy of shared/ sits beside the clone in CI).</summary>
internal static class SchemaTestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot([System.Runtime.CompilerServices.CallerFilePath] string thisSourceFile = "")
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RuntimeAuthz.Cluster.sln"))) return dir.FullName;
        }
        // Built with --artifacts-path outside the tree: fall back to where this source file was compiled from.
        for (var dir = new FileInfo(thisSourceFile).Directory; dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RuntimeAuthz.Cluster.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("could not find RuntimeAuthz.Cluster.sln above " + AppContext.BaseDirectory);
    }

    /// <summary>The folder holding tests/, sample-data/ and corpus-tests.tar.gz, or null when absent.</summary>
    public static string? ConformanceRoot { get; } = FindConformanceRoot();

    private static string? FindConformanceRoot()
    {
        var candidates = new List<string?>
        {
            Environment.GetEnvironmentVariable("CEDAR_CONFORMANCE_DIR"),
            Path.Combine(RepoRoot, "conformance", "cedar"),
            Path.Combine(RepoRoot, "..", "shared", "conformance", "cedar"),
        };
        return candidates.FirstOrDefault(c => c != null && File.Exists(Path.Combine(c, "corpus-tests.tar.gz")));
    }

    /// <summary>
    /// The conformance folder, or null (and a note in the test output) in a clone without the data beside it;
    /// under CI=true its absence fails the test.
    /// </summary>
    public static string? ConformanceRootOrSkip(Xunit.Abstractions.ITestOutputHelper? output = null)
    {
        if (ConformanceRoot is { } root) return root;
        Assert.False(IsCi, "Cedar conformance data (corpus-tests.tar.gz) not found beside the repository in ../shared/conformance/cedar; it is required when CI=true");
        output?.WriteLine("SKIPPED: Cedar conformance data not found (it comes from ../shared/conformance/cedar, or set CEDAR_CONFORMANCE_DIR)");
        return null;
    }

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
}
