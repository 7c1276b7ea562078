using RuntimeAuthz.Policy.Temporal;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Tests.Temporal;

/// <summary>
/// Runs Dogwood corpus cases (policy_*.dw, optional schema.cedarschema / event.dwschema,
/// trace_N.log with expected_N.out): our own under tests/data/dogwood, the real corpus when it is
/// dropped into ../shared/conformance/dogwood, and any folder named by DOGWOOD_CORPUS_DIR.
/// Every trace is replayed twice: straight, and with the session state persisted as JSON and
/// restored after every event.
/// </summary>
public sealed class DogwoodCorpusTests
{
    public static string RepoRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        // Walk up from the test binaries; with an artifacts path outside the tree, from this source file.
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            var directory = new DirectoryInfo(start);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "RuntimeAuthz.Cluster.sln")))
                directory = directory.Parent;
            if (directory is not null) return directory.FullName;
        }
        throw new InvalidOperationException("RuntimeAuthz.Cluster.sln not found above " + AppContext.BaseDirectory);
    }

    public static string OwnCasesRoot => Path.Combine(RepoRoot(), "tests", "data", "dogwood");

    private static IEnumerable<string> CaseDirectories(string root) =>
        Directory.Exists(root)
            ? Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories)
                .Where(d => Directory.EnumerateFiles(d, "policy_*.dw").Any() && Directory.EnumerateFiles(d, "expected_*.out").Any())
                .Order(StringComparer.Ordinal)
            : [];

    public static TheoryData<string> OwnCases()
    {
        var data = new TheoryData<string>();
        foreach (var directory in CaseDirectories(OwnCasesRoot)) data.Add(Path.GetFileName(directory));
        return data;
    }

    public static IEnumerable<string> ExternalCases()
    {
        var shared = Path.Combine(Path.GetDirectoryName(RepoRoot())!, "shared", "conformance", "dogwood");
        foreach (var directory in CaseDirectories(shared)) yield return directory;
        if (Environment.GetEnvironmentVariable("DOGWOOD_CORPUS_DIR") is { Length: > 0 } extra)
            foreach (var directory in CaseDirectories(extra)) yield return directory;
    }

    [Theory]
    [MemberData(nameof(OwnCases))]
    public void Own_case_replays_to_its_expected_output(string name)
    {
        var failures = RunCase(Path.Combine(OwnCasesRoot, name));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Own_cases_cover_every_operator_and_agentcore_pattern()
    {
        var names = CaseDirectories(OwnCasesRoot).Select(Path.GetFileName).ToHashSet();
        string[] required =
        [
            "op_formerly", "op_previous", "op_since_negated", "op_since_positive", "op_and_not", "op_exists", "op_count_tp",
            "op_count_distinct", "op_sum", "op_literal_wildcard", "op_unless_and_inline",
            "agentcore_workflow_sequencing", "agentcore_output_to_input", "agentcore_rate_limit", "agentcore_cumulative_cap",
            "agentcore_one_time_approval", "agentcore_mutual_exclusion", "agentcore_trust_decay",
        ];
        var missing = required.Where(r => !names.Contains(r)).ToList();
        Assert.True(missing.Count == 0, "missing cases: " + string.Join(", ", missing));
    }

    /// <summary>The real Dogwood corpus, when present beside the repository (never committed).</summary>
    [Fact]
    public void External_corpus_cases_replay_to_their_expected_output()
    {
        var failures = new List<string>();
        var count = 0;
        foreach (var directory in ExternalCases())
        {
            count++;
            failures.AddRange(RunCase(directory));
        }
        Assert.True(failures.Count == 0, $"{failures.Count} failures in {count} cases:\n" + string.Join("\n", failures));
    }

    internal static List<string> RunCase(string directory)
    {
        var failures = new List<string>();
        var policyText = string.Join("\n", Directory.EnumerateFiles(directory, "policy_*.dw").Order(StringComparer.Ordinal).Select(File.ReadAllText));
        var schemaPath = Path.Combine(directory, "schema.cedarschema");
        var eventPath = Path.Combine(directory, "event.dwschema");
        var schema = File.Exists(schemaPath) ? CedarSchema.Parse(File.ReadAllText(schemaPath), schemaPath) : null;
        var events = File.Exists(eventPath) ? EventSchema.Parse(File.ReadAllText(eventPath), eventPath) : EventSchema.DogwoodDefault;
        TemporalPolicySet policies;
        try
        {
            policies = TemporalPolicySet.Parse(policyText, Path.Combine(directory, "policy_1.dw"), events, schema);
        }
        catch (CedarSyntaxException e)
        {
            return [$"{directory}: {e.Message}"];
        }
        foreach (var trace in Directory.EnumerateFiles(directory, "trace_*.log").Order(StringComparer.Ordinal))
        {
            var n = Path.GetFileNameWithoutExtension(trace)["trace_".Length..];
            var expectedPath = Path.Combine(directory, $"expected_{n}.out");
            if (!File.Exists(expectedPath)) continue;
            var expected = Lines(File.ReadAllText(expectedPath));
            foreach (var roundTrip in new[] { false, true })
            {
                var actual = TemporalReplay.Run(policies, File.ReadAllText(trace), trace, roundTrip).ToList();
                if (!expected.SequenceEqual(actual))
                    failures.Add($"{directory} trace_{n}{(roundTrip ? " (state persisted after every event)" : "")}:\n  expected {string.Join(" | ", expected)}\n  actual   {string.Join(" | ", actual)}");
            }
        }
        return failures;
    }

    private static List<string> Lines(string text) =>
        [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];
}
