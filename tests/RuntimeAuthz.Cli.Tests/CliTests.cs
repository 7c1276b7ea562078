using System.Net;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

public sealed class CliTests
{
    private static CliHarness WithShortSessions(string outcome, string? denyReason = null)
    {
        var cli = new CliHarness();
        cli.Handler
            .On("POST", "/v1/sessions", HttpStatusCode.Created, Samples.Session)
            .On("POST", "/v1/sessions/s-42/decisions", HttpStatusCode.OK, Samples.Decision(outcome, denyReason))
            .On("POST", "/v1/sessions/s-42/close", HttpStatusCode.OK, Samples.Session.Replace("\"open\"", "\"closed\"", StringComparison.Ordinal));
        return cli;
    }

    [Theory]
    [InlineData("Allow", ExitCodes.Success, "ALLOW")]
    [InlineData("Deny", ExitCodes.Deny, "DENY")]
    [InlineData("ApprovalRequired", ExitCodes.ApprovalRequired, "APPROVAL REQUIRED")]
    public async Task Check_maps_the_outcome_to_the_exit_code(string outcome, int exitCode, string headline)
    {
        using var cli = WithShortSessions(outcome);

        var result = await cli.RunAsync("check", "--agent", "billing-bot", "--action", "refund", "--resource", "Invoice::\"inv-7\"");

        Assert.Equal(exitCode, result.ExitCode);
        Assert.StartsWith($"{headline}  billing-bot refund Invoice::\"inv-7\"", result.Output, StringComparison.Ordinal);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task Check_without_a_session_opens_a_short_one_decides_and_closes_it()
    {
        using var cli = WithShortSessions("Deny", "no-delegation");

        var result = await cli.RunAsync("check", "--agent", "billing-bot", "--action", "refund", "--resource", "Invoice::\"inv-7\"",
            "--context", """{"channel":"chat"}""", "--input", """{"amount": 120}""");

        Assert.Equal(ExitCodes.Deny, result.ExitCode);
        Assert.Contains("reason: no-delegation", result.Output, StringComparison.Ordinal);
        Assert.Equal(["POST /v1/sessions", "POST /v1/sessions/s-42/decisions", "POST /v1/sessions/s-42/close"],
            cli.Handler.Requests.Select(request => $"{request.Method} {request.Path}"));
        var open = JsonDocument.Parse(cli.Handler.Requests[0].Body!).RootElement;
        Assert.Equal("billing-bot", open.GetProperty("agentId").GetString());
        Assert.True(open.GetProperty("lifetimeSeconds").GetInt32() <= 300, "the throwaway session must be short-lived");
        var decide = JsonDocument.Parse(cli.Handler.Requests[1].Body!).RootElement;
        Assert.Equal("chat", decide.GetProperty("context").GetProperty("channel").GetString());
        Assert.Equal(120, decide.GetProperty("input").GetProperty("amount").GetInt32());
        Assert.Equal("inv-7", decide.GetProperty("resource").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Check_shows_the_risk_the_decision_added()
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/sessions/s-42/decisions", HttpStatusCode.OK,
            Samples.Decision("Allow").Replace("\"policyVersion\":3,", "\"policyVersion\":3,\"riskAdded\":5,\"cumulativeRisk\":17,", StringComparison.Ordinal));

        var result = await cli.RunAsync("check", "--session", "s-42", "--action", "search_web", "--resource", "WebSearch::\"q\"");

        Assert.Contains("risk +5 (session total 17)", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HttpStatusCode.Conflict, "suspended", "agent-suspended")]
    [InlineData(HttpStatusCode.Conflict, "revoked", "agent-revoked")]
    [InlineData(HttpStatusCode.NotFound, null, "unknown-agent")]
    public async Task Check_denies_when_the_agent_cannot_open_a_session(HttpStatusCode refusal, string? status, string reason)
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/sessions", refusal, """{"title":"refused","status":409,"detail":"agent 'billing-bot' cannot open a session"}""", "application/problem+json");
        if (status is not null)
        {
            cli.Handler.On("GET", "/v1/agents/billing-bot", HttpStatusCode.OK, Samples.Agent.Replace("\"active\"", $"\"{status}\"", StringComparison.Ordinal));
        }

        var result = await cli.RunAsync("check", "--agent", "billing-bot", "--action", "refund", "--resource", "Invoice::\"inv-7\"");

        Assert.Equal(ExitCodes.Deny, result.ExitCode);
        Assert.StartsWith("DENY  billing-bot refund", result.Output, StringComparison.Ordinal);
        Assert.Contains($"reason: {reason}", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(cli.Handler.Requests, request => request.Path.EndsWith("/decisions", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_by_an_agent_that_may_not_read_agent_records_still_denies_when_its_session_is_refused()
    {
        using var cli = new CliHarness();
        cli.Handler
            .On("POST", "/v1/sessions", HttpStatusCode.Conflict, """{"title":"refused","status":409,"detail":"agent 'billing-bot' is revoked"}""", "application/problem+json")
            .On("GET", "/v1/agents/billing-bot", HttpStatusCode.Forbidden, """{"title":"Forbidden","status":403,"detail":"requires permission 'agents:read'"}""", "application/problem+json");

        var result = await cli.RunAsync("check", "--agent", "billing-bot", "--action", "refund", "--resource", "Invoice::\"inv-7\"");

        Assert.Equal(ExitCodes.Deny, result.ExitCode);
        Assert.Contains("reason: session-refused", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_reports_a_server_failure_as_an_error_not_a_decision()
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/sessions", HttpStatusCode.ServiceUnavailable, """{"title":"Service unavailable","status":503}""", "application/problem+json");

        var result = await cli.RunAsync("check", "--agent", "billing-bot", "--action", "refund", "--resource", "Invoice::\"inv-7\"");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task Evaluate_treats_a_false_decision_as_deny_even_if_the_outcome_claims_allow()
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/access/v1/evaluation", HttpStatusCode.OK, """{"decision":false,"context":{"outcome":"Allow","policy_version":2}}""");

        var result = await cli.RunAsync("evaluate", "--agent", "a", "--session", "s", "--action", "x", "--resource", "Doc::\"d\"");

        Assert.Equal(ExitCodes.Deny, result.ExitCode);
        var body = JsonDocument.Parse(cli.Handler.Requests.Single().Body!).RootElement;
        Assert.Equal("s", body.GetProperty("context").GetProperty("session_id").GetString());
        Assert.Equal("a", body.GetProperty("subject").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Check_with_a_session_decides_in_it_and_leaves_it_open()
    {
        using var cli = WithShortSessions("Allow");

        var result = await cli.RunAsync("check", "--session", "s-42", "--action", "refund", "--resource", "Invoice::\"inv-7\"");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal(["POST /v1/sessions/s-42/decisions"], cli.Handler.Requests.Select(request => $"{request.Method} {request.Path}"));
    }

    [Fact]
    public async Task Check_json_prints_the_decision_and_still_sets_the_exit_code()
    {
        using var cli = WithShortSessions("ApprovalRequired");

        var result = await cli.RunAsync("check", "--json", "--agent", "billing-bot", "--action", "refund", "--resource", "Invoice::\"inv-7\"");

        Assert.Equal(ExitCodes.ApprovalRequired, result.ExitCode);
        var json = JsonDocument.Parse(result.Output).RootElement;
        Assert.Equal("ApprovalRequired", json.GetProperty("outcome").GetString());
        Assert.Equal("dec-1", json.GetProperty("decisionId").GetString());
    }

    [Fact]
    public async Task Check_rejects_bad_json_with_one_line_and_exit_1_without_calling_the_service()
    {
        using var cli = WithShortSessions("Allow");

        var result = await cli.RunAsync("check", "--agent", "a", "--action", "x", "--resource", "Doc::\"d\"", "--input", "{amount: 5");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith("error: --input is not valid JSON", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task Check_needs_an_agent_or_a_session()
    {
        using var cli = WithShortSessions("Allow");

        var result = await cli.RunAsync("check", "--action", "x", "--resource", "Doc::\"d\"");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains("--agent", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_service_gives_one_helpful_line_and_exit_1()
    {
        var port = FreePorts.Next();
        using var cli = CliHarness.Against(new Uri($"http://127.0.0.1:{port}"));

        var result = await cli.RunAsync("agents", "list");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Equal($"cannot reach the authorization service at http://127.0.0.1:{port}: is it running? start it with ./start (connection refused)", result.Error.Trim());
    }

    [Fact]
    public async Task The_address_comes_from_url_then_AUTHZ_URL_then_the_default()
    {
        using var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agents", HttpStatusCode.OK, """{"agents":[]}""");

        await cli.RunAsync("agents", "list");
        cli.Variables["AUTHZ_URL"] = "http://from-env:9000";
        await cli.RunAsync("agents", "list");
        await cli.RunAsync("agents", "list", "--url", "http://from-option:7000");

        Assert.Equal(["http://127.0.0.1:5080/", "http://from-env:9000/", "http://from-option:7000/"], cli.AddressesUsed);
    }

    [Fact]
    public async Task A_bad_url_is_reported_not_thrown()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("agents", "list", "--url", "127.0.0.1:5080");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains("is not an http(s) address", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Agents_list_prints_aligned_columns()
    {
        using var cli = new CliHarness();
        var second = Samples.Agent.Replace("\"billing-bot\"", "\"support-assistant-long-name\"", StringComparison.Ordinal).Replace("\"active\"", "\"suspended\"", StringComparison.Ordinal);
        cli.Handler.On("GET", "/v1/agents", HttpStatusCode.OK, $$"""{"agents":[{{Samples.Agent}},{{second}}]}""");

        var result = await cli.RunAsync("agents", "list");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        var lines = result.OutputLines;
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("ID ", lines[0], StringComparison.Ordinal);
        var nameColumn = lines[0].IndexOf("NAME", StringComparison.Ordinal);
        Assert.All(lines.Skip(1), line => Assert.Equal("Billing bot", line.Substring(nameColumn, "Billing bot".Length)));
        Assert.Contains("suspended", lines[2], StringComparison.Ordinal);
        var statusColumn = lines[0].IndexOf("STATUS", StringComparison.Ordinal);
        Assert.Equal("active", lines[1].Substring(statusColumn, 6));
    }

    [Fact]
    public async Task Json_output_is_the_wire_format()
    {
        using var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agents/billing-bot", HttpStatusCode.OK, Samples.Agent);

        var result = await cli.RunAsync("--json", "agents", "show", "billing-bot");

        var json = JsonDocument.Parse(result.Output).RootElement;
        Assert.Equal("active", json.GetProperty("status").GetString());
        Assert.Equal("d-1", json.GetProperty("delegations")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task Delegate_turns_a_duration_into_an_expiry_and_splits_actions()
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/agents/billing-bot/delegations", HttpStatusCode.Created,
            """{"id":"d-2","actions":["read","refund"],"resources":["Invoice::*"],"grantedBy":"tester","grantedAt":"2026-11-28T12:00:00Z","expiresAt":"2026-11-28T20:00:00Z"}""");

        var result = await cli.RunAsync("agents", "delegate", "billing-bot", "--action", "read,refund", "--resource", "Invoice::*", "--expires", "8h");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        var body = JsonDocument.Parse(cli.Handler.Requests.Single().Body!).RootElement;
        Assert.Equal(["read", "refund"], body.GetProperty("actions").EnumerateArray().Select(item => item.GetString()));
        Assert.Equal(cli.Now.AddHours(8), body.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.False(body.TryGetProperty("grantedBy", out _), "the grantor is the token's subject, never a body field");
        Assert.Contains("delegation d-2 granted to billing-bot", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_reports_policy_errors_against_the_users_files()
    {
        var directory = Directory.CreateTempSubdirectory("authz-cli-test");
        try
        {
            var policyFile = Path.Combine(directory.FullName, "agents.cedar");
            var schemaFile = Path.Combine(directory.FullName, "agents.cedarschema");
            await File.WriteAllTextAsync(policyFile, "permit(principal, action, resource)");
            await File.WriteAllTextAsync(schemaFile, "entity Foo;");
            using var cli = new CliHarness();
            cli.Handler.On("POST", "/v1/policies", HttpStatusCode.BadRequest, Samples.PolicyProblem, "application/problem+json");

            var result = await cli.RunAsync("policy", "publish", policyFile, "--schema", schemaFile, "--note", "tighten refunds");

            Assert.Equal(ExitCodes.Error, result.ExitCode);
            Assert.Contains($"{policyFile}:3:7: expected ';'", result.Error, StringComparison.Ordinal);
            Assert.Contains($"{schemaFile}:1:1: unknown type Foo", result.Error, StringComparison.Ordinal);
            var body = JsonDocument.Parse(cli.Handler.Requests.Single().Body!).RootElement;
            Assert.Equal("entity Foo;", body.GetProperty("schema").GetString());
            Assert.Equal("tighten refunds", body.GetProperty("note").GetString());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Service_errors_print_the_problem_without_a_stack_trace()
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/agents", HttpStatusCode.Conflict, """{"title":"Agent already exists","status":409,"detail":"agent 'a' is already registered"}""", "application/problem+json");

        var result = await cli.RunAsync("agents", "register", "a", "--owner", "o", "--fleet", "f");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Equal("error: Agent already exists (409): agent 'a' is already registered", result.Error.Trim());
    }

    [Fact]
    public async Task Session_show_prints_the_timeline()
    {
        using var cli = new CliHarness();
        var withEvents = Samples.Session.Replace("\"events\":[]", """
            "events":[{"seq":1,"kind":"request","at":"2026-11-28T10:11:00Z","decisionId":"dec-1","action":"refund","resource":"Invoice::\"inv-7\"","outcome":"Allow","policyVersion":3,"reasons":["policy0"]},
                      {"seq":2,"kind":"response","at":"2026-11-28T10:11:02Z","decisionId":"dec-1","action":"refund","resource":"Invoice::\"inv-7\""}]
            """, StringComparison.Ordinal);
        cli.Handler.On("GET", "/v1/sessions/s-42", HttpStatusCode.OK, withEvents);

        var result = await cli.RunAsync("sessions", "show", "s-42");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        var timeline = result.OutputLines.SkipWhile(line => line != "Timeline").Skip(1).ToArray();
        Assert.Equal(3, timeline.Length);
        Assert.Contains("request", timeline[1], StringComparison.Ordinal);
        Assert.Contains("Allow", timeline[1], StringComparison.Ordinal);
        Assert.Contains("v3", timeline[1], StringComparison.Ordinal);
        Assert.Contains("response", timeline[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Policies_list_marks_the_current_version_and_rollbacks()
    {
        using var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/policies", HttpStatusCode.OK, """
            [{"version":3,"author":"bob","note":"undo","publishedAt":"2026-11-28T11:00:00Z","policyCount":2,"rolledBackFrom":1},
             {"version":2,"author":"alice","note":"v2","publishedAt":"2026-11-28T10:30:00Z","policyCount":5},
             {"version":1,"author":"alice","publishedAt":"2026-11-28T10:00:00Z","policyCount":2}]
            """);

        var result = await cli.RunAsync("policies", "list");

        var lines = result.OutputLines;
        Assert.StartsWith("3 (current)", lines[1], StringComparison.Ordinal);
        Assert.Contains("(rollback to v1) undo", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("2 ", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rollback_sends_the_version_number()
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/policies/rollback", HttpStatusCode.Created,
            """{"version":4,"policies":"permit(principal,action,resource);","author":"tester","publishedAt":"2026-11-28T12:00:00Z","policyCount":1,"rolledBackFrom":2}""");

        var result = await cli.RunAsync("policies", "rollback", "v2", "--note", "bad deploy");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        var body = JsonDocument.Parse(cli.Handler.Requests.Single().Body!).RootElement;
        Assert.Equal(2, body.GetProperty("version").GetInt64());
        Assert.False(body.TryGetProperty("author", out _), "the author is the token's subject, never a body field");
    }
}
