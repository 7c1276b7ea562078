using System.Net;
using RuntimeAuthz.Cluster.Tests.Infrastructure;

namespace RuntimeAuthz.Cluster.Tests.Governance;

/// <summary>The governance endpoints on the real silo host: grants, sub-delegation, elevation, revocation, suspension, and their 4xx problems.</summary>
[Collection(ClusterCollection.Name)]
public sealed class GovernanceHttpTests(ClusterEnvironment env)
{
    private static string Future => DateTimeOffset.UtcNow.AddDays(1).ToString("O");

    private static async Task<string> RegisterAsync(HttpClient http, string fleet)
    {
        var id = "http-agent-" + Guid.NewGuid().ToString("N")[..8];
        var reply = await http.PostJsonAsync("/v1/agents", $$"""{"id":"{{id}}","name":"n","owner":"o","fleet":"{{fleet}}"}""");
        Assert.Equal(HttpStatusCode.Created, reply.Status);
        return id;
    }

    private static async Task<string> DecideAsync(HttpClient http, string session, string fleet, string action = "read_file", string type = "Document")
    {
        var reply = await http.PostJsonAsync($"/v1/sessions/{session}/decisions",
            $$"""{"action":"{{action}}","resource":{"type":"{{type}}","id":"doc-1","properties":{"fleet":"{{fleet}}"}""" + "}}");
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json["denyReason"]?.GetValue<string>() ?? reply.Json["outcome"]!.GetValue<string>();
    }

    [Fact]
    public async Task Grant_sub_delegate_elevate_revoke_and_suspend_over_http()
    {
        var http = (await env.GetSharedHostAsync()).Http;
        var fleet = "hfleet-" + Guid.NewGuid().ToString("N")[..6];
        var parent = await RegisterAsync(http, fleet);
        var child = await RegisterAsync(http, fleet);

        var granted = await http.PostJsonAsync($"/v1/agents/{parent}/grants",
            $$"""{"actions":["read_file","search_web"],"resources":["Document::*","WebSearch::*"],"expiresAt":"{{Future}}","purpose":"research"}""");
        Assert.Equal(HttpStatusCode.Created, granted.Status);
        var parentGrant = granted.Json["id"]!.GetValue<string>();
        Assert.Equal("active", granted.Json["status"]!.GetValue<string>());

        var tooMuch = await http.PostJsonAsync($"/v1/agents/{child}/grants",
            $$"""{"actions":["send_payment"],"resources":["Account::*"],"expiresAt":"{{Future}}","delegatorAgentId":"{{parent}}","parentGrantId":"{{parentGrant}}"}""");
        Assert.Contains("attenuation", tooMuch.AssertProblem(HttpStatusCode.BadRequest));
        var derived = await http.PostJsonAsync($"/v1/agents/{child}/grants",
            $$"""{"actions":["read_file"],"resources":["Document::*"],"expiresAt":"{{DateTimeOffset.UtcNow.AddHours(1):O}}","delegatorAgentId":"{{parent}}","parentGrantId":"{{parentGrant}}"}""");
        Assert.Equal(HttpStatusCode.Created, derived.Status);
        Assert.Equal(1, derived.Json["depth"]!.GetValue<int>());

        var session = (await http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{child}}"}""")).Json["id"]!.GetValue<string>();
        Assert.Equal("Allow", await DecideAsync(http, session, fleet));
        Assert.Equal("no-delegation", await DecideAsync(http, session, fleet, "search_web", "WebSearch"));
        var elevation = await http.PostJsonAsync($"/v1/sessions/{session}/elevations",
            """{"actions":["search_web"],"resources":["WebSearch::*"],"durationSeconds":300,"purpose":"incident"}""");
        Assert.Equal(HttpStatusCode.Created, elevation.Status);
        Assert.Equal(session, elevation.Json["sessionId"]!.GetValue<string>());
        Assert.Equal("Allow", await DecideAsync(http, session, fleet, "search_web", "WebSearch"));

        var suspended = await http.PostJsonAsync($"/v1/fleets/{fleet}/suspend", """{"reason":"drill"}""");
        Assert.True(suspended.Json["suspended"]!.GetValue<bool>());
        Assert.Equal("fleet-suspended", await DecideAsync(http, session, fleet));
        await http.PostJsonAsync($"/v1/fleets/{fleet}/reactivate", """{"reason":"drill over"}""");
        var shown = await http.GetJsonAsync($"/v1/fleets/{fleet}/suspension");
        Assert.False(shown.Json["suspended"]!.GetValue<bool>());
        Assert.Equal(2, shown.Json["history"]!.AsArray().Count);
        Assert.Equal(TestTokens.AdminSubject, shown.Json["changedBy"]!.GetValue<string>());
        Assert.Equal(TestTokens.Issuer, shown.Json["changedByIssuer"]!.GetValue<string>());
        Assert.All(shown.Json["history"]!.AsArray(), h => Assert.Equal(TestTokens.Issuer, h!["actorIssuer"]!.GetValue<string>()));
        Assert.Equal("Allow", await DecideAsync(http, session, fleet));

        var revoked = await http.PostJsonAsync($"/v1/agents/{parent}/grants/{parentGrant}/revoke", """{"reason":"leak"}""");
        Assert.Equal(HttpStatusCode.OK, revoked.Status);
        Assert.Equal(2, revoked.Json["count"]!.GetValue<int>());
        Assert.Equal("no-delegation", await DecideAsync(http, session, fleet));
        var list = await http.GetJsonAsync($"/v1/agents/{parent}/grants");
        Assert.Empty(list.Json["grants"]!.AsArray());
        var kept = list.Json["revoked"]!.AsArray().Single()!;
        Assert.Equal("revoked", kept["status"]!.GetValue<string>());
        Assert.Equal(TestTokens.AdminSubject, kept["revokedBy"]!.GetValue<string>());
        Assert.Equal("leak", kept["revokeReason"]!.GetValue<string>());
        var one = await http.GetJsonAsync($"/v1/agents/{parent}/grants/{parentGrant}");
        Assert.Equal("revoked", one.Json["status"]!.GetValue<string>());
        // The session notes the revocation asynchronously (enforcement never waits for it).
        await Eventually.TrueAsync("the child's session to record the revocation that reached its grant", async () =>
            (await http.GetJsonAsync($"/v1/sessions/{session}")).Json["events"]!.AsArray().Any(e => e!["kind"]!.GetValue<string>() == "revocation"));
    }

    [Theory]
    [InlineData("/v1/agents/{agent}/grants", "{\"actions\":[\"read_file\"],\"resources\":[\"*\"],\"expiresAt\":\"2099-01-01T00:00:00Z\",\"condition\":\"context.x <\"}", HttpStatusCode.BadRequest, "condition:1:")]
    [InlineData("/v1/agents/{agent}/grants", "{\"actions\":[\"read_file\"],\"resources\":[\"*\"],\"expiresAt\":\"2099-01-01T00:00:00Z\",\"notBefore\":\"2100-01-01T00:00:00Z\"}", HttpStatusCode.BadRequest, "notBefore")]
    [InlineData("/v1/agents/{agent}/grants", "{\"actions\":[\"read_file\"],\"resources\":[\"*\"],\"expiresAt\":\"2099-01-01T00:00:00Z\",\"delegatorAgentId\":\"nobody-here\",\"parentGrantId\":\"x\"}", HttpStatusCode.NotFound, "nobody-here")]
    [InlineData("/v1/agents/{agent}/grants", "{\"actions\":[\"read_file\"],\"resources\":[\"*\"],\"expiresAt\":\"2099-01-01T00:00:00Z\",\"parentGrantId\":\"x\"}", HttpStatusCode.BadRequest, "both")]
    [InlineData("/v1/agents/{agent}/grants/nope/revoke", "{\"reason\":\"r\"}", HttpStatusCode.NotFound, "nope")]
    [InlineData("/v1/agents/{agent}/grants/nope/revoke", "{\"actor\":\"a\",\"reason\":\"r\"}", HttpStatusCode.BadRequest, "actor is not accepted")]
    [InlineData("/v1/agents/{agent}/revoke", "{}", HttpStatusCode.BadRequest, "reason")]
    [InlineData("/v1/agents/unknown-agent-x/revoke", "{\"reason\":\"r\"}", HttpStatusCode.NotFound, "unknown-agent-x")]
    [InlineData("/v1/delegators/revoke", "{\"reason\":\"r\",\"agent\":\"x\",\"principal\":\"y\"}", HttpStatusCode.BadRequest, "exactly one")]
    [InlineData("/v1/delegators/revoke", "{\"actor\":\"a\",\"reason\":\"r\",\"agent\":\"x\"}", HttpStatusCode.BadRequest, "actor is not accepted")]
    [InlineData("/v1/agents/{agent}/grants", "{\"actions\":[\"read_file\"],\"resources\":[\"*\"],\"expiresAt\":\"2099-01-01T00:00:00Z\",\"grantedBy\":\"g\"}", HttpStatusCode.BadRequest, "grantedBy is not accepted")]
    [InlineData("/v1/sessions/no-such-session/elevations", "{\"actions\":[\"read_file\"],\"resources\":[\"*\"],\"durationSeconds\":60}", HttpStatusCode.NotFound, "no-such-session")]
    [InlineData("/v1/sessions/no-such-session/elevations", "{\"actions\":[\"read_file\"],\"resources\":[\"*\"],\"durationSeconds\":999999}", HttpStatusCode.BadRequest, "durationSeconds")]
    [InlineData("/v1/sessions/no-such-session/elevations", "{\"actions\":[\"read_file\"],\"resources\":[\"*\"],\"durationSeconds\":60,\"grantedBy\":\"g\"}", HttpStatusCode.BadRequest, "grantedBy is not accepted")]
    [InlineData("/v1/fleets/f/suspend", "{}", HttpStatusCode.BadRequest, "reason is required")]
    [InlineData("/v1/fleets/f/suspend", "{\"actor\":\"carol\",\"reason\":\"r\"}", HttpStatusCode.BadRequest, "actor is not accepted")]
    public async Task Bad_governance_requests_are_problems(string path, string body, HttpStatusCode status, string expected)
    {
        var http = (await env.GetSharedHostAsync()).Http;
        var agent = await RegisterAsync(http, "research");

        var reply = await http.PostJsonAsync(path.Replace("{agent}", agent, StringComparison.Ordinal), body);

        Assert.Contains(expected, reply.AssertProblem(status), StringComparison.OrdinalIgnoreCase);
    }
}
