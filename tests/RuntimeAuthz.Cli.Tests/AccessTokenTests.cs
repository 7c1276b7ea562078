using System.Net;
using Microsoft.Extensions.Time.Testing;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Tests;

/// <summary>The SDK's token sources, the bearer header, and 401/403 as <see cref="AuthzApiException"/>.</summary>
public sealed class AccessTokenTests
{
    private static readonly Uri Service = new("http://authz.test:5080");

    private static ScriptedHandler CountingDevIssuer(int expiresIn)
    {
        var handler = new ScriptedHandler();
        var issued = 0;
        handler.On("POST", "/dev/token", _ => ScriptedHandler.Respond(HttpStatusCode.OK, $$"""{"access_token":"t{{++issued}}","token_type":"Bearer","expires_in":{{expiresIn}}}"""));
        return handler;
    }

    [Fact]
    public async Task A_token_is_reused_until_shortly_before_it_expires()
    {
        var handler = CountingDevIssuer(expiresIn: 3600);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
        var source = new DevelopmentTokenSource(new HttpClient(handler), Service, DevelopmentIdentity.Admin, time);

        var first = await source.GetTokenAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(3600) - CachingTokenSource.RefreshMargin - TimeSpan.FromSeconds(1));
        var cached = await source.GetTokenAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(2));
        var refreshed = await source.GetTokenAsync(CancellationToken.None);

        Assert.Equal("t1", first.Value);
        Assert.Equal(time.Start.AddHours(1), first.ExpiresAt);
        Assert.Equal("t1", cached.Value);
        Assert.Equal("t2", refreshed.Value);
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task A_short_lived_token_is_refreshed_after_half_its_lifetime_not_on_every_call()
    {
        var handler = CountingDevIssuer(expiresIn: 40);
        var time = new FakeTimeProvider();
        var source = new DevelopmentTokenSource(new HttpClient(handler), Service, DevelopmentIdentity.Admin, time);

        await source.GetTokenAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(19));
        Assert.Equal("t1", (await source.GetTokenAsync(CancellationToken.None)).Value);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("t2", (await source.GetTokenAsync(CancellationToken.None)).Value);
    }

    [Fact]
    public async Task Concurrent_callers_share_one_fetch()
    {
        var handler = CountingDevIssuer(expiresIn: 3600);
        var source = new DevelopmentTokenSource(new HttpClient(handler), Service, DevelopmentIdentity.Admin);

        var tokens = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => source.GetTokenAsync(CancellationToken.None).AsTask()));

        Assert.All(tokens, token => Assert.Equal("t1", token.Value));
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task The_client_sends_the_token_except_to_health_and_discovery()
    {
        var handler = new ScriptedHandler()
            .On("GET", "/v1/agents", HttpStatusCode.OK, """{"agents":[]}""")
            .On("GET", "/health/live", HttpStatusCode.OK, "Healthy", "text/plain")
            .On("GET", "/.well-known/authzen-configuration", HttpStatusCode.OK, """{"policy_decision_point":"http://authz.test:5080","access_evaluation_endpoint":"http://authz.test:5080/access/v1/evaluation"}""");
        using var client = new AuthzClient(new HttpClient(handler) { BaseAddress = Service }, new StaticTokenSource("secret-token"));

        await client.ListAgentsAsync();
        await client.GetLivenessAsync();
        await client.GetAuthZenConfigurationAsync();

        Assert.Equal("secret-token", handler.Requests.Single(request => request.Path == "/v1/agents").BearerToken);
        Assert.Null(handler.Requests.Single(request => request.Path == "/health/live").BearerToken);
        Assert.Null(handler.Requests.Single(request => request.Path == "/.well-known/authzen-configuration").BearerToken);
    }

    [Fact]
    public async Task Unauthorized_without_a_body_takes_its_detail_from_WWW_Authenticate()
    {
        var handler = new ScriptedHandler().On("GET", "/v1/agents", _ =>
        {
            var response = ScriptedHandler.Respond(HttpStatusCode.Unauthorized, "");
            response.Headers.WwwAuthenticate.ParseAdd("Bearer error=\"invalid_token\", error_description=\"The audience 'other' is invalid\"");
            return response;
        });
        using var client = new AuthzClient(new HttpClient(handler) { BaseAddress = Service }, new StaticTokenSource("t"));

        var refused = await Assert.ThrowsAsync<AuthzApiException>(() => client.ListAgentsAsync());

        Assert.True(refused.IsUnauthorized);
        Assert.Equal(401, refused.Status);
        Assert.Equal("The audience 'other' is invalid", refused.Detail);
    }

    [Fact]
    public async Task Forbidden_carries_the_missing_permission()
    {
        var handler = new ScriptedHandler().On("POST", "/v1/policies", HttpStatusCode.Forbidden,
            """{"title":"Forbidden","status":403,"detail":"requires permission 'policies:publish' (roles: governance, admin)"}""", "application/problem+json");
        using var client = new AuthzClient(new HttpClient(handler) { BaseAddress = Service }, new StaticTokenSource("t"));

        var refused = await Assert.ThrowsAsync<AuthzApiException>(() => client.PublishPolicyAsync(new PublishPolicyRequest("permit(principal, action, resource);", null)));

        Assert.True(refused.IsForbidden);
        Assert.Equal("requires permission 'policies:publish' (roles: governance, admin)", refused.Detail);
        Assert.DoesNotContain("author", handler.Requests.Single().Body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task WhoAmI_reads_the_callers_identity()
    {
        var handler = new ScriptedHandler().On("GET", "/v1/whoami", HttpStatusCode.OK,
            """{"subject":"agent-demo-agent","issuer":"runtimeauthz-development","roles":["agent"],"agentId":"demo-agent","agents":null,"expiresAt":"2026-11-28T13:00:00Z"}""");
        using var client = new AuthzClient(new HttpClient(handler) { BaseAddress = Service }, new StaticTokenSource("t"));

        var me = await client.WhoAmIAsync();

        Assert.Equal("agent-demo-agent", me.Subject);
        Assert.Equal("runtimeauthz-development", me.Issuer);
        Assert.Equal(["agent"], me.Roles);
        Assert.Equal("demo-agent", me.AgentId);
        Assert.Null(me.Agents);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 13, 0, 0, TimeSpan.Zero), me.ExpiresAt);
    }

    [Fact]
    public void Tokens_do_not_show_up_in_formatted_text()
    {
        var token = new AccessToken("eyJ.secret.sig", new DateTimeOffset(2026, 11, 28, 13, 0, 0, TimeSpan.Zero));

        Assert.DoesNotContain("secret", token.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("secret", $"{new Infrastructure.CliProfile("http://x", "https://i", "c", "eyJ.secret.sig", null)}", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_credentials_source_discovers_the_token_endpoint_and_caches_the_token()
    {
        var handler = new ScriptedHandler()
            .On("GET", "/.well-known/openid-configuration", HttpStatusCode.OK, """{"issuer":"https://login.test","token_endpoint":"https://login.test/connect/token"}""");
        var issued = 0;
        handler.On("POST", "/connect/token", _ => ScriptedHandler.Respond(HttpStatusCode.OK, $$"""{"access_token":"cc{{++issued}}","token_type":"Bearer","expires_in":3600}"""));
        var source = new ClientCredentialsTokenSource(new HttpClient(handler), new Uri("https://login.test"), "fleet-pep", "s3cret", "runtimeauthz");

        var first = await source.GetTokenAsync(CancellationToken.None);
        var second = await source.GetTokenAsync(CancellationToken.None);

        Assert.Equal("cc1", first.Value);
        Assert.Equal("cc1", second.Value);
        var tokenRequest = handler.Requests.Single(request => request.Path == "/connect/token");
        Assert.Contains("grant_type=client_credentials", tokenRequest.Body, StringComparison.Ordinal);
        Assert.Contains("scope=runtimeauthz", tokenRequest.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_cached_token_is_replaced_once_and_the_request_sent_again()
    {
        var handler = CountingDevIssuer(expiresIn: 3600);
        handler.On("GET", "/v1/agents", request => request.BearerToken == "t1"
            ? ScriptedHandler.Respond(HttpStatusCode.Unauthorized, "")
            : ScriptedHandler.Respond(HttpStatusCode.OK, """{"agents":[]}"""));
        using var client = new AuthzClient(new HttpClient(handler) { BaseAddress = Service },
            new DevelopmentTokenSource(new HttpClient(handler), Service, DevelopmentIdentity.Admin));

        var agents = await client.ListAgentsAsync();

        Assert.Empty(agents);
        Assert.Equal(["/dev/token", "/v1/agents", "/dev/token", "/v1/agents"], handler.Requests.Select(request => request.Path));
    }

    [Fact]
    public async Task A_token_refused_again_after_a_fresh_fetch_is_reported_not_retried_forever()
    {
        var handler = CountingDevIssuer(expiresIn: 3600).On("GET", "/v1/agents", HttpStatusCode.Unauthorized, "");
        using var client = new AuthzClient(new HttpClient(handler) { BaseAddress = Service },
            new DevelopmentTokenSource(new HttpClient(handler), Service, DevelopmentIdentity.Admin));

        var refused = await Assert.ThrowsAsync<AuthzApiException>(() => client.ListAgentsAsync());

        Assert.True(refused.IsUnauthorized);
        Assert.Equal(2, handler.Requests.Count(request => request.Path == "/v1/agents"));
    }

    [Fact]
    public async Task A_static_token_that_is_refused_is_not_retried()
    {
        var handler = new ScriptedHandler().On("GET", "/v1/agents", HttpStatusCode.Unauthorized, "");
        using var client = new AuthzClient(new HttpClient(handler) { BaseAddress = Service }, new StaticTokenSource("t"));

        await Assert.ThrowsAsync<AuthzApiException>(() => client.ListAgentsAsync());

        Assert.Single(handler.Requests);
    }
}
