using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Tests;

public sealed class AuthzClientTests
{
    private static (AuthzClient Client, ScriptedHandler Handler) Create()
    {
        var handler = new ScriptedHandler();
        return (new AuthzClient(new HttpClient(handler) { BaseAddress = new Uri("http://authz.test:5080") }), handler);
    }

    [Fact]
    public async Task RegisterAgent_posts_camelCase_body_and_reads_the_agent()
    {
        var (client, handler) = Create();
        handler.On("POST", "/v1/agents", HttpStatusCode.Created, Samples.Agent);

        var agent = await client.RegisterAgentAsync(new RegisterAgentRequest("billing-bot", "Billing bot", "finance-ops", "billing", new Dictionary<string, string> { ["env"] = "prod" }));

        var body = JsonDocument.Parse(handler.Requests.Single().Body!).RootElement;
        Assert.Equal("billing-bot", body.GetProperty("id").GetString());
        Assert.Equal("finance-ops", body.GetProperty("owner").GetString());
        Assert.Equal("prod", body.GetProperty("labels").GetProperty("env").GetString());
        Assert.Equal(AgentStatus.Active, agent.Status);
        var delegation = Assert.Single(agent.Delegations!);
        Assert.Equal(["read_invoice", "refund"], delegation.Actions);
        Assert.Equal(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero), delegation.ExpiresAt);
    }

    [Fact]
    public async Task Status_change_is_sent_as_a_lowercase_string()
    {
        var (client, handler) = Create();
        handler.On("POST", "/v1/agents/billing-bot/status", HttpStatusCode.OK, Samples.Agent.Replace("\"active\"", "\"suspended\"", StringComparison.Ordinal));

        var agent = await client.SetAgentStatusAsync("billing-bot", new ChangeAgentStatusRequest(AgentStatus.Suspended, "incident 7"));

        Assert.Contains("\"status\":\"suspended\"", handler.Requests.Single().Body, StringComparison.Ordinal);
        Assert.Equal(AgentStatus.Suspended, agent.Status);
    }

    [Fact]
    public async Task Ids_are_escaped_into_one_path_segment()
    {
        var (client, handler) = Create();
        handler.On("GET", "/v1/agents/team%2Fbot%20one", HttpStatusCode.OK, Samples.Agent);

        await client.GetAgentAsync("team/bot one");

        Assert.Equal("/v1/agents/team%2Fbot%20one", handler.Requests.Single().Path);
    }

    [Theory]
    [InlineData("Allow", DecisionOutcome.Allow)]
    [InlineData("Deny", DecisionOutcome.Deny)]
    [InlineData("ApprovalRequired", DecisionOutcome.ApprovalRequired)]
    [InlineData("approvalRequired", DecisionOutcome.ApprovalRequired)]
    public async Task Decision_outcomes_are_read_whatever_their_case(string wire, DecisionOutcome expected)
    {
        var (client, handler) = Create();
        handler.On("POST", "/v1/sessions/s-42/decisions", HttpStatusCode.OK, Samples.Decision(wire));

        var decision = await client.DecideAsync("s-42", new DecisionRequest("refund", new ResourceRef("Invoice", "inv-7")));

        Assert.Equal(expected, decision.Outcome);
        Assert.Equal(expected == DecisionOutcome.Allow, decision.IsAllowed);
        Assert.Equal(3, decision.PolicyVersion);
    }

    [Fact]
    public async Task A_numeric_outcome_is_rejected_rather_than_read_as_allow()
    {
        var (client, handler) = Create();
        handler.On("POST", "/v1/sessions/s-42/decisions", HttpStatusCode.OK, Samples.Decision("x").Replace("\"x\"", "1", StringComparison.Ordinal));

        await Assert.ThrowsAsync<AuthzException>(() => client.DecideAsync("s-42", new DecisionRequest("refund", new ResourceRef("Invoice", "inv-7"))));
    }

    [Fact]
    public async Task Decision_request_carries_resource_context_and_input_objects()
    {
        var (client, handler) = Create();
        handler.On("POST", "/v1/sessions/s-42/decisions", HttpStatusCode.OK, Samples.Decision("Allow"));
        var input = JsonSerializer.SerializeToElement(new { amount = 120, currency = "EUR" });

        await client.DecideAsync("s-42", new DecisionRequest("refund", new ResourceRef("Invoice", "inv-7", JsonSerializer.SerializeToElement(new { owner = "acme" })), Input: input));

        var body = JsonDocument.Parse(handler.Requests.Single().Body!).RootElement;
        Assert.Equal("refund", body.GetProperty("action").GetString());
        Assert.Equal("Invoice", body.GetProperty("resource").GetProperty("type").GetString());
        Assert.Equal("inv-7", body.GetProperty("resource").GetProperty("id").GetString());
        Assert.Equal("acme", body.GetProperty("resource").GetProperty("properties").GetProperty("owner").GetString());
        Assert.Equal(120, body.GetProperty("input").GetProperty("amount").GetInt32());
        Assert.False(body.TryGetProperty("context", out _), "absent context must be omitted, not sent as null");
    }

    [Fact]
    public async Task Problem_details_with_policy_errors_become_an_AuthzApiException()
    {
        var (client, handler) = Create();
        handler.On("POST", "/v1/policies", _ =>
        {
            var response = ScriptedHandler.Respond(HttpStatusCode.BadRequest, Samples.PolicyProblem, "application/problem+json");
            response.Headers.Add("X-Request-ID", "req-9");
            return response;
        });

        var exception = await Assert.ThrowsAsync<AuthzApiException>(() => client.PublishPolicyAsync(new PublishPolicyRequest("permit(principal, action, resource)", null, "alice")));

        Assert.Equal(400, exception.Status);
        Assert.Equal("Policy is invalid", exception.Title);
        Assert.Equal("2 errors", exception.Detail);
        Assert.Equal("req-9", exception.RequestId);
        Assert.Equal(2, exception.Errors.Count);
        Assert.Equal((3, 7, "policies"), (exception.Errors[0].Line!.Value, exception.Errors[0].Column!.Value, exception.Errors[0].Source!));
        Assert.Equal("policies:3:7: expected ';'", exception.Errors[0].ToString());
    }

    [Fact]
    public async Task Validation_problems_with_field_errors_are_itemised()
    {
        var (client, handler) = Create();
        handler.On("POST", "/v1/agents", HttpStatusCode.BadRequest, """{"title":"One or more validation errors occurred.","status":400,"errors":{"owner":["The owner field is required."]}}""", "application/problem+json");

        var exception = await Assert.ThrowsAsync<AuthzApiException>(() => client.RegisterAgentAsync(new RegisterAgentRequest("a", "a", "", "f")));

        var item = Assert.Single(exception.Errors);
        Assert.Equal("owner", item.Field);
        Assert.Equal("owner: The owner field is required.", item.ToString());
    }

    [Fact]
    public async Task A_non_json_error_body_still_yields_status_and_text()
    {
        var (client, handler) = Create();
        handler.On("GET", "/v1/agents", HttpStatusCode.BadGateway, "upstream down", "text/plain");

        var exception = await Assert.ThrowsAsync<AuthzApiException>(() => client.ListAgentsAsync());

        Assert.Equal(502, exception.Status);
        Assert.Equal("upstream down", exception.Detail);
    }

    [Fact]
    public async Task Not_found_is_flagged()
    {
        var (client, _) = Create();

        var exception = await Assert.ThrowsAsync<AuthzApiException>(() => client.GetSessionAsync("nope"));

        Assert.True(exception.IsNotFound);
    }

    [Fact]
    public async Task A_closed_port_raises_AuthzUnavailableException()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new AuthzClient(new Uri($"http://127.0.0.1:{port}"));

        var exception = await Assert.ThrowsAsync<AuthzUnavailableException>(() => client.ListAgentsAsync());

        Assert.Equal("connection refused", exception.Reason);
        Assert.Equal(port, exception.BaseAddress.Port);
    }

    [Fact]
    public async Task Health_reports_not_ready_without_throwing()
    {
        var (client, handler) = Create();
        handler.On("GET", "/health/ready", HttpStatusCode.ServiceUnavailable, "Unhealthy", "text/plain");

        var health = await client.GetReadinessAsync();

        Assert.False(health.Healthy);
        Assert.Equal(503, health.StatusCode);
    }

    [Fact]
    public async Task Unknown_response_fields_are_kept()
    {
        var (client, handler) = Create();
        handler.On("GET", "/v1/sessions/s-42", HttpStatusCode.OK, Samples.Session.Replace("\"events\":[]", "\"events\":[],\"riskBudget\":50", StringComparison.Ordinal));

        var session = await client.GetSessionAsync("s-42");

        Assert.Equal(50, session.AdditionalProperties!["riskBudget"].GetInt32());
        Assert.Contains("\"riskBudget\":50", JsonSerializer.Serialize(session, AuthzClient.JsonOptions), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuthZen_evaluation_uses_snake_case_and_echoes_the_request_id_header()
    {
        var (client, handler) = Create();
        handler.On("POST", "/access/v1/evaluation", HttpStatusCode.OK, """{"decision":false,"context":{"decision_id":"d-9","outcome":"ApprovalRequired","policy_version":4,"reasons":["policy2"]}}""");

        var response = await client.EvaluateAsync(
            new AuthZenEvaluationRequest(AuthZenSubject.Agent("billing-bot"), new AuthZenAction("refund"), new AuthZenResource("Invoice", "inv-7"),
                AuthZenContext.Create("s-42", JsonSerializer.SerializeToElement(new { amount = 5 }))),
            requestId: "trace-1");

        var request = handler.Requests.Single();
        Assert.Equal("trace-1", request.Headers["X-Request-ID"]);
        var body = JsonDocument.Parse(request.Body!).RootElement;
        Assert.Equal("agent", body.GetProperty("subject").GetProperty("type").GetString());
        Assert.Equal("s-42", body.GetProperty("context").GetProperty("session_id").GetString());
        Assert.Equal(5, body.GetProperty("context").GetProperty("tool_input").GetProperty("amount").GetInt32());
        Assert.False(response.Decision);
        Assert.Equal(DecisionOutcome.ApprovalRequired, response.Context!.Outcome);
        Assert.Equal(4, response.Context.PolicyVersion);
        Assert.Equal("d-9", response.Context.DecisionId);
    }

    [Fact]
    public async Task AuthZen_batch_sends_the_semantic_option()
    {
        var (client, handler) = Create();
        handler.On("POST", "/access/v1/evaluations", HttpStatusCode.OK, """{"evaluations":[{"decision":true,"context":{"outcome":"Allow"}},{"decision":false,"context":{"outcome":"Deny","deny_reason":"no-delegation"}}]}""");

        var response = await client.EvaluateManyAsync(new AuthZenEvaluationsRequest(
            [new AuthZenEvaluationItem(Action: new AuthZenAction("read")), new AuthZenEvaluationItem(Action: new AuthZenAction("delete"))],
            Subject: AuthZenSubject.Agent("a"),
            Resource: new AuthZenResource("Doc", "1"),
            Options: new AuthZenEvaluationsOptions(AuthZenEvaluationSemantics.DenyOnFirstDeny)));

        Assert.Contains("\"evaluations_semantic\":\"deny_on_first_deny\"", handler.Requests.Single().Body, StringComparison.Ordinal);
        Assert.Equal([true, false], response.Evaluations.Select(evaluation => evaluation.Decision));
        Assert.Equal("no-delegation", response.Evaluations[1].Context!.DenyReason);
    }

    [Fact]
    public void A_base_address_with_a_path_keeps_the_path()
    {
        var handler = new ScriptedHandler();
        using var client = new AuthzClient(new HttpClient(handler) { BaseAddress = new Uri("http://gateway.test/authz") });

        Assert.Equal("http://gateway.test/authz/", client.BaseAddress.ToString());
    }
}
