namespace RuntimeAuthz.Testing;

public static class RepoPaths
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RuntimeAuthz.Cluster.sln"))) return dir.FullName;
        }
        // Built with --artifacts-path outside the repo: fall back to the source location of this project.
        var fromSource = FindFromSourceFile();
        return fromSource ?? throw new InvalidOperationException($"RuntimeAuthz.Cluster.sln not found above {AppContext.BaseDirectory}");
    });

    public static string Root => RootPath.Value;

    public static string Examples => Path.Combine(Root, "examples");

    private static string? FindFromSourceFile([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        for (var dir = new FileInfo(sourceFile).Directory; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RuntimeAuthz.Cluster.sln"))) return dir.FullName;
        }
        return null;
    }
}
