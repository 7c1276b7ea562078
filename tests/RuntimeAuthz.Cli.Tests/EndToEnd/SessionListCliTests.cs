using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests.EndToEnd;

/// <summary><c>authz sessions list</c> and the recent sessions of <c>authz agents show</c>, against the real silo host.</summary>
[Collection(RealSiloCollection.Name)]
public sealed class SessionListCliTests(RealSilo silo)
{
    private Task<CliResult> Authz(params string[] args) => silo.Authz(args);

    private static string[] Ids(CliResult result) =>
        [.. JsonDocument.Parse(result.Output).RootElement.EnumerateArray().Select(s => s.GetProperty("sessionId").GetString()!)];

    [Fact]
    public async Task Sessions_are_listed_by_filter_newest_activity_first_and_under_their_agent()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (agent, fleet) = ($"list-bot-{tag}", $"list-fleet-{tag}");
        Assert.Equal(ExitCodes.Success, (await Authz("agents", "register", agent, "--owner", "ops@example.com", "--fleet", fleet)).ExitCode);
        var sessions = new List<string>();
        for (var i = 0; i < 3; i++) sessions.Add((await Authz("sessions", "open", "--agent", agent)).OutputLines[0]);
        var (oldest, middle, newest) = (sessions[0], sessions[1], sessions[2]);
        // No delegation: denied, and the session with the deny is now the most recently active.
        Assert.Equal(ExitCodes.Deny, (await Authz("check", "--session", oldest, "--action", "read_file", "--resource", "Document::\"d\"")).ExitCode);
        Assert.Equal(ExitCodes.Success, (await Authz("sessions", "close", middle)).ExitCode);

        var denied = await Eventually.UntilAsync("the deny in the index", async () => Ids(await Authz("--json", "sessions", "list", "--fleet", fleet, "--has-denies")), ids => ids.Length == 1);
        Assert.Equal([oldest], denied);
        Assert.Equal([oldest, newest, middle], Ids(await Authz("--json", "sessions", "list", "--agent", agent)));
        Assert.Equal([middle], Ids(await Authz("--json", "sessions", "list", "--fleet", fleet, "--status", "closed")));
        Assert.Equal([oldest, newest], Ids(await Authz("--json", "sessions", "list", "--fleet", fleet, "--status", "open", "--since", "1h")));
        Assert.Empty(Ids(await Authz("--json", "sessions", "list", "--fleet", fleet, "--min-risk", "1")));
        Assert.Equal([oldest, newest, middle], Ids(await Authz("--json", "sessions", "list", "--fleet", fleet, "--limit", "1", "--all")));

        var firstPage = await Authz("sessions", "list", "--agent", agent, "--limit", "2");
        Assert.Equal(ExitCodes.Success, firstPage.ExitCode);
        Assert.StartsWith("SESSION", firstPage.OutputLines[0], StringComparison.Ordinal);
        Assert.StartsWith(oldest, firstPage.OutputLines[1], StringComparison.Ordinal);
        Assert.Contains(firstPage.OutputLines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries), cell => cell == fleet);
        Assert.StartsWith(newest, firstPage.OutputLines[2], StringComparison.Ordinal);
        Assert.Contains("more match", firstPage.OutputLines[3], StringComparison.Ordinal);
        Assert.Equal("no matching sessions", (await Authz("sessions", "list", "--agent", agent, "--status", "expired")).Output.Trim());

        var shown = await Authz("agents", "show", agent);
        Assert.Equal(ExitCodes.Success, shown.ExitCode);
        var heading = Array.IndexOf(shown.OutputLines, "Sessions");
        Assert.True(heading > 0, shown.Output);
        Assert.Equal([oldest, newest, middle], shown.OutputLines.Skip(heading + 2).Take(3).Select(line => line.Split(' ')[0]));
        // Governance may show the agent but not search sessions: the agent is still shown.
        var governance = await Authz("--as", "governance", "agents", "show", agent);
        Assert.Equal(ExitCodes.Success, governance.ExitCode);
        Assert.Contains("Recent sessions: not shown", governance.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--status", "paused", "--status")]
    [InlineData("--since", "yesterday", "--since")]
    [InlineData("--since", "2999-01-01T00:00:00Z", "--since")]
    [InlineData("--limit", "0", "--limit")]
    [InlineData("--limit", "501", "--limit")]
    [InlineData("--min-risk", "-3", "--min-risk")]
    public async Task Bad_options_are_refused_before_any_call(string option, string value, string named)
    {
        using var cli = new CliHarness();
        var result = await cli.RunAsync("sessions", "list", option, value);
        Assert.NotEqual(ExitCodes.Success, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Handler.Requests);
    }
}
