using System.Net;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

/// <summary><c>authz login</c> (client credentials and device code), <c>logout</c> and <c>whoami</c> against a scripted issuer.</summary>
public sealed class LoginTests
{
    private const string Discovery = """
        {"issuer":"https://login.test","token_endpoint":"https://login.test/connect/token",
         "device_authorization_endpoint":"https://login.test/connect/device","jwks_uri":"https://login.test/.well-known/jwks"}
        """;

    private const string IssuedToken = """{"access_token":"issued.jwt.token","token_type":"Bearer","expires_in":1800}""";

    private static CliHarness WithIssuer(string discovery = Discovery)
    {
        var cli = new CliHarness();
        cli.Variables.Remove("AUTHZ_TOKEN");
        cli.Handler.On("GET", "/.well-known/openid-configuration", HttpStatusCode.OK, discovery);
        return cli;
    }

    private static string[] Login(params string[] extra) => ["login", "--issuer", "https://login.test", "--client-id", "ops-cli", .. extra];

    /// <summary>Token endpoint answers in turn (the last one repeats).</summary>
    private static void TokenEndpointAnswers(CliHarness cli, params (HttpStatusCode Status, string Body)[] answers)
    {
        var next = 0;
        cli.Handler.On("POST", "/connect/token", _ =>
        {
            var (status, body) = answers[Math.Min(next++, answers.Length - 1)];
            return ScriptedHandler.Respond(status, body);
        });
    }

    private static (HttpStatusCode, string) OAuthError(string error) => (HttpStatusCode.BadRequest, $$"""{"error":"{{error}}"}""");

    [Fact]
    public async Task Client_credentials_login_saves_a_private_profile_and_never_prints_the_token_or_secret()
    {
        using var cli = WithIssuer();
        TokenEndpointAnswers(cli, (HttpStatusCode.OK, IssuedToken));
        var secretFile = Path.Combine(Path.GetDirectoryName(cli.ProfilePath)!, "..", "secret.txt");
        File.WriteAllText(secretFile, "s3cret-value\n");

        var result = await cli.RunAsync(Login("--client-secret-file", secretFile, "--scope", "runtimeauthz", "--url", "https://authz.example.com"));

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal($"logged in at https://login.test as client ops-cli for https://authz.example.com; the token expires 2026-11-28 12:30:00Z (in 30m); saved to {cli.ProfilePath}", result.Output.Trim());
        var tokenRequest = cli.Handler.Requests.Single(request => request.Path == "/connect/token");
        Assert.Contains("grant_type=client_credentials", tokenRequest.Body, StringComparison.Ordinal);
        Assert.Contains("scope=runtimeauthz", tokenRequest.Body, StringComparison.Ordinal);
        Assert.True(tokenRequest.Body!.Contains("client_secret=s3cret-value", StringComparison.Ordinal) || tokenRequest.Headers.ContainsKey("Authorization"));
        var profile = JsonDocument.Parse(File.ReadAllText(cli.ProfilePath)).RootElement;
        Assert.Equal("https://authz.example.com", profile.GetProperty("url").GetString());
        Assert.Equal("https://login.test", profile.GetProperty("issuer").GetString());
        Assert.Equal("ops-cli", profile.GetProperty("clientId").GetString());
        Assert.Equal("issued.jwt.token", profile.GetProperty("token").GetString());
        Assert.Equal(cli.Now.AddMinutes(30), profile.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.DoesNotContain("s3cret", File.ReadAllText(cli.ProfilePath), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(cli.ProfilePath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(cli.ProfilePath)!));
        }
        Assert.DoesNotContain("issued.jwt.token", result.Output + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", result.Output + result.Error, StringComparison.Ordinal);

        // The saved token is what later commands send, to the service it was made for.
        cli.Handler.On("GET", "/v1/agents", HttpStatusCode.OK, """{"agents":[]}""");
        Assert.Equal(ExitCodes.Success, (await cli.RunAsync("agents", "list")).ExitCode);
        var used = cli.Handler.Requests.Last();
        Assert.Equal("issued.jwt.token", used.BearerToken);
        Assert.Equal("authz.example.com", used.Url.Host);
    }

    [Fact]
    public async Task The_secret_can_come_from_AUTHZ_CLIENT_SECRET_or_standard_input()
    {
        using var cli = WithIssuer();
        TokenEndpointAnswers(cli, (HttpStatusCode.OK, IssuedToken));

        cli.Variables["AUTHZ_CLIENT_SECRET"] = "from-env";
        Assert.Equal(ExitCodes.Success, (await cli.RunAsync(Login())).ExitCode);
        cli.Variables.Remove("AUTHZ_CLIENT_SECRET");
        cli.StandardInput = "from-stdin\n";
        Assert.Equal(ExitCodes.Success, (await cli.RunAsync(Login())).ExitCode);

        var sent = cli.Handler.Requests.Where(request => request.Path == "/connect/token").Select(SentSecret).ToArray();
        Assert.Equal(["from-env", "from-stdin"], sent);
    }

    private static string SentSecret(RecordedRequest request)
    {
        if (request.Headers.TryGetValue("Authorization", out var basic))
        {
            var pair = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(basic["Basic ".Length..]));
            return Uri.UnescapeDataString(pair[(pair.IndexOf(':', StringComparison.Ordinal) + 1)..]);
        }
        return System.Web.HttpUtility.ParseQueryString(request.Body!)["client_secret"]!;
    }

    [Fact]
    public async Task Without_a_secret_login_says_where_to_put_it_and_sends_nothing()
    {
        using var cli = WithIssuer();

        var result = await cli.RunAsync(Login());

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains("login needs the client secret: --client-secret-file <path>, $AUTHZ_CLIENT_SECRET, or on standard input", result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Handler.Requests);
        Assert.False(File.Exists(cli.ProfilePath));
    }

    [Fact]
    public async Task A_bare_client_secret_option_is_not_accepted()
    {
        using var cli = WithIssuer();

        var result = await cli.RunAsync(Login("--client-secret", "visible-in-ps"));

        Assert.NotEqual(ExitCodes.Success, result.ExitCode);
        Assert.Empty(cli.Handler.Requests);
    }

    [Theory]
    [InlineData("--client-secret-file", "/nonexistent/secret", "--client-secret-file: file not found: /nonexistent/secret")]
    [InlineData("--issuer", "login.test", "--issuer: 'login.test' is not an http(s) address")]
    [InlineData("--issuer", "ftp://login.test", "--issuer: 'ftp://login.test' is not an http(s) address")]
    public async Task Bad_login_input_is_a_one_line_error(string option, string value, string expected)
    {
        using var cli = WithIssuer();
        string[] args = option == "--issuer"
            ? ["login", "--issuer", value, "--client-id", "ops-cli"]
            : [.. Login(), option, value];

        var result = await cli.RunAsync(args);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task An_empty_secret_file_or_client_id_is_refused_before_any_token_request()
    {
        using var cli = WithIssuer();
        var empty = Path.Combine(Path.GetTempPath(), $"authz-empty-secret-{Guid.NewGuid():N}");
        File.WriteAllText(empty, "\n");
        try
        {
            var emptySecret = await cli.RunAsync(Login("--client-secret-file", empty));
            var blankClient = await cli.RunAsync("login", "--issuer", "https://login.test", "--client-id", "  ");

            Assert.Equal(ExitCodes.Error, emptySecret.ExitCode);
            Assert.Equal($"error: --client-secret-file: {empty} is empty", emptySecret.Error.Trim());
            Assert.Equal(ExitCodes.Error, blankClient.ExitCode);
            Assert.Equal("error: --client-id must not be empty", blankClient.Error.Trim());
            Assert.Empty(cli.Handler.Requests);
        }
        finally
        {
            File.Delete(empty);
        }
    }

    [Fact]
    public async Task An_unknown_issuer_is_refused_at_discovery()
    {
        using var cli = new CliHarness();
        cli.Variables["AUTHZ_CLIENT_SECRET"] = "s";

        var result = await cli.RunAsync("login", "--issuer", "https://nowhere.test", "--client-id", "ops-cli");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith("error: login failed: cannot use issuer https://nowhere.test: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("404", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(cli.ProfilePath));
    }

    [Fact]
    public async Task A_discovery_document_naming_another_issuer_is_refused()
    {
        using var cli = WithIssuer(Discovery.Replace("\"issuer\":\"https://login.test\"", "\"issuer\":\"https://evil.test\"", StringComparison.Ordinal));
        cli.Variables["AUTHZ_CLIENT_SECRET"] = "s";

        var result = await cli.RunAsync(Login());

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith("error: login failed: cannot use issuer https://login.test: ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(cli.Handler.Requests, request => request.Path == "/connect/token");
    }

    [Fact]
    public async Task Invalid_client_is_reported_with_the_issuers_words_and_nothing_is_saved()
    {
        using var cli = WithIssuer();
        cli.Variables["AUTHZ_CLIENT_SECRET"] = "wrong";
        TokenEndpointAnswers(cli, (HttpStatusCode.Unauthorized, """{"error":"invalid_client","error_description":"The client credentials are invalid."}"""));

        var result = await cli.RunAsync(Login());

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Equal("error: login failed: issuer https://login.test refused the client credentials: invalid_client: The client credentials are invalid.", result.Error.Trim());
        Assert.False(File.Exists(cli.ProfilePath));
    }

    [Fact]
    public async Task Device_login_shows_the_code_and_polls_per_RFC_8628()
    {
        using var cli = WithIssuer();
        cli.Handler.On("POST", "/connect/device", HttpStatusCode.OK, """
            {"device_code":"dev-code-1","user_code":"WDJB-MJHT","verification_uri":"https://login.test/device",
             "verification_uri_complete":"https://login.test/device?user_code=WDJB-MJHT","expires_in":600,"interval":5}
            """);
        TokenEndpointAnswers(cli, OAuthError("authorization_pending"), OAuthError("slow_down"), OAuthError("authorization_pending"), (HttpStatusCode.OK, IssuedToken));

        var result = await cli.RunAsync(Login("--device"));

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Contains("To sign in, open https://login.test/device and enter the code WDJB-MJHT", result.Error, StringComparison.Ordinal);
        Assert.Contains("(or open https://login.test/device?user_code=WDJB-MJHT)", result.Error, StringComparison.Ordinal);
        // 5 s between polls, 5 s more after slow_down.
        Assert.Equal([5, 5, 10, 10], cli.Delays.Select(delay => delay.TotalSeconds));
        var polls = cli.Handler.Requests.Where(request => request.Path == "/connect/token").ToArray();
        Assert.Equal(4, polls.Length);
        Assert.All(polls, poll => Assert.Contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code", poll.Body, StringComparison.Ordinal));
        Assert.All(polls, poll => Assert.Contains("device_code=dev-code-1", poll.Body, StringComparison.Ordinal));
        Assert.Equal("issued.jwt.token", JsonDocument.Parse(File.ReadAllText(cli.ProfilePath)).RootElement.GetProperty("token").GetString());
        Assert.DoesNotContain("dev-code-1", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("expired_token", "the device code expired before sign-in finished (expired_token)")]
    [InlineData("access_denied", "sign-in was refused at https://login.test (access_denied)")]
    public async Task Device_login_stops_on_expired_token_and_access_denied(string error, string expected)
    {
        using var cli = WithIssuer();
        cli.Handler.On("POST", "/connect/device", HttpStatusCode.OK, """{"device_code":"d","user_code":"U","verification_uri":"https://login.test/device","expires_in":600,"interval":1}""");
        TokenEndpointAnswers(cli, OAuthError("authorization_pending"), OAuthError(error));

        var result = await cli.RunAsync(Login("--device"));

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains($"error: login failed: {expected}", result.Error, StringComparison.Ordinal);
        Assert.Equal(2, cli.Handler.Requests.Count(request => request.Path == "/connect/token"));
        Assert.False(File.Exists(cli.ProfilePath));
    }

    [Fact]
    public async Task Device_login_gives_up_when_the_code_lifetime_is_over_even_if_the_issuer_keeps_saying_pending()
    {
        using var cli = WithIssuer();
        cli.Handler.On("POST", "/connect/device", HttpStatusCode.OK, """{"device_code":"d","user_code":"U","verification_uri":"https://login.test/device","expires_in":12,"interval":5}""");
        TokenEndpointAnswers(cli, OAuthError("authorization_pending"));

        var result = await cli.RunAsync(Login("--device"));

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains("the device code expired before sign-in finished", result.Error, StringComparison.Ordinal);
        Assert.Equal(2, cli.Handler.Requests.Count(request => request.Path == "/connect/token"));
    }

    [Fact]
    public async Task Device_login_needs_an_issuer_that_offers_it()
    {
        using var cli = WithIssuer("""{"issuer":"https://login.test","token_endpoint":"https://login.test/connect/token"}""");

        var result = await cli.RunAsync(Login("--device"));

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains("does not offer device sign-in (its discovery document names no device_authorization_endpoint)", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logout_removes_the_profile_and_says_so_when_there_is_none()
    {
        using var cli = WithIssuer();
        Directory.CreateDirectory(Path.GetDirectoryName(cli.ProfilePath)!);
        File.WriteAllText(cli.ProfilePath, """{"url":"http://127.0.0.1:5080","issuer":"https://login.test","clientId":"c","token":"t"}""");

        var first = await cli.RunAsync("logout");
        var second = await cli.RunAsync("logout");

        Assert.Equal($"logged out: removed {cli.ProfilePath}", first.Output.Trim());
        Assert.False(File.Exists(cli.ProfilePath));
        Assert.Equal(ExitCodes.Success, second.ExitCode);
        Assert.Equal($"not logged in: {cli.ProfilePath} does not exist", second.Output.Trim());
    }

    [Fact]
    public async Task Whoami_shows_subject_issuer_roles_agent_expiry_and_the_token_source_but_not_the_token()
    {
        using var cli = new CliHarness();
        cli.Variables.Remove("AUTHZ_TOKEN");
        cli.Handler
            .On("POST", "/dev/token", HttpStatusCode.OK, """{"access_token":"agent.jwt","token_type":"Bearer","expires_in":3600}""")
            .On("GET", "/v1/whoami", HttpStatusCode.OK,
                """{"subject":"agent-demo-agent","issuer":"runtimeauthz-development","roles":["agent"],"agentId":"demo-agent","expiresAt":"2026-11-28T13:00:00Z"}""");

        var result = await cli.RunAsync("--as", "agent:demo-agent", "whoami");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal(
            [
                "Subject     agent-demo-agent",
                "Issuer      runtimeauthz-development",
                "Roles       agent",
                "Agent       demo-agent",
                "Acts for    -",
                "Expires     2026-11-28 13:00:00Z (in 1h)",
                "Token from  development issuer (--as agent:demo-agent)",
            ],
            result.OutputLines);
        Assert.Equal("agent.jwt", cli.Handler.Requests.Single(request => request.Path == "/v1/whoami").BearerToken);
        Assert.DoesNotContain("agent.jwt", result.Output, StringComparison.Ordinal);
    }
}
