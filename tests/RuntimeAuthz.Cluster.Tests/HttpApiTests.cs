using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Grains;

namespace RuntimeAuthz.Cluster.Tests;

/// <summary>The real silo host (Kestrel, Localhost clustering, Azurite) seeded with the example, called over HTTP.</summary>
[Collection(ClusterCollection.Name)]
public sealed class HttpApiTests(ClusterEnvironment env)
{
    private async Task<HttpClient> HttpAsync() => (await env.GetSharedHostAsync()).Http;

    private static async Task<string> OpenSessionAsync(HttpClient http, string agentId = "demo-agent")
    {
        var reply = await http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{agentId}}"}""");
        Assert.Equal(HttpStatusCode.Created, reply.Status);
        return reply.Json["id"]!.GetValue<string>();
    }

    private static string Evaluation(string session, string action, string resourceType, string resourceId, string properties = "{}", string toolInput = "{}", string agent = "demo-agent") =>
        $$$"""
        {"subject":{"type":"agent","id":"{{{agent}}}"},"action":{"name":"{{{action}}}"},
         "resource":{"type":"{{{resourceType}}}","id":"{{{resourceId}}}","properties":{{{properties}}}},
         "context":{"session_id":"{{{session}}}","tool_input":{{{toolInput}}}}}
        """;

    [Fact]
    public async Task Health_endpoints_report_live_and_ready()
    {
        var http = await HttpAsync();
        Assert.Equal(HttpStatusCode.OK, (await http.GetJsonAsync("/health/live")).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.GetJsonAsync("/health/ready")).Status);
    }

    [Fact]
    public async Task AuthZen_configuration_lists_the_endpoints()
    {
        var host = await env.GetSharedHostAsync();
        var reply = await host.Http.GetJsonAsync("/.well-known/authzen-configuration");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var baseUrl = host.BaseAddress.ToString().TrimEnd('/');
        Assert.Equal(baseUrl, reply.Json["policy_decision_point"]!.GetValue<string>());
        Assert.Equal($"{baseUrl}/access/v1/evaluation", reply.Json["access_evaluation_endpoint"]!.GetValue<string>());
        Assert.Equal($"{baseUrl}/access/v1/evaluations", reply.Json["access_evaluations_endpoint"]!.GetValue<string>());
    }

    [Fact]
    public async Task AuthZen_evaluation_allows_and_echoes_the_request_id()
    {
        var http = await HttpAsync();
        var session = await OpenSessionAsync(http);
        var current = (await http.GetJsonAsync("/v1/policies/current")).Json["version"]!.GetValue<long>();

        var reply = await http.PostJsonAsync("/access/v1/evaluation", Evaluation(session, "read_file", "Document", "q3-report", """{"fleet":"research"}"""), requestId: "req-123");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("req-123", reply.Response.Headers.GetValues("X-Request-ID").Single());
        Assert.True(reply.Json["decision"]!.GetValue<bool>());
        Assert.Equal("Allow", reply.Json["context"]!["outcome"]!.GetValue<string>());
        Assert.Equal(current, reply.Json["context"]!["policy_version"]!.GetValue<long>());
        Assert.Equal("policy0", reply.Json["context"]!["reasons"]![0]!.GetValue<string>());
        Assert.True(Guid.TryParse(reply.Json["context"]!["decision_id"]!.GetValue<string>(), out _));
    }

    [Fact]
    public async Task AuthZen_approval_required_is_not_a_permit()
    {
        var http = await HttpAsync();
        var session = await OpenSessionAsync(http);

        var reply = await http.PostJsonAsync("/access/v1/evaluation", Evaluation(session, "send_payment", "Account", "acme", toolInput: """{"amount":250,"currency":"EUR"}"""));

        Assert.False(reply.Json["decision"]!.GetValue<bool>());
        Assert.Equal("ApprovalRequired", reply.Json["context"]!["outcome"]!.GetValue<string>());
        Assert.True(reply.Json["context"]!["approval_required"]!.GetValue<bool>());
    }

    [Fact]
    public async Task AuthZen_deny_carries_the_deny_reason()
    {
        var http = await HttpAsync();
        var session = await OpenSessionAsync(http);

        var reply = await http.PostJsonAsync("/access/v1/evaluation", Evaluation(session, "delete_database", "Database", "prod"));

        Assert.False(reply.Json["decision"]!.GetValue<bool>());
        Assert.Equal("not-permitted", reply.Json["context"]!["deny_reason"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("execute_all", 3)]
    [InlineData("deny_on_first_deny", 2)]
    [InlineData("permit_on_first_permit", 1)]
    public async Task AuthZen_evaluations_follow_the_requested_semantic(string semantic, int expectedCount)
    {
        var http = await HttpAsync();
        var session = await OpenSessionAsync(http);
        var body = $$$"""
        {
          "subject": {"type": "agent", "id": "demo-agent"},
          "context": {"session_id": "{{{session}}}"},
          "evaluations": [
            {"action": {"name": "read_file"}, "resource": {"type": "Document", "id": "a", "properties": {"fleet": "research"} } },
            {"action": {"name": "delete_database"}, "resource": {"type": "Database", "id": "prod"}},
            {"action": {"name": "search_web"}, "resource": {"type": "WebSearch", "id": "web"}}
          ],
          "options": {"evaluations_semantic": "{{{semantic}}}"}
        }
        """;

        var reply = await http.PostJsonAsync("/access/v1/evaluations", body);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var results = reply.Json["evaluations"]!.AsArray();
        Assert.Equal(expectedCount, results.Count);
        bool[] expected = [true, false, true];
        for (var i = 0; i < results.Count; i++) Assert.Equal(expected[i], results[i]!["decision"]!.GetValue<bool>());
    }

    [Fact]
    public async Task AuthZen_evaluation_items_override_defaults_and_a_bad_item_is_that_items_error()
    {
        var http = await HttpAsync();
        var first = await OpenSessionAsync(http);
        var second = await OpenSessionAsync(http);
        var body = $$$"""
        {
          "subject": {"type": "agent", "id": "demo-agent"},
          "action": {"name": "search_web"},
          "resource": {"type": "WebSearch", "id": "web"},
          "context": {"session_id": "{{{first}}}"},
          "evaluations": [
            {},
            {"context": {"session_id": "{{{second}}}"}},
            {"action": {"name": "read_file"}, "resource": {"type": "Document", "id": "d", "properties": {"fleet": "elsewhere"} } }
          ]
        }
        """;
        var bad = body.Replace("\"action\": {\"name\": \"read_file\"}", "\"action\": {\"name\": 42}", StringComparison.Ordinal);

        var reply = await http.PostJsonAsync("/access/v1/evaluations", body);
        var withBadItem = await http.PostJsonAsync("/access/v1/evaluations", bad);
        var firstSession = await http.GetJsonAsync($"/v1/sessions/{first}");

        var results = reply.Json["evaluations"]!.AsArray();
        Assert.Equal([true, true, false], results.Select(r => r!["decision"]!.GetValue<bool>()));
        Assert.Equal(first, results[0]!["context"]!["session_id"]!.GetValue<string>());
        Assert.Equal(second, results[1]!["context"]!["session_id"]!.GetValue<string>());
        Assert.Equal("not-permitted", results[2]!["context"]!["deny_reason"]!.GetValue<string>());
        // As the specification has it: the batch is answered, the bad item is a decision false naming its problem, the others are decided.
        var items = withBadItem.Json["evaluations"]!.AsArray();
        Assert.Equal([true, true, false], items.Select(r => r!["decision"]!.GetValue<bool>()));
        Assert.Contains("evaluations[2].action.name", items[2]!["context"]!["error"]!["message"]!.GetValue<string>());
        Assert.Equal(3, firstSession.Json["decisionCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task AuthZen_evaluations_without_a_list_is_a_single_evaluation()
    {
        var http = await HttpAsync();
        var session = await OpenSessionAsync(http);

        var reply = await http.PostJsonAsync("/access/v1/evaluations", Evaluation(session, "search_web", "WebSearch", "web"));

        Assert.True(reply.Json["decision"]!.GetValue<bool>());
        Assert.Null(reply.Json["evaluations"]);
    }

    [Theory]
    [InlineData("{\"subject\":{\"type\":\"agent\",\"id\":\"demo-agent\"},\"action\":{\"name\":\"read_file\"},\"resource\":{\"type\":\"Document\",\"id\":\"a\"}}", "context.session_id")]
    [InlineData("{\"subject\":{\"type\":\"user\",\"id\":\"demo-agent\"},\"action\":{\"name\":\"read_file\"},\"resource\":{\"type\":\"Document\",\"id\":\"a\"},\"context\":{\"session_id\":\"s\"}}", "subject.type")]
    [InlineData("{\"subject\":{\"type\":\"agent\",\"id\":\"demo-agent\"},\"action\":{\"name\":7},\"resource\":{\"type\":\"Document\",\"id\":\"a\"},\"context\":{\"session_id\":\"s\"}}", "action.name must be a string")]
    [InlineData("{\"subject\":{\"type\":\"agent\",\"id\":\"demo-agent\"},\"action\":{\"name\":\"x\"},\"resource\":{\"type\":\"Bad Type\",\"id\":\"a\"},\"context\":{\"session_id\":\"s\"}}", "resource.type")]
    [InlineData("{\"subject\":{\"type\":\"agent\",\"id\":\"demo-agent\"},\"action\":{\"name\":\"x\"},\"resource\":{\"type\":\"Doc\",\"id\":\"a\",\"properties\":[1]},\"context\":{\"session_id\":\"s\"}}", "resource.properties must be an object")]
    [InlineData("{\"subject\":{\"type\":\"agent\",\"id\":\"demo-agent\"}", "not valid JSON")]
    [InlineData("[1,2]", "must be a JSON object")]
    public async Task AuthZen_malformed_requests_are_400_problems(string body, string expectedInDetail)
    {
        var http = await HttpAsync();

        var reply = await http.PostJsonAsync("/access/v1/evaluation", body, requestId: "bad-1");

        Assert.Contains(expectedInDetail, reply.AssertProblem(HttpStatusCode.BadRequest));
        Assert.Equal("bad-1", reply.Response.Headers.GetValues("X-Request-ID").Single());
    }

    [Theory]
    [InlineData("{\"fleet\":\"research\",\"size\":1.5}")]
    [InlineData("{\"fleet\":\"research\",\"size\":1e30}")]
    [InlineData("{\"fleet\":\"research\",\"owner\":{\"__entity\":{\"type\":\"User\"}}}")]
    [InlineData("{\"fleet\":\"research\",\"limit\":{\"__extn\":{\"fn\":\"nonsense\",\"arg\":\"1\"}}}")]
    [InlineData("{\"fleet\":\"research\",\"tags\":[1,\"a\",null]}")]
    [InlineData("{\"fleet\":null}")]
    public async Task Resource_properties_cedar_cannot_represent_are_denied_not_errors(string properties)
    {
        var http = await HttpAsync();
        var session = await OpenSessionAsync(http);

        var reply = await http.PostJsonAsync("/access/v1/evaluation", Evaluation(session, "read_file", "Document", "odd", properties));

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.False(reply.Json["decision"]!.GetValue<bool>());
        Assert.Equal("invalid-request", reply.Json["context"]!["deny_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Duplicate_json_properties_are_a_400()
    {
        var http = await HttpAsync();
        var reply = await http.PostJsonAsync("/v1/agents", """{"id":"dup-agent","id":"other","name":"n","owner":"o","fleet":"f"}""");
        Assert.Contains("id is given twice (duplicate key)", reply.AssertProblem(HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Agents_can_be_registered_listed_suspended_and_given_delegations()
    {
        var http = await HttpAsync();
        var id = "http-agent-" + Guid.NewGuid().ToString("N")[..8];

        var created = await http.PostJsonAsync("/v1/agents", $$$"""{"id":"{{{id}}}","name":"Bot","owner":"bob@example.com","fleet":"ops","labels":{"env":"test"}}""");
        var duplicate = await http.PostJsonAsync("/v1/agents", $$"""{"id":"{{id}}","name":"Bot","owner":"bob@example.com","fleet":"ops"}""");
        var listed = await AgentListing.AllOverHttpAsync(http);
        var delegation = await http.PostJsonAsync($"/v1/agents/{id}/delegations",
            """{"actions":["read_file"],"resources":["Document::\"a\"","Document::*"],"expiresAt":"2099-01-01T00:00:00Z","purpose":"test"}""");
        var delegationId = delegation.Json["id"]!.GetValue<string>();
        var suspended = await http.PostJsonAsync($"/v1/agents/{id}/status", """{"status":"suspended","reason":"incident"}""");
        var removed = await http.SendAsync(HttpMethod.Delete, $"/v1/agents/{id}/delegations/{delegationId}");
        var removedAgain = await http.SendAsync(HttpMethod.Delete, $"/v1/agents/{id}/delegations/{delegationId}");
        var fetched = await http.GetJsonAsync($"/v1/agents/{id}");

        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal("active", created.Json["status"]!.GetValue<string>());
        Assert.Equal("test", created.Json["labels"]!["env"]!.GetValue<string>());
        duplicate.AssertProblem(HttpStatusCode.Conflict);
        Assert.Contains(listed, a => a["id"]!.GetValue<string>() == id);
        Assert.Contains(listed, a => a["id"]!.GetValue<string>() == "demo-agent");
        Assert.Equal(HttpStatusCode.Created, delegation.Status);
        Assert.Equal(2, delegation.Json["resources"]!.AsArray().Count);
        Assert.Equal("suspended", suspended.Json["status"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, removed.Status);
        removedAgain.AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal("suspended", fetched.Json["status"]!.GetValue<string>());
        Assert.Empty(fetched.Json["delegations"]!.AsArray());
    }

    [Theory]
    [InlineData("/v1/agents", "{\"id\":\"bad id!\",\"name\":\"n\",\"owner\":\"o\",\"fleet\":\"f\"}", "not a valid id")]
    [InlineData("/v1/agents", "{\"id\":\"ok-id\",\"name\":5,\"owner\":\"o\",\"fleet\":\"f\"}", "name must be a string")]
    [InlineData("/v1/agents", "{\"id\":\"ok-id\",\"owner\":\"o\",\"fleet\":\"f\"}", "name is required")]
    [InlineData("/v1/agents", "{\"id\":\"ok-id\",\"name\":\"n\",\"owner\":\"o\",\"fleet\":\"f\",\"labels\":{\"a\":1}}", "labels.a must be a string")]
    [InlineData("/v1/agents", "{\"id\":", "not valid JSON")]
    [InlineData("/v1/agents", "", "request body is required")]
    [InlineData("/v1/agents/demo-agent/status", "{\"status\":\"paused\"}", "status must be")]
    [InlineData("/v1/agents/demo-agent/delegations", "{\"actions\":[\"read_file\"],\"resources\":[\"Document::a\"],\"expiresAt\":\"2099-01-01T00:00:00Z\"}", "resource pattern")]
    [InlineData("/v1/agents/demo-agent/delegations", "{\"actions\":[\"read_file\"],\"resources\":[\"*\"],\"expiresAt\":\"2001-01-01T00:00:00Z\"}", "must be in the future")]
    [InlineData("/v1/agents/demo-agent/delegations", "{\"actions\":[\"read_file\"],\"resources\":[\"*\"],\"expiresAt\":\"next week\"}", "ISO-8601")]
    [InlineData("/v1/agents/demo-agent/delegations", "{\"actions\":\"read_file\",\"resources\":[\"*\"],\"expiresAt\":\"2099-01-01T00:00:00Z\"}", "actions must be an array")]
    [InlineData("/v1/sessions", "{\"agentId\":\"demo-agent\",\"lifetimeSeconds\":\"long\"}", "lifetimeSeconds must be an integer")]
    [InlineData("/v1/sessions", "{\"agentId\":\"demo-agent\",\"lifetimeSeconds\":1.5}", "lifetimeSeconds must be an integer")]
    [InlineData("/v1/sessions", "{\"agentId\":\"demo-agent\",\"idleTimeoutSeconds\":0}", "idleTimeoutSeconds must be between")]
    [InlineData("/v1/policies", "{\"policies\":\"permit(principal, action, resource);\",\"author\":\"mallory\"}", "author is not accepted")]
    [InlineData("/v1/policies/rollback", "{\"version\":\"one\"}", "version must be an integer")]
    [InlineData("/v1/policies/rollback", "{\"version\":1,\"author\":\"mallory\"}", "author is not accepted")]
    [InlineData("/v1/agents/demo-agent/status", "{\"status\":\"suspended\",\"actor\":\"soc\"}", "actor is not accepted")]
    [InlineData("/v1/agents/demo-agent/delegations", "{\"actions\":[\"read_file\"],\"resources\":[\"*\"],\"expiresAt\":\"2099-01-01T00:00:00Z\",\"grantedBy\":\"g\"}", "grantedBy is not accepted")]
    public async Task Malformed_native_requests_are_400_problems(string path, string body, string expectedInDetail)
    {
        var http = await HttpAsync();

        var reply = await http.PostJsonAsync(path, body);

        Assert.Contains(expectedInDetail, reply.AssertProblem(HttpStatusCode.BadRequest));
    }

    [Theory]
    [InlineData("/v1/agents/nobody-here")]
    [InlineData("/v1/sessions/no-such-session")]
    [InlineData("/v1/policies/999999")]
    public async Task Unknown_ids_are_404_problems(string path)
    {
        var http = await HttpAsync();
        (await http.GetJsonAsync(path)).AssertProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Non_numeric_policy_version_is_a_400()
    {
        var http = await HttpAsync();
        Assert.Contains("positive integer", (await http.GetJsonAsync("/v1/policies/latest")).AssertProblem(HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Sessions_decide_record_outcomes_and_close()
    {
        var http = await HttpAsync();
        var unknownAgent = await http.PostJsonAsync("/v1/sessions", """{"agentId":"nobody-here"}""");
        var opened = await http.PostJsonAsync("/v1/sessions", """{"agentId":"demo-agent","lifetimeSeconds":600,"idleTimeoutSeconds":60}""");
        var id = opened.Json["id"]!.GetValue<string>();

        var decision = await http.PostJsonAsync($"/v1/sessions/{id}/decisions",
            """{"action":"read_file","resource":{"type":"Document","id":"q3","properties":{"fleet":"research"}},"input":{"path":"/q3.pdf"}}""");
        var decisionId = decision.Json["decisionId"]!.GetValue<string>();
        var outcome = await http.PostJsonAsync($"/v1/sessions/{id}/outcomes", $$$"""{"decisionId":"{{{decisionId}}}","kind":"response","output":{"pages":12}}""");
        var unknownOutcome = await http.PostJsonAsync($"/v1/sessions/{id}/outcomes", $$"""{"decisionId":"{{Guid.NewGuid()}}","kind":"error","error":"boom"}""");
        var badKind = await http.PostJsonAsync($"/v1/sessions/{id}/outcomes", $$"""{"decisionId":"{{decisionId}}","kind":"request"}""");
        var unknownSession = await http.PostJsonAsync("/v1/sessions/no-such-session/decisions", """{"action":"read_file","resource":{"type":"Document","id":"q3"}}""");
        var closed = await http.PostJsonAsync($"/v1/sessions/{id}/close", """{"reason":"done"}""");
        var afterClose = await http.PostJsonAsync($"/v1/sessions/{id}/decisions", """{"action":"read_file","resource":{"type":"Document","id":"q3","properties":{"fleet":"research"}}}""");
        var session = await http.GetJsonAsync($"/v1/sessions/{id}");

        unknownAgent.AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal(600, (opened.Json["expiresAt"]!.GetValue<DateTimeOffset>() - opened.Json["openedAt"]!.GetValue<DateTimeOffset>()).TotalSeconds);
        Assert.Equal(60, opened.Json["idleTimeoutSeconds"]!.GetValue<long>());
        Assert.Equal("Allow", decision.Json["outcome"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Accepted, outcome.Status);
        unknownOutcome.AssertProblem(HttpStatusCode.NotFound);
        badKind.AssertProblem(HttpStatusCode.BadRequest);
        unknownSession.AssertProblem(HttpStatusCode.NotFound);
        Assert.Equal("closed", closed.Json["status"]!.GetValue<string>());
        Assert.Equal("session-closed", afterClose.Json["denyReason"]!.GetValue<string>());
        var events = session.Json["events"]!.AsArray();
        Assert.Equal(["request", "response", "request"], events.Select(e => e!["kind"]!.GetValue<string>()));
        Assert.Equal("{\"pages\":12}", events[1]!["detail"]!.GetValue<string>());
        Assert.Equal("closed", session.Json["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Policies_publish_list_get_and_roll_back()
    {
        var http = await HttpAsync();
        var current = await http.GetJsonAsync("/v1/policies/current");
        var text = current.Json["policies"]!.GetValue<string>();

        var published = await http.PostJsonAsync("/v1/policies", new JsonObject { ["policies"] = text, ["note"] = "same text" }.ToJsonString());
        var version = published.Json["version"]!.GetValue<long>();
        var listed = await http.GetJsonAsync("/v1/policies");
        var fetched = await http.GetJsonAsync($"/v1/policies/{version}");
        var rolledBack = await http.PostJsonAsync("/v1/policies/rollback", """{"version":1}""");
        var missingRollback = await http.PostJsonAsync("/v1/policies/rollback", """{"version":424242}""");

        Assert.Equal(HttpStatusCode.Created, published.Status);
        Assert.Equal(6, published.Json["policyCount"]!.GetValue<int>());
        Assert.Equal(version, listed.Json[0]!["version"]!.GetValue<long>());
        Assert.Null(listed.Json[0]!["policies"]);
        Assert.Equal(text, fetched.Json["policies"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Created, rolledBack.Status);
        Assert.Equal(1, rolledBack.Json["rolledBackFrom"]!.GetValue<long>());
        Assert.Equal(version + 1, rolledBack.Json["version"]!.GetValue<long>());
        missingRollback.AssertProblem(HttpStatusCode.NotFound);

        // Leave the host's cache on the newest version so later tests see a settled policy.
        var cache = (await env.GetSharedHostAsync()).App.Services.GetRequiredService<PolicyCache>();
        Assert.Equal(version + 1, await Eventually.UntilAsync($"the host's policy cache at the rolled-back version {version + 1}", () => cache.Version, v => v >= version + 1));
    }

    [Fact]
    public async Task Bad_policy_text_is_a_400_with_line_and_column()
    {
        var http = await HttpAsync();
        var body = new JsonObject { ["policies"] = "permit (principal, action, resource);\n\npermit (principal, action resource);\n" }.ToJsonString();

        var reply = await http.PostJsonAsync("/v1/policies", body);

        var detail = reply.AssertProblem(HttpStatusCode.BadRequest);
        var error = reply.Json["errors"]!.AsArray().Single()!;
        Assert.Equal(3, error["line"]!.GetValue<int>());
        var column = error["column"]!.GetValue<int>();
        Assert.InRange(column, 2, 40);
        Assert.Equal("policies.cedar", error["source"]!.GetValue<string>());
        Assert.StartsWith($"policies.cedar:3:{column}:", detail);
    }

    [Fact]
    public async Task Bad_schema_text_is_a_400_with_its_location()
    {
        var http = await HttpAsync();
        var body = new JsonObject { ["policies"] = "permit (principal, action, resource);", ["schema"] = "entity Agent {\n  name: ,\n};" }.ToJsonString();

        var reply = await http.PostJsonAsync("/v1/policies", body);

        reply.AssertProblem(HttpStatusCode.BadRequest);
        var error = reply.Json["errors"]!.AsArray().Single()!;
        Assert.Equal("schema.cedarschema", error["source"]!.GetValue<string>());
        Assert.Equal(2, error["line"]!.GetValue<int>());
    }
}
