using System.Net;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

/// <summary>authz grants | revoke | fleets | labels against a scripted HTTP handler.</summary>
public sealed class GovernanceCliTests
{
    private const string GrantJson =
        """{"id":"g-2","actions":["read"],"resources":["Invoice::*"],"grantedBy":"parent-bot","grantedAt":"2026-11-28T12:00:00Z","expiresAt":"2026-11-28T14:00:00Z","delegatorAgentId":"parent-bot","parentGrantId":"g-1","depth":1,"status":"active"}""";

    private const string RevocationJson =
        """{"revokedAt":"2026-11-28T12:00:00Z","count":2,"revoked":[{"agentId":"a","grant":""" + GrantJson + """},{"agentId":"b","grant":""" + GrantJson + """}]}""";

    [Fact]
    public async Task Sub_delegation_sends_the_parent_and_a_computed_expiry()
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/agents/child-bot/grants", HttpStatusCode.Created, GrantJson);

        var result = await cli.RunAsync("grants", "create", "child-bot", "--action", "read", "--resource", "Invoice::*", "--expires", "2h",
            "--from-agent", "parent-bot", "--parent-grant", "g-1", "--condition", "context.input.amount < 100");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        var body = JsonDocument.Parse(cli.Handler.Requests.Single().Body!).RootElement;
        Assert.Equal("parent-bot", body.GetProperty("delegatorAgentId").GetString());
        Assert.Equal("g-1", body.GetProperty("parentGrantId").GetString());
        Assert.False(body.TryGetProperty("grantedBy", out _));
        Assert.Equal("context.input.amount < 100", body.GetProperty("condition").GetString());
        Assert.Equal(cli.Now.AddHours(2), body.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Contains("delegated by agent parent-bot from grant g-1 (depth 1)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task From_agent_without_parent_grant_is_a_usage_error_before_any_request()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("grants", "create", "child-bot", "--action", "read", "--resource", "*", "--expires", "1h", "--from-agent", "parent-bot");

        Assert.NotEqual(ExitCodes.Success, result.ExitCode);
        Assert.Empty(cli.Handler.Requests);
        Assert.Contains("--parent-grant", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_delegator_sends_the_reason_but_no_actor_and_lists_what_was_revoked()
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/delegators/revoke", HttpStatusCode.OK, RevocationJson);

        var result = await cli.RunAsync("revoke", "delegator", "--principal", "alice", "--reason", "left the company");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        var body = JsonDocument.Parse(cli.Handler.Requests.Single().Body!).RootElement;
        Assert.Equal("alice", body.GetProperty("principal").GetString());
        Assert.False(body.TryGetProperty("actor", out _), "the actor is the token's subject, never a body field");
        Assert.Equal("left the company", body.GetProperty("reason").GetString());
        Assert.Contains("revoked 2 grant(s)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Label_suspension_splits_key_and_value_into_the_path()
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/labels/tier/gold/suspend", HttpStatusCode.OK,
            """{"scope":"label/tier=gold","suspended":true,"changedAt":"2026-11-28T12:00:00Z","changedBy":"ops","reason":"drill","history":[]}""");

        var result = await cli.RunAsync("labels", "suspend", "tier=gold", "--reason", "drill");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Contains("label/tier=gold: SUSPENDED", result.Output, StringComparison.Ordinal);
    }
}
