using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Xunit.Abstractions;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Tests.Schema;

/// <summary>
/// The Cedar corpus says for each test whether its policies validate against its schema. Our
/// validator must agree with Cedar's on every set: flag each one Cedar rejects and none it accepts.
/// </summary>
public sealed class CorpusValidationTests(ITestOutputHelper output)
{
    [Fact]
    public void HandWrittenTestsThatShouldValidateHaveNoIssues()
    {
        if (SchemaTestPaths.ConformanceRootOrSkip(output) is not { } root) return;
        int checkedSets = 0;
        foreach (var path in Directory.GetFiles(Path.Combine(root, "tests"), "*.json", SearchOption.AllDirectories))
        {
            var test = JsonNode.Parse(File.ReadAllText(path))!;
            if (!test["shouldValidate"]!.GetValue<bool>()) continue;
            var schema = CedarSchema.Parse(File.ReadAllText(Path.Combine(root, test["schema"]!.GetValue<string>())));
            string policyFile = test["policies"]!.GetValue<string>();
            var issues = PolicyValidator.Validate(PolicySet.Parse(File.ReadAllText(Path.Combine(root, policyFile)), policyFile), schema);
            Assert.True(issues.Count == 0, $"{policyFile}: {string.Join("; ", issues.Select(i => $"{i.PolicyId} {i.Line}:{i.Column} {i.Message}"))}");
            checkedSets++;
        }
        Assert.True(checkedSets >= 10, $"only {checkedSets} hand-written tests were checked");
    }

    [Fact]
    public void ValidatorFlagsExactlyThePolicySetsCedarRejects()
    {
        if (SchemaTestPaths.ConformanceRootOrSkip(output) is not { } root) return;
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var file = File.OpenRead(Path.Combine(root, "corpus-tests.tar.gz")))
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.DataStream is null || entry.Name.EndsWith(".entities.json", StringComparison.Ordinal)) continue;
                using var reader = new StreamReader(entry.DataStream, Encoding.UTF8);
                files[entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name] = reader.ReadToEnd();
            }
        }
        int valid = 0, invalid = 0;
        var falsePositives = new List<string>();
        var missed = new List<string>();
        foreach (var (name, text) in files)
        {
            if (!name.EndsWith(".json", StringComparison.Ordinal)) continue;
            var test = JsonNode.Parse(text)!;
            string policiesPath = test["policies"]!.GetValue<string>(), schemaPath = test["schema"]!.GetValue<string>();
            if (!files.TryGetValue(policiesPath, out var policyText) || !files.TryGetValue(schemaPath, out var schemaText)) continue;
            var schema = CedarSchema.Parse(schemaText, schemaPath);
            PolicySet policies;
            try { policies = PolicySet.Parse(policyText, policiesPath); }
            catch (CedarSyntaxException) { continue; }
            var issues = PolicyValidator.Validate(policies, schema);
            if (test["shouldValidate"]!.GetValue<bool>())
            {
                valid++;
                if (issues.Count > 0) falsePositives.Add($"{policiesPath}: {issues[0].PolicyId} {issues[0].Line}:{issues[0].Column} {issues[0].Message}");
            }
            else
            {
                invalid++;
                if (issues.Count == 0) missed.Add($"{policiesPath} (schema {schemaPath}):\n{policyText}");
            }
        }
        output.WriteLine($"corpus validation: {valid} valid sets, {falsePositives.Count} wrongly flagged; {invalid} invalid sets, {invalid - missed.Count} flagged");
        foreach (var f in falsePositives.Take(15)) output.WriteLine(f);
        foreach (var m in missed.Take(15)) output.WriteLine("not flagged: " + m);
        Assert.True(valid > 4000, $"expected over 4000 valid corpus tests, found {valid}");
        Assert.True(invalid > 1000, $"expected over 1000 invalid corpus tests, found {invalid}");
        Assert.Empty(falsePositives);
        Assert.Empty(missed);
    }
}
