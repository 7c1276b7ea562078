using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Xunit.Abstractions;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Tests.Schema;

/// <summary>Every schema of the Cedar fuzzer corpus and the hand-written samples must parse.</summary>
public sealed class CorpusSchemaTests(ITestOutputHelper output)
{
    [Fact]
    public void EveryCorpusSchemaParses()
    {
        if (SchemaTestPaths.ConformanceRootOrSkip(output) is not { } root) return;
        int parsed = 0;
        var failures = new List<string>();
        using var file = File.OpenRead(Path.Combine(root, "corpus-tests.tar.gz"));
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            if (!entry.Name.EndsWith(".cedarschema", StringComparison.Ordinal) || entry.DataStream is null) continue;
            using var reader = new StreamReader(entry.DataStream, Encoding.UTF8);
            string text = reader.ReadToEnd();
            try
            {
                CedarSchema.Parse(text, entry.Name);
                parsed++;
            }
            catch (CedarSyntaxException e)
            {
                failures.Add(e.Message);
            }
        }
        output.WriteLine($"corpus schemas: {parsed} parsed, {failures.Count} failed");
        foreach (var f in failures.Take(20)) output.WriteLine(f);
        Assert.True(parsed > 6000, $"expected the corpus to hold over 6000 schemas, parsed {parsed}");
        Assert.Empty(failures);
    }

    [Fact]
    public void SampleSchemasParse()
    {
        if (SchemaTestPaths.ConformanceRootOrSkip(output) is not { } root) return;
        var files = Directory.GetFiles(Path.Combine(root, "sample-data"), "*.cedarschema", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var path in files)
        {
            var schema = CedarSchema.Parse(File.ReadAllText(path), path);
            Assert.Contains("User", schema.EntityTypes);
            Assert.Contains(new EntityUid("Action", "view"), schema.Actions);
        }
    }
}
