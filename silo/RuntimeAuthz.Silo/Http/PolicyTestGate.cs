using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Replay.PolicyTests;

namespace RuntimeAuthz.Silo.Http;

/// <summary>Settings of section <c>Policies</c>.</summary>
public sealed class PolicyTestOptions
{
    public const string Section = "Policies";

    /// <summary>
    /// A folder of policy test suites (<c>*.cedartest.json</c>, searched recursively) or one suite file, on the silo.
    /// When set, a publish whose policy text fails any case is refused; unset, nothing is checked.
    /// </summary>
    public string? TestSuites { get; set; }
}

/// <summary>
/// Publish refuses a version its test suite fails, on the server, so no caller of the API can skip the
/// suite: the configured suites run against the candidate texts (their own <c>policies</c> files are
/// ignored) before the policy grain sees them.
/// </summary>
public static class PolicyTestGate
{
    /// <summary>Null when the version may be published; otherwise the refusal (400 naming each failing case).</summary>
    public static async Task<IResult?> RefusalAsync(PolicyPublishRequest publish, PolicyTestOptions options, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.TestSuites)) return null;
        var root = options.TestSuites;
        // Fail closed: a configured suite that is not there refuses every publish.
        if (PolicySuite.Find(root).Count == 0)
            return Problems.Create(StatusCodes.Status409Conflict, $"not published: {PolicyTestOptions.Section}:TestSuites is set but holds no *{PolicySuite.FileSuffix} file");
        CompiledPolicy candidate;
        try
        {
            candidate = PolicySuiteRunner.Compile(publish.Policies, publish.Schema, publish.Catalog, source => source);
        }
        catch (PolicySuiteException)
        {
            return null; // the policy grain refuses texts that do not check, with every located issue
        }
        var results = await PolicySuiteRunner.RunAllAsync(root, candidate, cancellationToken);
        var folder = Directory.Exists(root) ? root : Path.GetDirectoryName(root) ?? "";
        string Relative(string file) => Path.GetRelativePath(folder, file);
        var failures = results
            .Select(r => r.Error is { } error
                ? new { source = Relative(error.Location.File), line = error.Location.Line, column = error.Location.Column, message = $"suite not run: {error.Problem}" }
                : null)
            .Concat(results.SelectMany(r => r.Cases.Where(c => !c.Passed)).Select(c =>
                new { source = Relative(c.Location.File), line = c.Location.Line, column = c.Location.Column, message = $"{c.Name}: {c.Failure}" }))
            .OfType<object>()
            .ToArray();
        if (failures.Length == 0) return null;
        var total = results.Sum(r => r.Error is null ? r.Cases.Count : 1);
        return Problems.Create(StatusCodes.Status400BadRequest,
            $"not published: the policy test suite fails ({failures.Length} of {total} {(total == 1 ? "case" : "cases")}); the current version is unchanged", failures);
    }
}
