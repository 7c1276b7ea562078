using System.Net;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Grains;

namespace RuntimeAuthz.Cluster.Tests.Hardening;

/// <summary>Hostile grant patterns and inputs cost bounded work, and never turn another grant's decision into an error.</summary>
[Collection(ClusterCollection.Name)]
public sealed class PatternAndBudgetTests(ClusterEnvironment env)
{
    private static async Task<string> RegisterAsync(HttpClient http)
    {
        var id = "pattern-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/v1/agents", $$"""{"id":"{{id}}","name":"n","owner":"o","fleet":"research"}""")).Status);
        return id;
    }

    private static Task<HttpReply> GrantAsync(HttpClient http, string agent, string resource, string action = "read_file") =>
        http.PostJsonAsync($"/v1/agents/{agent}/grants",
            $$"""{"actions":["{{action}}"],"resources":[{{System.Text.Json.JsonSerializer.Serialize(resource)}}],"expiresAt":"2099-01-01T00:00:00Z"}""");

    private static Task<HttpReply> ReadAsync(HttpClient http, string session, string documentId, string? input = null)
    {
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["action"] = "read_file",
            ["resource"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "Document", ["id"] = documentId, ["properties"] = new System.Text.Json.Nodes.JsonObject { ["fleet"] = "research" } },
        };
        if (input is not null) body["input"] = System.Text.Json.Nodes.JsonNode.Parse(input);
        return http.PostJsonAsync($"/v1/sessions/{session}/decisions", body.ToJsonString());
    }

    [Fact]
    public async Task A_backtracking_glob_of_one_grant_does_not_stop_another_grant_from_allowing()
    {
        var http = (await env.GetSharedHostAsync()).Http;
        var agent = await RegisterAsync(http);
        // The glob grant first, so it is tried first.
        Assert.Equal(HttpStatusCode.Created, (await GrantAsync(http, agent, "Document like \"*/*/*/*/*.pdf\"")).Status);
        Assert.Equal(HttpStatusCode.Created, (await GrantAsync(http, agent, "Document::*")).Status);
        var session = (await http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{agent}}"}""")).Json["id"]!.GetValue<string>();

        var txt = await ReadAsync(http, session, string.Concat(Enumerable.Repeat("a/", 100)) + "x.txt");
        var pdf = await ReadAsync(http, session, string.Concat(Enumerable.Repeat("a/", 100)) + "x.pdf");

        Assert.Equal("Allow", txt.Json["outcome"]!.GetValue<string>());
        Assert.Equal("Allow", pdf.Json["outcome"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_largest_glob_allowed_decides_a_long_id_and_a_larger_one_is_refused_naming_the_field()
    {
        var http = (await env.GetSharedHostAsync()).Http;
        var agent = await RegisterAsync(http);
        var worst = string.Concat(Enumerable.Repeat("*a", ResourcePattern.MaxGlobWildcards)) + "b";
        var granted = await GrantAsync(http, agent, $"Document like \"{worst}\"");
        var tooManyWildcards = await GrantAsync(http, agent, $"Document like \"{string.Concat(Enumerable.Repeat("*a", 30))}b\"");
        var tooLong = await GrantAsync(http, agent, $"Document like \"{new string('x', ResourcePattern.MaxGlobLength + 1)}*\"");
        var session = (await http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{agent}}"}""")).Json["id"]!.GetValue<string>();

        var miss = await ReadAsync(http, session, new string('a', 1000));
        var hit = await ReadAsync(http, session, new string('a', 999) + "b");

        Assert.Equal(HttpStatusCode.Created, granted.Status);
        Assert.Contains($"resources[0]: the glob has 30 wildcards; at most {ResourcePattern.MaxGlobWildcards}", tooManyWildcards.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains($"resources[0]: the glob is longer than {ResourcePattern.MaxGlobLength}", tooLong.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Equal("no-delegation", miss.Json["denyReason"]!.GetValue<string>());
        Assert.Equal("Allow", hit.Json["outcome"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_decision_over_its_evaluation_budget_is_denied_with_its_own_reason()
    {
        var host = await env.StartHostAsync("budget-" + Guid.NewGuid().ToString("N")[..8], seed: false);
        var http = host.Http;
        var policies = """permit (principal, action, resource) when { context.input has text && context.input.text like "*a*a*a*a*a*a*a*a*a*b" };""";
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/v1/policies", $$"""{"policies":{{System.Text.Json.JsonSerializer.Serialize(policies)}}}""")).Status);
        var agent = await RegisterAsync(http);
        Assert.Equal(HttpStatusCode.Created, (await GrantAsync(http, agent, "Document::*")).Status);
        var session = (await http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{agent}}"}""")).Json["id"]!.GetValue<string>();
        await Eventually.TrueAsync("the published policy to decide", async () =>
            (await ReadAsync(http, session, "d", """{"text":"aaaaaaaaab"}""")).Json["outcome"]!.GetValue<string>() == "Allow");

        // (input length + 1) x (wildcards + 1) work units: 600,001 x 11 is past the default budget of 4,000,000.
        var huge = await ReadAsync(http, session, "d", "{\"text\":\"" + new string('a', 600_000) + "b\"}");

        Assert.Equal("Deny", huge.Json["outcome"]!.GetValue<string>());
        Assert.Equal("evaluation-budget-exceeded", huge.Json["denyReason"]!.GetValue<string>());
        Assert.Contains("evaluation budget", huge.Json["detail"]?.GetValue<string>() ?? huge.Json.ToJsonString(), StringComparison.Ordinal);
    }
}
