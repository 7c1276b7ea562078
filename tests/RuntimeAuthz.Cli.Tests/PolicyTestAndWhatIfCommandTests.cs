using System.Net;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

/// <summary><c>authz policies test</c> over the example suites, and <c>authz policies what-if</c> against a scripted service.</summary>
public sealed class PolicyTestAndWhatIfCommandTests : IDisposable
{
    private static readonly string Examples = Path.Combine(RepoPaths.Examples, "policy-tests");
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("authz-cli-policy-tests");

    public void Dispose() => directory.Delete(recursive: true);

    [Fact]
    public async Task The_passing_examples_pass_with_exit_code_0_and_a_summary_line()
    {
        var result = await new CliHarness().RunAsync("policies", "test", Path.Combine(Examples, "passing"));

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal(["policy tests: 11 passed, 0 failed"], result.OutputLines);
    }

    [Fact]
    public async Task The_failing_example_fails_with_one_located_line_per_failing_case_and_junit_output()
    {
        var junit = Path.Combine(directory.FullName, "reports", "policy-tests.xml");
        var suite = Path.Combine(Examples, "failing", "wrong-expectations.cedartest.json");

        var result = await new CliHarness().RunAsync("policies", "test", Path.Combine(Examples, "failing"), "--junit", junit);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        var lines = result.OutputLines;
        Assert.Equal(3, lines.Length);
        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(suite)}:\\d+:5: FAIL deleting a database is fine \\(it is not\\): expected Allow, got Deny \\(not-permitted\\) by \\[never-delete-databases\\]$", lines[0]);
        Assert.Contains("FAIL a payment is allowed at once (it needs approval): expected Allow, got ApprovalRequired by [payments-need-approval]", lines[1], StringComparison.Ordinal);
        Assert.Equal("policy tests: 1 passed, 2 failed", lines[2]);
        var xml = XDocument.Load(junit);
        Assert.Equal(3, xml.Descendants("testcase").Count());
        Assert.Equal(2, xml.Descendants("failure").Count());
    }

    [Fact]
    public async Task A_folder_without_suites_and_a_malformed_suite_are_errors()
    {
        var none = await new CliHarness().RunAsync("policies", "test", directory.FullName);
        Assert.Equal(ExitCodes.Error, none.ExitCode);
        Assert.Contains("no policy test suites (*.cedartest.json) found", none.Error, StringComparison.Ordinal);

        var bad = Path.Combine(directory.FullName, "bad.cedartest.json");
        await File.WriteAllTextAsync(bad, "{\n  \"cases\": [ { \"name\": 1 } ]\n}");
        var malformed = await new CliHarness().RunAsync("policies", "test", bad);
        Assert.Equal(ExitCodes.Error, malformed.ExitCode);
        Assert.Equal([$"{bad}:2:16: must be a string (suite not run)", "policy tests: 0 passed, 1 failed"], malformed.OutputLines);
    }

    private const string Report = """
        {"sessions": 2, "decisions": 5, "replayed": 4, "changed": 2, "unchanged": 2, "decidedBeforePolicy": 0, "notReplayable": 1,
         "notReplayableByReason": {"redacted-input": 1},
         "changes": [{"from": "Allow", "to": "Deny", "count": 2}],
         "byPolicy": [{"key": "no-reading", "changed": 2, "allowToDeny": 2, "denyToAllow": 0, "other": 0, "exampleDecisionIds": ["d1"]}],
         "byAgent": [{"key": "demo-agent", "changed": 2, "allowToDeny": 2, "denyToAllow": 0, "other": 0, "exampleDecisionIds": ["d1"]}],
         "examples": [{"decisionId": "d1", "sessionId": "s1", "agentId": "demo-agent", "at": "2026-11-28T11:00:00Z", "action": "read_file", "resource": "Document::\"q3\"",
                       "recordedOutcome": "Allow", "recordedPolicies": ["policy0"], "recordedVersion": 3, "status": "Replayed",
                       "candidateOutcome": "Deny", "candidateDenyReason": "not-permitted", "candidatePolicies": ["no-reading"]}],
         "notReplayableExamples": [], "truncated": false}
        """;

    [Fact]
    public async Task What_if_sends_the_candidate_with_its_filters_and_prints_the_changes()
    {
        var candidate = Path.Combine(directory.FullName, "candidate.cedar");
        await File.WriteAllTextAsync(candidate, "forbid (principal, action == Action::\"read_file\", resource);");
        var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/policies/what-if", HttpStatusCode.OK, Report);

        var result = await cli.RunAsync("policies", "what-if", candidate, "--since", "7d", "--agent", "demo-agent", "--max", "500");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        var sent = JsonNode.Parse(cli.Handler.Requests.Single(r => r.Path == "/v1/policies/what-if").Body!)!;
        Assert.Equal("forbid (principal, action == Action::\"read_file\", resource);", sent["policies"]!.GetValue<string>());
        Assert.Equal("7d", sent["since"]!.GetValue<string>());
        Assert.Equal("demo-agent", sent["agent"]!.GetValue<string>());
        Assert.Equal(500, sent["maxDecisions"]!.GetValue<int>());
        Assert.Equal(Commands.WhatIfCommand.MaxTimeoutSeconds, sent["timeoutSeconds"]!.GetValue<int>());
        Assert.Equal("what-if: 5 recorded decisions in 2 sessions", result.OutputLines[0]);
        Assert.Contains("  re-decided 4: 2 change, 2 stay the same", result.OutputLines);
        Assert.Contains("  not replayable: 1 (redacted-input 1)", result.OutputLines);
        Assert.Contains("  Allow -> Deny: 2", result.OutputLines);
        Assert.Contains(result.OutputLines, l => l.StartsWith("no-reading", StringComparison.Ordinal) && l.Contains('2', StringComparison.Ordinal));
        Assert.Contains(result.OutputLines, l => l.Contains("demo-agent read_file Document::\"q3\": Allow (v3) -> Deny (not-permitted) by no-reading", StringComparison.Ordinal));
    }

    [Fact]
    public async Task What_if_refuses_bad_options_and_points_at_the_candidate_file_for_its_errors()
    {
        var candidate = Path.Combine(directory.FullName, "candidate.cedar");
        await File.WriteAllTextAsync(candidate, "permit (principal, action, resource)\nwhen { x };");
        var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/policies/what-if", HttpStatusCode.BadRequest,
            """{"title":"Bad request","status":400,"detail":"policies.cedar:2:8: unexpected","errors":[{"line":2,"column":8,"message":"unexpected","source":"policies.cedar"}]}""", "application/problem+json");

        var tooLong = await cli.RunAsync("policies", "what-if", candidate, "--timeout", "300");
        Assert.Equal(ExitCodes.Error, tooLong.ExitCode);
        Assert.Contains("--timeout must be between 1 and 25 seconds", tooLong.Error, StringComparison.Ordinal);
        var missing = await cli.RunAsync("policies", "what-if", Path.Combine(directory.FullName, "nope.cedar"));
        Assert.Contains("file not found", missing.Error, StringComparison.Ordinal);

        var refused = await cli.RunAsync("policies", "what-if", candidate);
        Assert.Equal(ExitCodes.Error, refused.ExitCode);
        Assert.Equal($"{candidate}:2:8: unexpected", refused.Error.Trim());
    }
}
