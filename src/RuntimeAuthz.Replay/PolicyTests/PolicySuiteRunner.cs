using System.Diagnostics;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Decisions;

namespace RuntimeAuthz.Replay.PolicyTests;

/// <summary>One case's result; a failure points at the step that failed.</summary>
public sealed record CaseResult(string Suite, string Name, SuiteLocation Location, string? Failure, TimeSpan Duration)
{
    public bool Passed => Failure is null;
}

/// <summary>A suite's results, or why it could not run at all (then it counts as one failure).</summary>
public sealed record SuiteResult(string File, IReadOnlyList<CaseResult> Cases, PolicySuiteException? Error)
{
    public int Passed => Cases.Count(c => c.Passed);
    public int Failed => Error is null ? Cases.Count(c => !c.Passed) : 1;
}

/// <summary>
/// Runs policy test suites: each case is a fresh session of its agent (opened at the suite's start), decided
/// step by step by <see cref="OfflineSession"/>, i.e. the same stages, temporal history and session facts as a
/// session grain, with time moved by each step's <c>wait</c>.
/// </summary>
public static class PolicySuiteRunner
{
    /// <summary>Runs every suite under <paramref name="path"/>; <paramref name="policyOverride"/> replaces each suite's own policy files (a candidate being published).</summary>
    public static async Task<IReadOnlyList<SuiteResult>> RunAllAsync(string path, CompiledPolicy? policyOverride, CancellationToken cancellationToken)
    {
        var results = new List<SuiteResult>();
        foreach (var file in PolicySuite.Find(path))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var suite = await PolicySuite.LoadAsync(file, cancellationToken).ConfigureAwait(false);
                var policy = policyOverride ?? await LoadPoliciesAsync(suite, cancellationToken).ConfigureAwait(false);
                results.Add(new SuiteResult(file, Run(suite, policy, cancellationToken), null));
            }
            catch (PolicySuiteException ex)
            {
                results.Add(new SuiteResult(file, [], ex));
            }
        }
        return results;
    }

    public static IReadOnlyList<CaseResult> Run(PolicySuite suite, CompiledPolicy policy, CancellationToken cancellationToken)
    {
        var results = new List<CaseResult>(suite.Cases.Count);
        for (var i = 0; i < suite.Cases.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var started = Stopwatch.GetTimestamp();
            var (failure, at) = RunCase(suite, suite.Cases[i], i, policy);
            results.Add(new CaseResult(suite.File, suite.Cases[i].Name, at, failure, Stopwatch.GetElapsedTime(started)));
        }
        return results;
    }

    private static (string? Failure, SuiteLocation At) RunCase(PolicySuite suite, SuiteCase testCase, int index, CompiledPolicy policy)
    {
        var session = new OfflineSession(policy, suite.Agents[testCase.AgentId], $"policy-test-{index + 1}", suite.Start);
        var now = suite.Start;
        Guid? previous = null;
        for (var i = 0; i < testCase.Steps.Count; i++)
        {
            var step = testCase.Steps[i];
            now += step.Wait;
            var label = testCase.Steps.Count == 1 ? "" : $"step {i + 1}: ";
            if (step.Request is null)
            {
                if (previous is not { } decided || !session.ReportOutcome(decided, step.ReportsError, step.OutputJson, ReporterKinds.Agent, now))
                    return ($"{label}reports an outcome, but the request before it was not allowed (or already has one)", step.Location);
                continue;
            }
            previous = Guid.NewGuid();
            var verdict = session.Decide(step.Request, previous.Value, now);
            if (Mismatch(step.Expect!, verdict, policy) is { } problem) return (label + problem, step.Location);
        }
        return (null, testCase.Location);
    }

    /// <summary>Why the verdict is not the expected one, or null. Policies are named by their <c>@id</c> or their position id (<c>policy0</c>), in any order.</summary>
    private static string? Mismatch(ExpectedDecision expected, Verdict actual, CompiledPolicy policy)
    {
        var named = actual.Reasons.Select(id => NameOf(policy, id)).ToArray();
        static bool Same(IEnumerable<string> a, IEnumerable<string> b) => a.Order(StringComparer.Ordinal).SequenceEqual(b.Order(StringComparer.Ordinal), StringComparer.Ordinal);
        var same = expected.Outcome == actual.Outcome
            && (expected.DenyReason is null || string.Equals(expected.DenyReason, actual.DenyReason, StringComparison.Ordinal))
            && (expected.Policies is null || Same(expected.Policies, named) || Same(expected.Policies, actual.Reasons));
        return same ? null : $"expected {Describe(expected.Outcome, expected.DenyReason, expected.Policies)}, got {Describe(actual.Outcome, actual.DenyReason, named)}"
            + (actual.Errors.Count > 0 ? $"; policy errors: {string.Join("; ", actual.Errors.Select(e => $"{NameOf(policy, e.PolicyId)}: {e.Message}"))}" : "");
    }

    /// <summary>A policy's <c>@id</c> annotation when it has one, else its id.</summary>
    public static string NameOf(CompiledPolicy policy, string id) =>
        policy.PoliciesById.TryGetValue(id, out var found) && found.Annotations.TryGetValue("id", out var name) && !string.IsNullOrEmpty(name) ? name : id;

    private static string Describe(DecisionOutcome outcome, string? denyReason, IReadOnlyList<string>? policies) =>
        outcome + (denyReason is null ? "" : $" ({denyReason})") + (policies is null ? "" : policies.Count == 0 ? " by no policy" : $" by [{string.Join(", ", policies)}]");

    /// <summary>The suite's own policy files (paths relative to the suite), compiled as a publish would; problems point into those files.</summary>
    public static async Task<CompiledPolicy> LoadPoliciesAsync(PolicySuite suite, CancellationToken cancellationToken)
    {
        var origin = new SuiteLocation(suite.File, 1, 1);
        if (suite.PoliciesPath is null) throw new PolicySuiteException(origin, "the suite names no \"policies\" file (or give the policy file to test)");
        var folder = Path.GetDirectoryName(Path.GetFullPath(suite.File))!;
        async Task<(string Path, string Text)?> Read(string? relative)
        {
            if (relative is null) return null;
            var full = Path.GetFullPath(Path.Combine(folder, relative));
            if (!File.Exists(full)) throw new PolicySuiteException(origin, $"file not found: {relative} (relative to the suite)");
            return (Path.Combine(Path.GetDirectoryName(suite.File) ?? "", relative), await File.ReadAllTextAsync(full, cancellationToken).ConfigureAwait(false));
        }
        var policies = (await Read(suite.PoliciesPath).ConfigureAwait(false))!.Value;
        var schema = await Read(suite.SchemaPath).ConfigureAwait(false);
        var catalog = await Read(suite.CatalogPath).ConfigureAwait(false);
        return Compile(policies.Text, schema?.Text, catalog?.Text, source => source switch
        {
            CompiledPolicy.SchemaSourceName => schema?.Path ?? source,
            Grains.Catalog.ActionCatalog.SourceName => catalog?.Path ?? source,
            _ => policies.Path,
        });
    }

    /// <summary>Checks and compiles texts as a publish does; the first problem is thrown with its place (file names from <paramref name="fileOf"/>).</summary>
    public static CompiledPolicy Compile(string policies, string? schema, string? catalog, Func<string, string> fileOf)
    {
        var issues = CompiledPolicy.Check(policies, schema, out _);
        if (issues.Count > 0)
        {
            var first = issues[0];
            throw new PolicySuiteException(new SuiteLocation(fileOf(first.Source), Math.Max(1, first.Line), Math.Max(1, first.Column)), first.Message);
        }
        if (catalog is not null && Grains.Catalog.ActionCatalog.Parse(catalog).Issues is { Count: > 0 } catalogIssues)
            throw new PolicySuiteException(new SuiteLocation(fileOf(Grains.Catalog.ActionCatalog.SourceName), Math.Max(1, catalogIssues[0].Line), Math.Max(1, catalogIssues[0].Column)), catalogIssues[0].Message);
        return CompiledPolicy.FromRecord(new PolicyVersionRecord { Version = 0, Policies = policies, Schema = schema, Catalog = catalog });
    }
}
