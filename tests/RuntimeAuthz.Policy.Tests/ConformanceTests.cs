using System.Formats.Tar;
using System.IO.Compression;
using RuntimeAuthz.Policy.Tests.Schema;
using Xunit.Abstractions;
using RuntimeAuthz.Policy.Conformance;

namespace RuntimeAuthz.Policy.Tests;

/// <summary>The Cedar team's integration tests, run through <see cref="ConformanceRunner"/>.</summary>
public sealed class ConformanceTests(ITestOutputHelper output) : IDisposable
{
    private readonly string scratch = Directory.CreateTempSubdirectory("cedar-conformance-").FullName;

    public void Dispose() => Directory.Delete(scratch, recursive: true);


    private static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private string RunRunner()
    {
        var writer = new StringWriter();
        var exitCode = ConformanceRunner.Run(scratch, writer);
        var text = writer.ToString();
        foreach (var line in text.Split('\n').Where(l => l.StartsWith("FAIL", StringComparison.Ordinal)).Take(20)) output.WriteLine(line);
        Assert.Equal(exitCode == 0, text.Contains(", 0 failed", StringComparison.Ordinal));
        return text.Trim().Split('\n')[^1];
    }

    [Fact]
    public void AllHandWrittenRequestsPass()
    {
        if (SchemaTestPaths.ConformanceRootOrSkip(output) is not { } root) return;
        CopyTree(Path.Combine(root, "tests"), Path.Combine(scratch, "tests"));
        CopyTree(Path.Combine(root, "sample-data"), Path.Combine(scratch, "sample-data"));
        Assert.Equal("conformance: 74 passed, 0 failed", RunRunner());
    }

    [Fact]
    public void AllGeneratedCorpusRequestsPass()
    {
        if (SchemaTestPaths.ConformanceRootOrSkip(output) is not { } root) return;
        using (var archive = new GZipStream(File.OpenRead(Path.Combine(root, "corpus-tests.tar.gz")), CompressionMode.Decompress))
            TarFile.ExtractToDirectory(archive, scratch, overwriteFiles: true);
        var last = RunRunner();
        Assert.Matches(@"^conformance: \d+ passed, 0 failed$", last);
        Assert.True(int.Parse(last.Split(' ')[1]) > 50_000, last);
    }

    [Fact]
    public void RunnerReportsMismatchesPerRequest()
    {
        Directory.CreateDirectory(Path.Combine(scratch, "t"));
        File.WriteAllText(Path.Combine(scratch, "t", "p.cedar"), "permit(principal == User::\"a\", action, resource) when { principal.x };");
        File.WriteAllText(Path.Combine(scratch, "t", "e.entities.json"), """[{"uid": {"type": "User", "id": "a"}, "attrs": {"x": true}, "parents": []}]""");
        File.WriteAllText(Path.Combine(scratch, "t", "test.json"), """
            {"policies": "t/p.cedar", "entities": "t/e.entities.json", "schema": "t/none.cedarschema", "shouldValidate": false,
             "requests": [
               {"description": "allowed", "principal": {"type": "User", "id": "a"}, "action": {"type": "Action", "id": "v"},
                "resource": {"type": "R", "id": "r"}, "context": {}, "decision": "allow", "reason": ["policy0"], "errors": []},
               {"description": "wrongly expected allow", "principal": {"type": "User", "id": "b"}, "action": {"type": "Action", "id": "v"},
                "resource": {"type": "R", "id": "r"}, "context": {}, "decision": "allow", "reason": ["policy0"], "errors": []}
             ]}
            """);
        var writer = new StringWriter();
        Assert.Equal(1, ConformanceRunner.Run(scratch, writer));
        var lines = writer.ToString().Trim().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"FAIL {Path.Combine("t", "test.json")} #1 wrongly expected allow: decision deny, expected allow", lines[0]);
        Assert.Equal("conformance: 1 passed, 1 failed", lines[1]);
    }

    [Fact]
    public void RequestsMarkedValidateRequestAreCheckedAgainstTheSchema()
    {
        Directory.CreateDirectory(Path.Combine(scratch, "v"));
        File.WriteAllText(Path.Combine(scratch, "v", "p.cedar"), "permit(principal, action, resource);");
        File.WriteAllText(Path.Combine(scratch, "v", "s.cedarschema"), "entity User; entity Doc; action view appliesTo { principal: [User], resource: [Doc] };");
        File.WriteAllText(Path.Combine(scratch, "v", "e.entities.json"), "[]");
        File.WriteAllText(Path.Combine(scratch, "v", "test.json"), """
            {"policies": "v/p.cedar", "entities": "v/e.entities.json", "schema": "v/s.cedarschema", "shouldValidate": true,
             "requests": [
               {"description": "valid", "principal": {"type": "User", "id": "a"}, "action": {"type": "Action", "id": "view"},
                "resource": {"type": "Doc", "id": "d"}, "context": {}, "validateRequest": true, "decision": "allow", "reason": ["policy0"], "errors": []},
               {"description": "resource type not allowed", "principal": {"type": "User", "id": "a"}, "action": {"type": "Action", "id": "view"},
                "resource": {"type": "User", "id": "b"}, "context": {}, "validateRequest": true, "decision": "allow", "reason": ["policy0"], "errors": []},
               {"description": "not validated", "principal": {"type": "User", "id": "a"}, "action": {"type": "Action", "id": "view"},
                "resource": {"type": "User", "id": "b"}, "context": {}, "validateRequest": false, "decision": "allow", "reason": ["policy0"], "errors": []}
             ]}
            """);
        var writer = new StringWriter();
        Assert.Equal(1, ConformanceRunner.Run(scratch, writer));
        var lines = writer.ToString().Trim().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.StartsWith($"FAIL {Path.Combine("v", "test.json")} #1 resource type not allowed: the request does not validate against the schema", lines[0]);
        Assert.Equal("conformance: 2 passed, 1 failed", lines[^1]);
    }
}
