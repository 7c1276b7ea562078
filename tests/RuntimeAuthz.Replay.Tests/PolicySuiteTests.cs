using System.Xml.Linq;
using RuntimeAuthz.Replay.PolicyTests;

namespace RuntimeAuthz.Replay.Tests;

/// <summary>The suite format, the runner over the example suites, bad suites located by file:line:column, and JUnit output.</summary>
public sealed class PolicySuiteTests : IDisposable
{
    private static readonly string PolicyTests = Path.Combine(RepoPaths.Examples, "policy-tests");
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("authz-policy-tests");

    public void Dispose() => directory.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(directory.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task The_passing_example_suites_pass_every_case()
    {
        var results = await PolicySuiteRunner.RunAllAsync(Path.Combine(PolicyTests, "passing"), null, CancellationToken.None);

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Null(r.Error));
        Assert.All(results.SelectMany(r => r.Cases), c => Assert.True(c.Passed, $"{c.Location}: {c.Name}: {c.Failure}"));
        Assert.Equal(11, results.Sum(r => r.Passed));
    }

    [Fact]
    public async Task The_failing_example_suite_names_each_wrong_case_where_it_is_written()
    {
        var file = Path.Combine(PolicyTests, "failing", "wrong-expectations.cedartest.json");
        var lines = await File.ReadAllLinesAsync(file);
        var results = await PolicySuiteRunner.RunAllAsync(file, null, CancellationToken.None);

        var cases = Assert.Single(results).Cases;
        Assert.True(cases[0].Passed);
        var delete = cases[1];
        Assert.False(delete.Passed);
        Assert.Equal("expected Allow, got Deny (not-permitted) by [never-delete-databases]", delete.Failure);
        // The case's opening brace: the line before its name.
        Assert.Equal(Array.FindIndex(lines, l => l.Contains("deleting a database is fine", StringComparison.Ordinal)), delete.Location.Line);
        Assert.Equal(lines[delete.Location.Line - 1].IndexOf('{', StringComparison.Ordinal) + 1, delete.Location.Column);
        Assert.Equal("expected Allow, got ApprovalRequired by [payments-need-approval]", cases[2].Failure);
    }

    [Fact]
    public async Task A_candidate_text_replaces_the_suites_own_policies()
    {
        // The silo runs the configured suites against the text being published.
        var candidate = PolicySuiteRunner.Compile(
            "@id(\"everything\") permit (principal, action, resource);", null, null, s => s);
        var results = await PolicySuiteRunner.RunAllAsync(Path.Combine(PolicyTests, "passing", "example-policies.cedartest.json"), candidate, CancellationToken.None);

        var failed = results.Single().Cases.Where(c => !c.Passed).Select(c => c.Name).ToArray();
        Assert.Contains("databases are never deleted", failed);
        Assert.Contains("no document of another fleet", failed);
        Assert.DoesNotContain("a suspended agent does nothing", failed);
    }

    [Fact]
    public async Task A_trace_step_reporting_the_outcome_of_a_denied_call_fails_its_case()
    {
        Write("p.cedar", "permit (principal, action == Action::\"a\", resource);");
        var suite = Write("t.cedartest.json", """
            {
              "policies": "p.cedar",
              "agents": { "x": {} },
              "cases": [ { "name": "report after deny", "agent": "x", "steps": [
                { "action": "b", "resource": { "type": "T", "id": "1" }, "expect": "Deny" },
                { "report": "response", "output": {} }
              ] } ]
            }
            """);

        var result = (await PolicySuiteRunner.RunAllAsync(suite, null, CancellationToken.None)).Single().Cases.Single();

        Assert.Equal("step 2: reports an outcome, but the request before it was not allowed (or already has one)", result.Failure);
        Assert.Equal(6, result.Location.Line);
    }

    [Theory]
    [InlineData("{ \"cases\": [ }", 1, "}", "not valid JSON")]
    [InlineData("[]", 1, "[", "a suite is a JSON object")]
    [InlineData("{\n  \"agents\": {},\n  \"cases\": []\n}", 3, "\"cases\"", "cases must be a non-empty array")]
    [InlineData("{\n  \"agents\": { \"a\": {} },\n  \"cases\": [\n    { \"name\": \"n\", \"agent\": \"a\", \"action\": \"x\", \"resource\": { \"type\": \"T\", \"id\": \"1\" }, \"expect\": \"Permit\" }\n  ]\n}", 4, "\"expect\"", "'Permit' is not an outcome")]
    [InlineData("{\n  \"agents\": { \"a\": {} },\n  \"cases\": [ { \"name\": \"n\", \"agent\": \"b\", \"action\": \"x\", \"resource\": { \"type\": \"T\", \"id\": \"1\" }, \"expect\": \"Allow\" } ]\n}", 3, "\"agent\"", "agent 'b' is not among the suite's agents")]
    [InlineData("{\n  \"agents\": { \"a\": { \"grants\": [ { \"actions\": [\"x\"], \"resources\": [\"not a pattern\"] } ] } },\n  \"cases\": []\n}", 2, "\"not a pattern\"", "'not a pattern' is not a resource pattern")]
    [InlineData("{\n  \"agents\": { \"a\": { \"colour\": \"red\" } },\n  \"cases\": []\n}", 2, "\"colour\"", "unknown member \"colour\"")]
    [InlineData("{\n  \"agents\": { \"a\": {} },\n  \"cases\": [ { \"name\": \"n\", \"agent\": \"a\", \"steps\": [ { \"action\": \"x\", \"resource\": { \"type\": \"T\", \"id\": \"1\" }, \"expect\": \"Allow\", \"wait\": \"soon\" } ] } ]\n}", 3, "\"wait\"", "'soon' is not a duration")]
    [InlineData("{\n  \"agents\": { \"a\": {} },\n  \"cases\": [ { \"name\": \"n\", \"agent\": \"a\", \"action\": \"x\", \"resource\": { \"type\": \"T\", \"id\": \"1\" } } ]\n}", 3, "{ \"name\"", "a request needs an \"expect\"")]
    public void A_malformed_suite_is_refused_with_file_line_and_column(string text, int line, string at, string problem)
    {
        var column = text.Split('\n')[line - 1].IndexOf(at, StringComparison.Ordinal) + 1;
        var error = Assert.Throws<PolicySuiteException>(() => PolicySuite.Parse(text, "bad.cedartest.json"));

        Assert.StartsWith(problem, error.Problem, StringComparison.Ordinal);
        Assert.Equal(new SuiteLocation("bad.cedartest.json", line, column), error.Location);
        Assert.StartsWith($"bad.cedartest.json:{line}:{column}: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_file_that_does_not_parse_is_reported_in_that_file()
    {
        Write("broken.cedar", "permit (principal, action, resource)\nwhen { context.x == };");
        var suite = Write("b.cedartest.json", """{ "policies": "broken.cedar", "agents": { "a": {} }, "cases": [ { "name": "n", "agent": "a", "action": "x", "resource": { "type": "T", "id": "1" }, "expect": "Allow" } ] }""");

        var result = (await PolicySuiteRunner.RunAllAsync(suite, null, CancellationToken.None)).Single();

        Assert.NotNull(result.Error);
        Assert.Equal(Path.Combine(directory.FullName, "broken.cedar"), result.Error.Location.File);
        Assert.Equal(2, result.Error.Location.Line);
        Assert.Equal(1, result.Failed);
    }

    [Fact]
    public async Task JUnit_output_has_one_testcase_per_case_and_a_failure_for_each_failing_one()
    {
        var results = await PolicySuiteRunner.RunAllAsync(PolicyTests, null, CancellationToken.None);

        var xml = JUnitReport.Build(results);
        var root = xml.Root!;
        Assert.Equal("testsuites", root.Name.LocalName);
        Assert.Equal(14, (int)root.Attribute("tests")!);
        Assert.Equal(2, (int)root.Attribute("failures")!);
        var failing = root.Descendants("testcase").Where(t => t.Element("failure") is not null).ToArray();
        Assert.Equal(["deleting a database is fine (it is not)", "a payment is allowed at once (it needs approval)"], failing.Select(t => (string)t.Attribute("name")!));
        Assert.All(failing, t => Assert.EndsWith("wrong-expectations.cedartest.json", (string)t.Attribute("file")!, StringComparison.Ordinal));
        // It parses back as XML (what a CI system does with it).
        Assert.Equal(14, XDocument.Parse(xml.ToString()).Descendants("testcase").Count());
    }
}
