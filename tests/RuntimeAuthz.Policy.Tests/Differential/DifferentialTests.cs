using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using RuntimeAuthz.Policy.Tests.Schema;
using Xunit.Abstractions;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Tests.Differential;

/// <summary>
/// Differential test: random policies/entities/requests are decided by our Authorizer and by the real
/// Cedar engine (cedar-wasm via tests/differential/oracle.cjs); decisions, reason sets and error sets
/// must agree exactly. Knobs: DIFF_SEED, DIFF_COUNT (default 10000), DIFF_FAILURES_FILE (markdown
/// file to append the first disagreements to).
/// </summary>
public sealed class DifferentialTests(ITestOutputHelper output)
{
    private const int DefaultSeed = 20261128;
    private const int BatchSize = 500;

    [Fact]
    public void OurAuthorizerAgreesWithCedarWasm() => CompareWithCedarWasm(withSchema: false, "DIFF_COUNT", 10_000, DefaultSeed);

    /// <summary>Same, with entities and context written in implicit forms and read through a schema on both sides.</summary>
    [Fact]
    public void OurSchemaDirectedJsonReadingAgreesWithCedarWasm() => CompareWithCedarWasm(withSchema: true, "DIFF_SCHEMA_COUNT", 3_000, DefaultSeed + 1);

    /// <summary>
    /// Our validator against cedar-wasm's strict validation on generated policies and the generator's
    /// schema: a policy Cedar accepts must never be flagged (DIFF_VALIDATE_COUNT, default 3000).
    /// </summary>
    [Fact]
    public void OurValidatorNeverFlagsPoliciesCedarValidates()
    {
        if (!OracleAvailable(out var node, out var oracle)) return;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("DIFF_SEED"), out var s) ? s : DefaultSeed + 2;
        int total = int.TryParse(Environment.GetEnvironmentVariable("DIFF_VALIDATE_COUNT"), out var n) ? n : 3_000;
        var generator = new PolicyGenerator(seed, withSchema: true);
        var schema = CedarSchema.Parse(PolicyGenerator.SchemaText, "differential.cedarschema");
        int policiesCompared = 0, cedarInvalid = 0, weAlsoFlag = 0;
        var falsePositives = new List<string>();
        for (int start = 0; start < total; start += BatchSize)
        {
            var batch = Enumerable.Range(start, Math.Min(BatchSize, total - start)).Select(generator.NextCase).ToList();
            var input = new JsonArray(batch.Select(c =>
            {
                var json = c.ToOracleJson();
                json["validateOnly"] = true;
                return (JsonNode?)json;
            }).ToArray()).ToJsonString();
            var answers = RunNode(node, oracle, input, batch.Count);
            for (int i = 0; i < batch.Count; i++)
            {
                if (answers[i]!["invalid"] is not JsonArray invalidIds) continue; // cedar-wasm could not parse
                var cedarFlags = invalidIds.Select(x => x!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
                var ours = PolicyValidator.Validate(PolicySet.Parse(batch[i].PolicyText), schema);
                foreach (var id in Enumerable.Range(0, batch[i].Policies.Count).Select(k => $"policy{k}"))
                {
                    policiesCompared++;
                    // "can never apply" is only a warning for Cedar (an impossible policy), an error for us.
                    var ourIssues = ours.Where(x => x.PolicyId == id && x.Kind != CedarErrorKind.ImpossiblePolicy).ToList();
                    if (cedarFlags.Contains(id))
                    {
                        cedarInvalid++;
                        if (ourIssues.Count > 0) weAlsoFlag++;
                    }
                    else if (ourIssues.Count > 0)
                    {
                        falsePositives.Add($"case #{batch[i].Index} {id}: {ourIssues[0].Line}:{ourIssues[0].Column} {ourIssues[0].Message}\n  {batch[i].Policies[int.Parse(id["policy".Length..], System.Globalization.CultureInfo.InvariantCulture)]}");
                    }
                }
            }
        }
        output.WriteLine($"validation, seed {seed}: {policiesCompared} policies, cedar flags {cedarInvalid}, we flag {weAlsoFlag} of those; {falsePositives.Count} flagged by us only");
        foreach (var f in falsePositives.Take(10)) output.WriteLine(f);
        Assert.True(policiesCompared > total, "too few policies were compared");
        Assert.Empty(falsePositives);
    }

    private bool OracleAvailable(out string node, out string oracle)
    {
        string repoRoot = SchemaTestPaths.RepoRoot;
        oracle = Path.Combine(repoRoot, "tests", "differential", "oracle.cjs");
        string cedarWasm = Path.Combine(repoRoot, "node_modules", "@cedar-policy", "cedar-wasm", "nodejs");
        node = FindNode() ?? "";
        if (node.Length > 0 && Directory.Exists(cedarWasm)) return true;
        string why = node.Length == 0 ? "node is not on PATH" : $"{cedarWasm} is missing (run npm ci in the repository root)";
        Assert.False(SchemaTestPaths.IsCi, "differential test needs node and cedar-wasm under CI: " + why);
        output.WriteLine("SKIPPED differential test: " + why);
        return false;
    }

    private void CompareWithCedarWasm(bool withSchema, string countVariable, int defaultCount, int defaultSeed)
    {
        if (!OracleAvailable(out var node, out var oracle)) return;

        int seed = int.TryParse(Environment.GetEnvironmentVariable("DIFF_SEED"), out var s) ? s : defaultSeed;
        int total = int.TryParse(Environment.GetEnvironmentVariable(countVariable), out var n) ? n : defaultCount;
        var generator = new PolicyGenerator(seed, withSchema);
        var schema = withSchema ? CedarSchema.Parse(PolicyGenerator.SchemaText, "differential.cedarschema") : null;
        var disagreements = new List<(DifferentialCase Case, DifferentialOutcome Ours, DifferentialOutcome Theirs)>();
        int compared = 0, bothRejected = 0, allow = 0, withErrors = 0;

        for (int start = 0; start < total; start += BatchSize)
        {
            var batch = Enumerable.Range(start, Math.Min(BatchSize, total - start)).Select(generator.NextCase).ToList();
            var theirs = RunOracle(node, oracle, batch);
            for (int i = 0; i < batch.Count; i++)
            {
                var ours = Decide(batch[i], schema);
                compared++;
                if (ours.Decision == "failure" && theirs[i].Decision == "failure") { bothRejected++; continue; }
                if (!ours.SameAs(theirs[i])) disagreements.Add((batch[i], ours, theirs[i]));
                if (theirs[i].Decision == "allow") allow++;
                if (theirs[i].Errors.Count > 0) withErrors++;
            }
        }

        output.WriteLine($"{(withSchema ? "with schema, " : "")}seed {seed}: {compared} requests compared, {disagreements.Count} disagreements; " +
                         $"{allow} allow, {withErrors} with policy errors, {bothRejected} rejected by both parsers");
        foreach (var (c, ours, theirs) in disagreements.Take(5))
        {
            output.WriteLine($"---- case #{c.Index} (seed {seed})\nours:   {ours}\ncedar:  {theirs}\n{c.Describe()}");
        }
        if (disagreements.Count > 0 && Environment.GetEnvironmentVariable("DIFF_FAILURES_FILE") is { Length: > 0 } file)
            WriteFailures(file, seed, compared, disagreements);
        // The generator must produce mostly meaningful cases, or the comparison proves little.
        Assert.True(bothRejected < compared / 20, $"{bothRejected} of {compared} generated cases were rejected by both parsers");
        Assert.True(allow > compared / 20, $"only {allow} of {compared} requests were allowed: policies rarely match");
        Assert.True(disagreements.Count == 0,
            $"{disagreements.Count} of {compared} requests disagree with cedar-wasm (seed {seed}); first: case #{disagreements.FirstOrDefault().Case?.Index}");
    }

    private static DifferentialOutcome Decide(DifferentialCase c, CedarSchema? schema)
    {
        try
        {
            var policies = PolicySet.Parse(c.PolicyText);
            foreach (var (templateId, newId, principal, resource) in c.Links)
                policies = policies.Link(templateId, newId, principal, resource);
            var entities = EntityStore.FromJson(c.Entities.ToJsonString(), schema);
            var context = CedarContext.FromJson(c.Context.ToJsonString(), schema, c.Action);
            var response = Authorizer.IsAuthorized(new AuthorizationRequest(c.Principal, c.Action, c.Resource, context), policies, entities);
            return new DifferentialOutcome(
                response.Decision == Decision.Allow ? "allow" : "deny",
                response.Reasons.Order(StringComparer.Ordinal).ToList(),
                response.Errors.Select(e => e.PolicyId).Distinct().Order(StringComparer.Ordinal).ToList(),
                string.Join("; ", response.Errors.Select(e => $"{e.PolicyId}: {e.Message}")));
        }
        catch (CedarSyntaxException e)
        {
            return new DifferentialOutcome("failure", [], [], e.Message);
        }
        catch (Exception e)
        {
            return new DifferentialOutcome("crash", [], [], e.GetType().Name + ": " + e.Message);
        }
    }

    private static List<DifferentialOutcome> RunOracle(string node, string oracle, List<DifferentialCase> batch)
    {
        var input = new JsonArray(batch.Select(c => (JsonNode?)c.ToOracleJson()).ToArray()).ToJsonString();
        return RunNode(node, oracle, input, batch.Count).Select(r =>
        {
            if (r!["failure"] is JsonArray failure)
                return new DifferentialOutcome("failure", [], [], string.Join("; ", failure.Select(f => f!.GetValue<string>())));
            return new DifferentialOutcome(
                r["decision"]!.GetValue<string>(),
                r["reason"]!.AsArray().Select(x => x!.GetValue<string>()).Order(StringComparer.Ordinal).ToList(),
                r["errors"]!.AsArray().Select(x => x!.GetValue<string>()).Distinct().Order(StringComparer.Ordinal).ToList(),
                string.Join("; ", r["errorMessages"]!.AsArray().Select(x => x!.GetValue<string>())));
        }).ToList();
    }

    private static JsonArray RunNode(string node, string oracle, string input, int expectedCount)
    {
        var start = new ProcessStartInfo(node, [oracle])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start node");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5))) { process.Kill(true); throw new TimeoutException("oracle did not finish in 5 minutes"); }
        if (process.ExitCode != 0) throw new InvalidOperationException($"oracle exited with {process.ExitCode}: {stderr.Result}");
        var results = JsonNode.Parse(stdout.Result)!.AsArray();
        Assert.Equal(expectedCount, results.Count);
        return results;
    }

    private static string? FindNode()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (dir.Length == 0) continue;
            var candidate = Path.Combine(dir, "node");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static void WriteFailures(string file, int seed, int compared, List<(DifferentialCase Case, DifferentialOutcome Ours, DifferentialOutcome Theirs)> disagreements)
    {
        var b = new StringBuilder();
        b.AppendLine($"## Differential run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC — seed {seed}: {disagreements.Count} of {compared} disagree");
        b.AppendLine($"Reproduce: `DIFF_SEED={seed} DIFF_COUNT={compared} DIFF_SCHEMA_COUNT={compared} dotnet test tests/RuntimeAuthz.Policy.Tests --filter FullyQualifiedName~Differential`");
        b.AppendLine();
        foreach (var (c, ours, theirs) in disagreements.Take(8))
        {
            b.AppendLine($"### case #{c.Index}{(c.Schema != null ? " (with the generator's schema)" : "")}");
            b.AppendLine($"- ours:  {ours}");
            b.AppendLine($"- cedar: {theirs}");
            b.AppendLine("```");
            b.AppendLine(c.Describe());
            b.AppendLine("```");
        }
        File.AppendAllText(file, b.ToString());
    }
}
