using System.Net;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

/// <summary>Which token the CLI sends, and the one-line errors when there is none or it is refused.</summary>
public sealed class TokenSourcingTests
{
    private const string DevToken = """{"access_token":"dev-token","token_type":"Bearer","expires_in":3600}""";

    private static CliHarness WithAgentsList()
    {
        var cli = new CliHarness();
        cli.Handler
            .On("GET", "/v1/agents", HttpStatusCode.OK, """{"agents":[]}""")
            .On("POST", "/dev/token", HttpStatusCode.OK, DevToken);
        return cli;
    }

    private static void SaveProfile(CliHarness cli, string url, string token, DateTimeOffset? expiresAt = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(cli.ProfilePath)!);
        File.WriteAllText(cli.ProfilePath, JsonSerializer.Serialize(new
        {
            url,
            issuer = "https://login.example.com",
            clientId = "ops-cli",
            token,
            expiresAt = expiresAt ?? cli.Now.AddHours(1),
        }));
    }

    private static string? SentToken(CliHarness cli) => cli.Handler.Requests.Last(request => request.Path == "/v1/agents").BearerToken;

    [Fact]
    public async Task Token_option_beats_AUTHZ_TOKEN_beats_the_profile_beats_the_development_issuer()
    {
        using var cli = WithAgentsList();
        SaveProfile(cli, "http://127.0.0.1:5080", "profile-token");
        cli.Variables["AUTHZ_TOKEN"] = "env-token";

        Assert.Equal(ExitCodes.Success, (await cli.RunAsync("agents", "list", "--token", "option-token")).ExitCode);
        Assert.Equal("option-token", SentToken(cli));

        Assert.Equal(ExitCodes.Success, (await cli.RunAsync("agents", "list")).ExitCode);
        Assert.Equal("env-token", SentToken(cli));

        cli.Variables.Remove("AUTHZ_TOKEN");
        Assert.Equal(ExitCodes.Success, (await cli.RunAsync("agents", "list")).ExitCode);
        Assert.Equal("profile-token", SentToken(cli));

        File.Delete(cli.ProfilePath);
        Assert.Equal(ExitCodes.Success, (await cli.RunAsync("agents", "list")).ExitCode);
        Assert.Equal("dev-token", SentToken(cli));
        Assert.Single(cli.Handler.Requests, request => request.Path == "/dev/token");
    }

    [Theory]
    [InlineData(null, "dev-admin", new[] { "admin" }, null, null)]
    [InlineData("governance", "dev-governance", new[] { "governance" }, null, null)]
    [InlineData("approver", "dev-approver", new[] { "approver" }, null, null)]
    [InlineData("agent:demo-agent", "agent-demo-agent", new[] { "agent" }, "demo-agent", null)]
    [InlineData("pep:demo-agent,intern-bot", "dev-pep", new[] { "pep" }, null, "demo-agent,intern-bot")]
    [InlineData("pep:*", "dev-pep", new[] { "pep" }, null, "*")]
    public async Task As_picks_the_development_identity(string? who, string subject, string[] roles, string? agentId, string? agents)
    {
        using var cli = WithAgentsList();
        cli.Variables.Remove("AUTHZ_TOKEN");

        var result = who is null ? await cli.RunAsync("agents", "list") : await cli.RunAsync("--as", who, "agents", "list");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        var body = JsonDocument.Parse(cli.Handler.Requests.Single(request => request.Path == "/dev/token").Body!).RootElement;
        Assert.Equal(subject, body.GetProperty("subject").GetString());
        Assert.Equal(roles, body.GetProperty("roles").EnumerateArray().Select(role => role.GetString()));
        Assert.Equal(agentId, body.TryGetProperty("agentId", out var agent) ? agent.GetString() : null);
        Assert.Equal(agents, body.TryGetProperty("agents", out var list) ? string.Join(',', list.EnumerateArray().Select(item => item.GetString())) : null);
        Assert.Equal("dev-token", SentToken(cli));
    }

    [Fact]
    public async Task AUTHZ_AS_picks_the_identity_when_as_is_not_given()
    {
        using var cli = WithAgentsList();
        cli.Variables.Remove("AUTHZ_TOKEN");
        cli.Variables["AUTHZ_AS"] = "auditor";

        await cli.RunAsync("agents", "list");

        Assert.Contains("\"subject\":\"dev-auditor\"", cli.Handler.Requests.Single(request => request.Path == "/dev/token").Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("root", "'root' is not a development identity")]
    [InlineData("agent:", "names one agent")]
    [InlineData("agent:a,b", "names one agent")]
    [InlineData("pep:", "names the agents it acts for")]
    [InlineData("governance:x", "'governance:x' is not a development identity")]
    public async Task A_bad_as_value_is_a_one_line_error_before_any_request(string who, string expected)
    {
        using var cli = WithAgentsList();
        cli.Variables.Remove("AUTHZ_TOKEN");

        var result = await cli.RunAsync("--as", who, "agents", "list");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith("error: --as: ", result.Error, StringComparison.Ordinal);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task A_bad_AUTHZ_AS_is_reported_under_its_name()
    {
        using var cli = WithAgentsList();
        cli.Variables.Remove("AUTHZ_TOKEN");
        cli.Variables["AUTHZ_AS"] = "superuser";

        var result = await cli.RunAsync("agents", "list");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith("error: AUTHZ_AS: 'superuser' is not a development identity", result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task As_together_with_a_configured_token_is_refused_rather_than_silently_ignored()
    {
        using var cli = WithAgentsList();

        var result = await cli.RunAsync("--as", "governance", "agents", "list");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains("--as picks a development identity, but a token is configured (AUTHZ_TOKEN)", result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task A_silo_without_a_development_issuer_gives_the_login_hint()
    {
        using var cli = new CliHarness();
        cli.Variables.Remove("AUTHZ_TOKEN");
        cli.Handler.On("GET", "/v1/agents", HttpStatusCode.OK, """{"agents":[]}""");

        var result = await cli.RunAsync("agents", "list");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Equal(
            "not authenticated: no token configured and http://127.0.0.1:5080 has no development issuer (POST /dev/token answered 404); use authz login, --token or AUTHZ_TOKEN",
            result.Error.Trim());
        Assert.DoesNotContain(cli.Handler.Requests, request => request.Path == "/v1/agents");
    }

    [Fact]
    public async Task A_development_issuer_that_refuses_the_identity_says_why()
    {
        using var cli = new CliHarness();
        cli.Variables.Remove("AUTHZ_TOKEN");
        cli.Handler.On("POST", "/dev/token", HttpStatusCode.BadRequest, """{"title":"Bad Request","status":400,"detail":"unknown role 'pep'"}""", "application/problem+json");

        var result = await cli.RunAsync("--as", "pep:*", "agents", "list");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains("the development issuer refused a token for dev-pep: Bad Request (400): unknown role 'pep'", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ not json", "is not valid JSON")]
    [InlineData("""{"url":"http://127.0.0.1:5080"}""", "has no url or token")]
    [InlineData("[]", "is not valid JSON")]
    public async Task A_bad_profile_file_is_an_error_naming_the_file(string content, string expected)
    {
        using var cli = WithAgentsList();
        cli.Variables.Remove("AUTHZ_TOKEN");
        Directory.CreateDirectory(Path.GetDirectoryName(cli.ProfilePath)!);
        File.WriteAllText(cli.ProfilePath, content);

        var result = await cli.RunAsync("agents", "list");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith($"error: profile {cli.ProfilePath} {expected}", result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task An_expired_profile_token_is_not_sent_and_names_the_profile()
    {
        using var cli = WithAgentsList();
        cli.Variables.Remove("AUTHZ_TOKEN");
        SaveProfile(cli, "http://127.0.0.1:5080", "old-token", cli.Now.AddMinutes(-5));

        var result = await cli.RunAsync("agents", "list");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Equal($"not authenticated: the token saved in {cli.ProfilePath} expired at 2026-11-28 11:55:00Z; use authz login, --token or AUTHZ_TOKEN", result.Error.Trim());
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task The_profile_token_goes_only_to_the_service_it_was_made_for()
    {
        using var cli = WithAgentsList();
        cli.Variables.Remove("AUTHZ_TOKEN");
        SaveProfile(cli, "https://authz.prod.example.com", "prod-token");

        await cli.RunAsync("agents", "list");
        Assert.Equal("https://authz.prod.example.com/", cli.AddressesUsed.Last());
        Assert.Equal("prod-token", SentToken(cli));

        await cli.RunAsync("agents", "list", "--url", "http://127.0.0.1:5080");
        Assert.Equal("dev-token", SentToken(cli));
        Assert.DoesNotContain(cli.Handler.Requests, request => request.Url.Host == "127.0.0.1" && request.BearerToken == "prod-token");
    }

    [Fact]
    public async Task A_refused_token_is_one_line_naming_its_source_and_the_servers_reason()
    {
        using var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agents", _ =>
        {
            var response = ScriptedHandler.Respond(HttpStatusCode.Unauthorized, "");
            response.Headers.WwwAuthenticate.ParseAdd("Bearer error=\"invalid_token\", error_description=\"The token expired at '11/28/2026 11:00:00'\"");
            return response;
        });

        var result = await cli.RunAsync("agents", "list");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Equal(
            "not authenticated: the service refused the token from AUTHZ_TOKEN (The token expired at '11/28/2026 11:00:00'); use authz login, --token or AUTHZ_TOKEN",
            result.Error.Trim());
        Assert.DoesNotContain(CliHarness.Token, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forbidden_is_one_line_with_the_servers_detail()
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/agents/demo-agent/status", HttpStatusCode.Forbidden,
            """{"title":"Forbidden","status":403,"detail":"requires permission 'agents:suspend' (roles: governance, responder, admin)"}""", "application/problem+json");

        var result = await cli.RunAsync("agents", "suspend", "demo-agent");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Equal("forbidden: requires permission 'agents:suspend' (roles: governance, responder, admin)", result.Error.Trim());
    }

    [Fact]
    public async Task Health_needs_no_token()
    {
        using var cli = new CliHarness();
        cli.Variables.Remove("AUTHZ_TOKEN");
        cli.Handler.On("GET", "/health/live", HttpStatusCode.OK, "Healthy", "text/plain").On("GET", "/health/ready", HttpStatusCode.OK, "Healthy", "text/plain");

        var result = await cli.RunAsync("health");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.All(cli.Handler.Requests, request => Assert.Null(request.BearerToken));
        Assert.DoesNotContain(cli.Handler.Requests, request => request.Path == "/dev/token");
    }

    [Theory]
    [InlineData("agents", "suspend", "demo-agent", "--actor", "bob")]
    [InlineData("agents", "delegate", "demo-agent", "--action", "read", "--resource", "*", "--expires", "1h", "--granted-by", "bob")]
    [InlineData("grants", "create", "demo-agent", "--action", "read", "--resource", "*", "--expires", "1h", "--granted-by", "bob")]
    [InlineData("grants", "revoke", "demo-agent", "g-1", "--reason", "r", "--actor", "bob")]
    [InlineData("grants", "elevate", "s-1", "--action", "read", "--resource", "*", "--for", "5m", "--granted-by", "bob")]
    [InlineData("revoke", "agent", "demo-agent", "--reason", "r", "--actor", "bob")]
    [InlineData("revoke", "delegator", "--principal", "alice", "--reason", "r", "--actor", "bob")]
    [InlineData("fleets", "suspend", "research", "--reason", "r", "--actor", "bob")]
    [InlineData("labels", "reactivate", "env=test", "--reason", "r", "--actor", "bob")]
    [InlineData("policies", "rollback", "1", "--author", "bob")]
    public async Task Options_that_named_the_actor_are_gone(params string[] args)
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync(args);

        Assert.NotEqual(ExitCodes.Success, result.ExitCode);
        Assert.Contains(args[^2], result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Handler.Requests);
    }
}
