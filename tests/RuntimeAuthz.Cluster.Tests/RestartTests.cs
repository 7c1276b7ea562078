using System.Net;
using RuntimeAuthz.Cluster.Tests.Infrastructure;

namespace RuntimeAuthz.Cluster.Tests;

[Collection(ClusterCollection.Name)]
public sealed class RestartTests(ClusterEnvironment env)
{
    [Fact]
    public async Task State_written_through_one_host_is_there_after_a_restart_on_the_same_storage()
    {
        var serviceId = "restart-" + Guid.NewGuid().ToString("N")[..12];
        var first = await env.StartHostAsync(serviceId, seed: false);
        var http = first.Http;

        // Nothing published yet: decisions are denied (fail closed), and readiness still reports a synchronized (empty) cache.
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/v1/agents", """{"id":"restart-agent","name":"R","owner":"o@example.com","fleet":"research"}""")).Status);
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/v1/agents/restart-agent/delegations",
            """{"actions":["read_file"],"resources":["Document::*"],"expiresAt":"2099-01-01T00:00:00Z"}""")).Status);
        var session = (await http.PostJsonAsync("/v1/sessions", """{"agentId":"restart-agent"}""")).Json["id"]!.GetValue<string>();
        var readDocument = """{"action":"read_file","resource":{"type":"Document","id":"d","properties":{"fleet":"research"}}}""";
        var beforePolicy = await http.PostJsonAsync($"/v1/sessions/{session}/decisions", readDocument);
        Assert.Equal("no-policy", beforePolicy.Json["denyReason"]!.GetValue<string>());
        var policies = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar"));
        var published = await http.PostJsonAsync("/v1/policies", new System.Text.Json.Nodes.JsonObject { ["policies"] = policies }.ToJsonString());
        Assert.Equal(HttpStatusCode.Created, published.Status);
        var allowed = await PostUntilAllowedAsync(http, $"/v1/sessions/{session}/decisions", readDocument);
        await first.StopAsync();

        var second = await env.StartHostAsync(serviceId, seed: false);
        var agent = await second.Http.GetJsonAsync("/v1/agents/restart-agent");
        var stored = await second.Http.GetJsonAsync($"/v1/sessions/{session}");
        var current = await second.Http.GetJsonAsync("/v1/policies/current");
        var again = await second.Http.PostJsonAsync($"/v1/sessions/{session}/decisions", readDocument);

        Assert.Equal(HttpStatusCode.OK, agent.Status);
        Assert.Single(agent.Json["delegations"]!.AsArray());
        var events = stored.Json["events"]!.AsArray();
        Assert.Contains(events, e => e!["decisionId"]!.GetValue<string>() == allowed);
        Assert.Equal("Deny", events[0]!["outcome"]!.GetValue<string>());
        Assert.Equal(policies, current.Json["policies"]!.GetValue<string>());
        Assert.Equal("Allow", again.Json["outcome"]!.GetValue<string>());
        Assert.Equal(published.Json["version"]!.GetValue<long>(), again.Json["policyVersion"]!.GetValue<long>());
        await second.StopAsync();
    }

    [Fact]
    public async Task Seeding_twice_creates_the_example_once()
    {
        var serviceId = "seed-" + Guid.NewGuid().ToString("N")[..12];
        var first = await env.StartHostAsync(serviceId, seed: true);
        await first.StopAsync();
        var second = await env.StartHostAsync(serviceId, seed: true);

        var versions = await second.Http.GetJsonAsync("/v1/policies");
        var agent = await second.Http.GetJsonAsync("/v1/agents/demo-agent");

        var only = Assert.Single(versions.Json.AsArray());
        Assert.Equal("seed", only!["author"]!.GetValue<string>());
        Assert.True(only["hasSchema"]!.GetValue<bool>());
        Assert.Equal("research", agent.Json["fleet"]!.GetValue<string>());
        Assert.Single(agent.Json["delegations"]!.AsArray());
        await second.StopAsync();
    }

    /// <summary>The publish is pushed to the silo's cache asynchronously; returns the allowing decision's id.</summary>
    private static async Task<string> PostUntilAllowedAsync(HttpClient http, string path, string body)
    {
        var allowed = await Eventually.UntilAsync("an Allow once the published policy reaches the cache", async () =>
        {
            var reply = await http.PostJsonAsync(path, body);
            // Until then the only acceptable answer is the fail-closed one.
            if (reply.Json["outcome"]!.GetValue<string>() != "Allow") Assert.Equal("no-policy", reply.Json["denyReason"]!.GetValue<string>());
            return reply.Json;
        }, json => json["outcome"]!.GetValue<string>() == "Allow", describe: json => json.ToJsonString());
        return allowed["decisionId"]!.GetValue<string>();
    }
}
