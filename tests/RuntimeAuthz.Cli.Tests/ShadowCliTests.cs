using System.Net;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

/// <summary><c>authz policies publish --shadow</c>, <c>shadow-report</c>, <c>promote</c> and <c>discard</c> against a scripted service.</summary>
public sealed class ShadowCliTests
{
    private const string ShadowVersion = """{"version":8,"policies":"forbid(principal,action,resource);","author":"tester","publishedAt":"2026-12-01T12:00:00Z","policyCount":1,"shadow":true}""";

    private const string Report = """
        {"version":8,"mode":"shadow","status":"active","logOnlyPolicies":[],"evaluated":31,"disagreements":12,"failures":0,"skipped":0,
         "directions":[{"live":"Allow","shadow":"Deny","count":12}],
         "examples":[{"decisionId":"4b1e0c55-8f67-4a52-9e7c-0d0a3f4c1a2b","sessionId":"s-42","agentId":"demo-agent","action":"search_web","resource":"WebSearch::\"q\"",
                      "liveVersion":7,"liveOutcome":"Allow","shadowOutcome":"Deny","livePolicies":["policy1"],"shadowPolicies":["policy6"],"at":"2026-12-01T12:01:00Z"}],
         "updatedAt":"2026-12-01T12:01:01Z"}
        """;

    [Fact]
    public async Task Publish_with_shadow_sends_the_shadow_mode_and_says_it_never_decides()
    {
        using var cli = new CliHarness();
        var file = Path.Combine(Path.GetTempPath(), $"shadow-{Guid.NewGuid():N}.cedar");
        await File.WriteAllTextAsync(file, "forbid(principal,action,resource);");
        cli.Handler.On("POST", "/v1/policies", HttpStatusCode.Created, ShadowVersion);
        try
        {
            var result = await cli.RunAsync("policies", "publish", file, "--shadow");

            Assert.Equal(ExitCodes.Success, result.ExitCode);
            Assert.StartsWith("published shadow version 8", result.Output, StringComparison.Ordinal);
            Assert.Equal("shadow", JsonDocument.Parse(cli.Handler.Requests.Single().Body!).RootElement.GetProperty("mode").GetString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Publish_without_shadow_sends_no_mode()
    {
        using var cli = new CliHarness();
        var file = Path.Combine(Path.GetTempPath(), $"live-{Guid.NewGuid():N}.cedar");
        await File.WriteAllTextAsync(file, "permit(principal,action,resource);");
        cli.Handler.On("POST", "/v1/policies", HttpStatusCode.Created, ShadowVersion.Replace("\"shadow\":true", "\"shadow\":false", StringComparison.Ordinal));
        try
        {
            var result = await cli.RunAsync("policies", "publish", file);

            Assert.Equal(ExitCodes.Success, result.ExitCode);
            Assert.StartsWith("published policy version 8", result.Output, StringComparison.Ordinal);
            Assert.False(JsonDocument.Parse(cli.Handler.Requests.Single().Body!).RootElement.TryGetProperty("mode", out _));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Shadow_report_shows_the_counts_and_each_disagreement()
    {
        using var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/policies/8/shadow-report", HttpStatusCode.OK, Report);

        var result = await cli.RunAsync("policies", "shadow-report", "v8");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Contains(result.OutputLines, l => l.StartsWith("Version", StringComparison.Ordinal) && l.EndsWith("8 (shadow, active)", StringComparison.Ordinal));
        Assert.Contains(result.OutputLines, l => l.StartsWith("Disagreements", StringComparison.Ordinal) && l.EndsWith("12", StringComparison.Ordinal));
        Assert.Contains(result.OutputLines, l => l.StartsWith("Allow -> Deny", StringComparison.Ordinal) && l.EndsWith("12", StringComparison.Ordinal));
        var example = Assert.Single(result.OutputLines, l => l.Contains("search_web", StringComparison.Ordinal));
        Assert.Contains("Allow (v7)", example, StringComparison.Ordinal);
        Assert.Contains("policy6", example, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promote_and_discard_post_to_the_version_with_the_note()
    {
        using var cli = new CliHarness();
        cli.Handler
            .On("POST", "/v1/policies/8/promote", HttpStatusCode.Created, ShadowVersion.Replace("\"version\":8", "\"version\":9", StringComparison.Ordinal).Replace("\"shadow\":true", "\"shadow\":false,\"promotedFrom\":8", StringComparison.Ordinal))
            .On("POST", "/v1/policies/10/discard", HttpStatusCode.OK, ShadowVersion.Replace("\"version\":8", "\"version\":10", StringComparison.Ordinal));

        var promoted = await cli.RunAsync("policies", "promote", "8", "--note", "web search off");
        var discarded = await cli.RunAsync("policies", "discard", "10");

        Assert.Equal(ExitCodes.Success, promoted.ExitCode);
        Assert.StartsWith("published policy version 9 with the texts of shadow version 8", promoted.Output, StringComparison.Ordinal);
        Assert.Equal("web search off", JsonDocument.Parse(cli.Handler.Requests[0].Body!).RootElement.GetProperty("note").GetString());
        Assert.Equal(ExitCodes.Success, discarded.ExitCode);
        Assert.StartsWith("discarded shadow version 10", discarded.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusal_and_a_bad_version_are_reported_as_errors()
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/policies/3/promote", HttpStatusCode.Conflict,
            """{"title":"Conflict","status":409,"detail":"policy version 3 is not a shadow version: only an active shadow version can be promoted"}""", "application/problem+json");

        var refused = await cli.RunAsync("policies", "promote", "3");
        var malformed = await cli.RunAsync("policies", "discard", "latest");

        Assert.Equal(ExitCodes.Error, refused.ExitCode);
        Assert.Contains("not a shadow version", refused.Error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Error, malformed.ExitCode);
        Assert.Contains("'latest' is not a policy version", malformed.Error, StringComparison.Ordinal);
        Assert.Single(cli.Handler.Requests);
    }
}
