using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

/// <summary>The commands that run the policy engine in-process (no service).</summary>
public sealed class LocalPolicyCommandTests : IDisposable
{
    private const string Schema = """
        entity User;
        entity Photo { owner: User };
        action view appliesTo { principal: [User], resource: [Photo] };
        """;

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("authz-cli-local");

    public void Dispose() => _directory.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory.FullName, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Validate_accepts_good_policies_and_checks_them_against_the_schema()
    {
        var policies = Write("good.cedar", "permit(principal, action == Action::\"view\", resource) when { resource.owner == principal };");
        var schema = Write("photos.cedarschema", Schema);

        var result = await new CliHarness().RunAsync("policy", "validate", policies, "--schema", schema);

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal($"{policies}: 1 policy parsed, valid against {schema}", result.Output.Trim());
    }

    [Fact]
    public async Task Validate_prints_parse_errors_as_file_line_column()
    {
        var policies = Write("bad.cedar", "permit(principal, action, resource);\nforbid(principal, action, resource) when { resource.x == };\n");

        var result = await new CliHarness().RunAsync("policies", "validate", policies);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith($"{policies}:2:", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_prints_the_help_of_an_issue_under_its_position()
    {
        var policies = Write("never.cedar", "permit(principal is Photo, action == Action::\"view\", resource);\n");
        var schema = Write("photos.cedarschema", Schema);

        var result = await new CliHarness().RunAsync("policy", "validate", policies, "--schema", schema);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        var lines = result.Error.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"{policies}:1:1: the policy can never apply", lines[0], StringComparison.Ordinal);
        Assert.Equal("  help: see appliesTo in the schema", lines[1].TrimEnd('\r'));
    }

    [Fact]
    public async Task Validate_reports_schema_violations_with_positions()
    {
        var policies = Write("drift.cedar", "permit(principal, action == Action::\"view\", resource is Photo) when { resource.colour == \"red\" };\npermit(principal, action == Action::\"fly\", resource);\n");
        var schema = Write("photos.cedarschema", Schema);

        var result = await new CliHarness().RunAsync("policy", "validate", policies, "--schema", schema);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        var lines = result.Error.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"{policies}:1:", lines[0], StringComparison.Ordinal);
        Assert.Contains("colour", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"{policies}:2:", lines[1], StringComparison.Ordinal);
        Assert.Contains("fly", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_reports_a_missing_file()
    {
        var result = await new CliHarness().RunAsync("policy", "validate", Path.Combine(_directory.FullName, "nope.cedar"));

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains("file not found", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("allow", ExitCodes.Success, "conformance: 1 passed, 0 failed")]
    [InlineData("deny", ExitCodes.Error, "conformance: 0 passed, 1 failed")]
    public async Task Conformance_runs_a_corpus_folder_and_sets_the_exit_code(string expected, int exitCode, string summary)
    {
        Write("policies.cedar", "permit(principal == User::\"alice\", action == Action::\"view\", resource);");
        Write("entities.json", "[]");
        Write("case.json", $$"""
            {"policies": "policies.cedar", "entities": "entities.json", "shouldValidate": false,
             "requests": [{"description": "alice views", "principal": {"type": "User", "id": "alice"},
                           "action": {"type": "Action", "id": "view"}, "resource": {"type": "Photo", "id": "p"},
                           "context": {}, "decision": "{{expected}}", "reason": {{(expected == "allow" ? "[\"policy0\"]" : "[]")}}, "errors": []}]}
            """);

        var result = await new CliHarness().RunAsync("policy", "conformance", _directory.FullName);

        Assert.Equal(exitCode, result.ExitCode);
        Assert.Equal(summary, result.OutputLines[^1]);
    }
}
