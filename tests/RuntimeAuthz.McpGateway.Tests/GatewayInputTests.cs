using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ModelContextProtocol;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.McpGateway.Tests.Infrastructure;

namespace RuntimeAuthz.McpGateway.Tests;

/// <summary>Who may call the gateway, and calls it cannot map: clear refusals, nothing forwarded.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayInputTests(GatewayEnvironment env)
{
    private const string Initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized, "bearer token is required")]
    [InlineData("not-a-jwt", HttpStatusCode.Unauthorized, "refused the token")]
    [InlineData("pep", HttpStatusCode.Forbidden, "must be an agent token")]
    public async Task Only_an_agent_token_the_cluster_accepts_opens_an_MCP_session(string? token, HttpStatusCode status, string says)
    {
        using var http = new HttpClient { BaseAddress = env.Gateway.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent(Initialize, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        var bearer = token == "pep" ? TestTokens.ForPep("some-pep", "*") : token;
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);

        using var response = await http.SendAsync(request);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(says, await response.Content.ReadAsStringAsync());
        if (status == HttpStatusCode.Unauthorized) Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task Another_agent_cannot_use_an_agents_MCP_session()
    {
        var owner = await env.RegisterAgentAsync("owner");
        var intruder = await env.RegisterAgentAsync("intruder");
        using var http = new HttpClient { BaseAddress = env.Gateway.BaseAddress };
        using var initialized = await http.SendAsync(McpRequest(Initialize, TestTokens.ForAgent(owner), session: null));
        var session = initialized.Headers.GetValues("Mcp-Session-Id").Single();

        const string call = """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"everything.echo","arguments":{"message":"mine now"}}}""";
        using var hijack = await http.SendAsync(McpRequest(call, TestTokens.ForAgent(intruder), session));
        using var own = await http.SendAsync(McpRequest(call, TestTokens.ForAgent(owner), session));

        Assert.Equal(HttpStatusCode.OK, initialized.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, hijack.StatusCode);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Empty(await env.SessionsOfAsync(intruder));
    }

    private static HttpRequestMessage McpRequest(string body, string token, string? session)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (session is not null)
        {
            request.Headers.Add("Mcp-Session-Id", session);
            request.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        }
        return request;
    }

    [Fact]
    public async Task Health_is_anonymous_and_nothing_else_is_served()
    {
        using var anonymous = new HttpClient { BaseAddress = env.Gateway.BaseAddress };
        using var agent = new HttpClient { BaseAddress = env.Gateway.BaseAddress };
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.ForAgent(await env.RegisterAgentAsync("prober")));

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/sessions")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await agent.GetAsync("/v1/sessions")).StatusCode);
    }

    [Fact]
    public async Task A_client_preferring_the_sessionless_protocol_falls_back_to_a_session_and_is_decided()
    {
        var agent = await env.RegisterAgentAsync("modern");
        await using (var client = await GatewayEnvironment.ConnectAsync(env.Gateway, TestTokens.ForAgent(agent), protocolVersion: null))
        {
            var echo = await client.CallToolAsync("everything.echo", new Dictionary<string, object?> { ["message"] = "latest" });
            Assert.NotEqual(true, echo.IsError);
        }

        Assert.Single(await env.SessionsOfAsync(agent));
    }

    [Fact]
    public async Task An_unknown_tool_is_a_protocol_error_naming_it()
    {
        var agent = await env.RegisterAgentAsync("lost");
        await using var client = await GatewayEnvironment.ConnectAsync(env.Gateway, TestTokens.ForAgent(agent));

        var error = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("fs.delete_everything"));

        Assert.Contains("unknown tool 'fs.delete_everything'", error.Message);
    }

    [Fact]
    public async Task A_resource_argument_that_is_not_a_string_is_refused_before_any_decision()
    {
        var agent = await env.RegisterAgentAsync("typo");
        await using var client = await GatewayEnvironment.ConnectAsync(env.Gateway, TestTokens.ForAgent(agent));

        var result = await client.CallToolAsync("fs.read_text_file", new Dictionary<string, object?> { ["path"] = 42 });

        Assert.True(result.IsError);
        Assert.Contains("argument 'path' names the resource this call acts on and must be a non-empty string", GatewayEndToEndTests.Text(result));
        Assert.Empty(await env.SessionsOfAsync(agent));
    }
}
