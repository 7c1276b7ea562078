using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using RuntimeAuthz.Client;
using RuntimeAuthz.Enforcement.Tests.Infrastructure;
using RuntimeAuthz.HttpGateway;

namespace RuntimeAuthz.Enforcement.Tests.HttpGateway;

/// <summary>
/// The HTTP gateway in front of the recording API, against the real silo: what reaches the API is proven by the API's own
/// request log, what the cluster recorded by the session's timeline.
/// </summary>
[Collection(EnforcementCollection.Name)]
public sealed class HttpGatewayTests(EnforcementEnvironment environment)
{
    private static readonly string[] Payments = ["send_payment"];

    [Fact]
    public async Task An_allowed_call_reaches_the_api_without_the_agent_token_and_its_answer_is_the_outcome()
    {
        await environment.RegisterAgentAsync("gw-reader", ["read_file"], ["Document"]);
        var gateway = await RunningGateway.StartAsync(environment);
        var agent = gateway.ClientWith(await environment.AgentTokenAsync("gw-reader"));

        var answer = await agent.GetAsync("/documents/reader-q3");

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var body = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!;
        Assert.Equal("reader-q3", body["id"]!.GetValue<string>());
        var received = Assert.Single(environment.Api.ReceivedFor("/documents/reader-q3"));
        Assert.Equal("GET", received.Method);
        Assert.False(received.HadAuthorization, "the agent's token must not reach the upstream");
        var session = Assert.Single(await environment.SessionsOfAsync("gw-reader"));
        Assert.Equal([SessionEventKind.Request, SessionEventKind.Response], session.Events!.Select(e => e.Kind));
        Assert.Equal(DecisionOutcome.Allow, session.Events![0].Outcome);
        Assert.Equal("read_file", session.Events[0].Action);
        Assert.Equal("Document::\"reader-q3\"", session.Events[0].Resource);
        Assert.Equal(session.Events[0].DecisionId, session.Events[1].DecisionId);
    }

    [Fact]
    public async Task An_upstream_failure_is_passed_back_and_reported_as_an_error_outcome()
    {
        await environment.RegisterAgentAsync("gw-outcomes", ["read_file"], ["Document"]);
        var gateway = await RunningGateway.StartAsync(environment);
        var agent = gateway.ClientWith(await environment.AgentTokenAsync("gw-outcomes"));

        var answer = await agent.GetAsync("/broken/outcomes-doc");

        Assert.Equal(HttpStatusCode.InternalServerError, answer.StatusCode);
        Assert.Single(environment.Api.ReceivedFor("/broken/outcomes-doc"));
        var session = Assert.Single(await environment.SessionsOfAsync("gw-outcomes"));
        Assert.Equal([SessionEventKind.Request, SessionEventKind.Error], session.Events!.Select(e => e.Kind));
    }

    [Fact]
    public async Task A_denied_call_never_reaches_the_api_and_the_problem_says_why()
    {
        await environment.RegisterAgentAsync("gw-deleter", ["delete_database"], ["Database"]);
        var gateway = await RunningGateway.StartAsync(environment);
        var agent = gateway.ClientWith(await environment.AgentTokenAsync("gw-deleter"));

        var answer = await agent.DeleteAsync("/databases/deleter-prod");

        var problem = await ProblemAsync(answer, HttpStatusCode.Forbidden);
        Assert.Equal("Denied", problem["title"]!.GetValue<string>());
        Assert.Equal(DenyReasons.NotPermitted, problem["denyReason"]!.GetValue<string>());
        Assert.Equal([TestPolicy.NeverDeleteDatabases], problem["policyIds"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Contains(TestPolicy.NeverDeleteDatabases, problem["detail"]!.GetValue<string>());
        Assert.True(Guid.TryParse(problem["decisionId"]!.GetValue<string>(), out _));
        Assert.Empty(environment.Api.ReceivedFor("/databases/deleter-prod"));
    }

    [Fact]
    public async Task A_call_held_for_approval_reaches_the_api_exactly_once_after_it_is_approved()
    {
        await environment.RegisterAgentAsync("gw-payer", Payments, ["Account"]);
        var gateway = await RunningGateway.StartAsync(environment, extra: $"--{GatewayOptions.Section}:ApprovalWaitSeconds=60");
        var agent = gateway.ClientWith(await environment.AgentTokenAsync("gw-payer"));

        var held = agent.PostAsync("/accounts/payer-acme/payments", Json("""{"amount": 500}"""));
        var approval = await environment.PendingApprovalOfAsync("gw-payer");
        Assert.False(held.IsCompleted, "the call must be held while the approval is pending");
        Assert.Empty(environment.Api.ReceivedFor("/accounts/payer-acme"));
        await environment.ApproverClient.ApproveAsync(approval.Id, new ApproveRequest("invoice 42"));
        var answer = await held;

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.NotNull(JsonNode.Parse(await answer.Content.ReadAsStringAsync())!["paymentId"]);
        var payment = Assert.Single(environment.Api.ReceivedFor("/accounts/payer-acme"));
        Assert.Equal(500, JsonNode.Parse(payment.Body)!["amount"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_call_still_pending_is_answered_with_its_approval_id_and_the_retry_after_approval_runs_once()
    {
        await environment.RegisterAgentAsync("gw-retry", Payments, ["Account"]);
        var gateway = await RunningGateway.StartAsync(environment, extra: $"--{GatewayOptions.Section}:ApprovalWaitSeconds=0");
        var agent = gateway.ClientWith(await environment.AgentTokenAsync("gw-retry"));
        const string path = "/accounts/retry-acme/payments";

        var pending = await ProblemAsync(await agent.PostAsync(path, Json("""{"amount": 700}""")), HttpStatusCode.Conflict);
        Assert.Equal("Approval pending", pending["title"]!.GetValue<string>());
        var approvalId = pending["approvalId"]!.GetValue<string>();
        Assert.Equal(approvalId, (await environment.PendingApprovalOfAsync("gw-retry")).Id);
        Assert.Empty(environment.Api.ReceivedFor("/accounts/retry-acme"));

        await environment.ApproverClient.ApproveAsync(approvalId);
        // The same call again (its JSON spelled differently): the gateway waits on the same approval, then forwards it.
        var performed = await agent.PostAsync(path, Json("""{ "amount" : 700 }"""));
        Assert.Equal(HttpStatusCode.OK, performed.StatusCode);
        Assert.Single(environment.Api.ReceivedFor("/accounts/retry-acme"));

        // The approval was used: the next payment asks again and does not run.
        var again = await ProblemAsync(await agent.PostAsync(path, Json("""{"amount": 700}""")), HttpStatusCode.Conflict);
        Assert.NotEqual(approvalId, again["approvalId"]!.GetValue<string>());
        Assert.Single(environment.Api.ReceivedFor("/accounts/retry-acme"));
    }

    [Fact]
    public async Task A_rejected_approval_is_refused_and_never_forwarded()
    {
        await environment.RegisterAgentAsync("gw-rejected", Payments, ["Account"]);
        var gateway = await RunningGateway.StartAsync(environment, extra: $"--{GatewayOptions.Section}:ApprovalWaitSeconds=0");
        var agent = gateway.ClientWith(await environment.AgentTokenAsync("gw-rejected"));
        const string path = "/accounts/rejected-acme/payments";

        var pending = await ProblemAsync(await agent.PostAsync(path, Json("""{"amount": 900}""")), HttpStatusCode.Conflict);
        await environment.ApproverClient.RejectAsync(pending["approvalId"]!.GetValue<string>(), "not this vendor");
        var refused = await ProblemAsync(await agent.PostAsync(path, Json("""{"amount": 900}""")), HttpStatusCode.Forbidden);

        Assert.Equal("Approval rejected", refused["title"]!.GetValue<string>());
        Assert.Contains("not this vendor", refused["detail"]!.GetValue<string>());
        Assert.Empty(environment.Api.ReceivedFor("/accounts/rejected-acme"));
    }

    [Fact]
    public async Task With_the_cluster_unreachable_nothing_is_forwarded()
    {
        var gateway = await RunningGateway.StartAsync(environment, clusterUrl: new Uri($"http://127.0.0.1:{FreePorts.Next()}"));
        var agent = gateway.ClientWith(await environment.AgentTokenAsync("gw-offline"));

        var read = await ProblemAsync(await agent.GetAsync("/documents/offline-doc"), HttpStatusCode.ServiceUnavailable);
        var pay = await ProblemAsync(await agent.PostAsync("/accounts/offline-acme/payments", Json("""{"amount": 1}""")), HttpStatusCode.ServiceUnavailable);

        Assert.Equal("authorization-unavailable", read["denyReason"]!.GetValue<string>());
        Assert.Contains("not forwarded", pay["detail"]!.GetValue<string>());
        Assert.Empty(environment.Api.ReceivedFor("/documents/offline-doc"));
        Assert.Empty(environment.Api.ReceivedFor("/accounts/offline-acme"));
    }

    [Fact]
    public async Task Each_session_label_is_its_own_authorization_session_and_no_label_is_the_agents_own()
    {
        await environment.RegisterAgentAsync("gw-sessions", ["read_file"], ["Document"]);
        var gateway = await RunningGateway.StartAsync(environment);
        var token = await environment.AgentTokenAsync("gw-sessions");

        foreach (var (label, document) in new[] { ("nightly-report", "s1"), ("nightly-report", "s2"), ("ingest", "s3"), (null, "s4"), (null, "s5") })
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.ClientWith(token, label).GetAsync($"/documents/sessions-{document}")).StatusCode);
        }

        var sessions = await environment.SessionsOfAsync("gw-sessions");
        var documentsPerSession = sessions.Select(s => string.Join(",", s.Events!.Where(e => e.Kind == SessionEventKind.Request).Select(e => e.Resource)))
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["Document::\"sessions-s1\",Document::\"sessions-s2\"", "Document::\"sessions-s3\"", "Document::\"sessions-s4\",Document::\"sessions-s5\""],
            documentsPerSession);
        Assert.All(environment.Api.ReceivedFor("/documents/sessions-"), r => Assert.Null(r.SessionHeader));
    }

    [Fact]
    public async Task A_session_the_cluster_ended_is_replaced_and_the_call_decided_in_a_new_one()
    {
        await environment.RegisterAgentAsync("gw-renew", ["read_file"], ["Document"]);
        var gateway = await RunningGateway.StartAsync(environment);
        var agent = gateway.ClientWith(await environment.AgentTokenAsync("gw-renew"));
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync("/documents/renew-1")).StatusCode);
        var first = Assert.Single(await environment.SessionsOfAsync("gw-renew"));
        await environment.AdminClient.CloseSessionAsync(first.Id, new CloseSessionRequest("ended by the tests"));

        var answer = await agent.GetAsync("/documents/renew-2");

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Single(environment.Api.ReceivedFor("/documents/renew-2"));
        var sessions = await environment.SessionsOfAsync("gw-renew");
        Assert.Equal(2, sessions.Count);
        var closed = sessions.Single(s => s.Id == first.Id);
        Assert.Equal(SessionStatus.Closed, closed.Status);
        Assert.DoesNotContain(closed.Events!, e => e.Outcome == DecisionOutcome.Allow && e.Resource == "Document::\"renew-2\"");
        var renewed = sessions.Single(s => s.Id != first.Id);
        Assert.Equal(["Document::\"renew-2\""], renewed.Events!.Where(e => e.Kind == SessionEventKind.Request).Select(e => e.Resource));
    }

    [Theory]
    [InlineData("text/plain", "amount=5", HttpStatusCode.UnsupportedMediaType, "must be JSON")]
    [InlineData("application/json", "{\"amount\": ", HttpStatusCode.BadRequest, "not valid JSON")]
    [InlineData("application/json", "{\"memo\": \"" + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" + "\"}", HttpStatusCode.RequestEntityTooLarge, "larger than 64 bytes")]
    public async Task A_body_that_is_not_usable_tool_input_is_refused_before_any_decision(string contentType, string body, HttpStatusCode status, string detail)
    {
        var gateway = await RunningGateway.StartAsync(environment, extra: $"--{GatewayOptions.Section}:MaxBodyBytes=64");
        var agent = gateway.ClientWith(await environment.AgentTokenAsync("gw-input"));
        var path = $"/accounts/input-{(int)status}/payments";

        var problem = await ProblemAsync(await agent.PostAsync(path, new StringContent(body, Encoding.UTF8, contentType)), status);

        Assert.Contains(detail, problem["detail"]!.GetValue<string>());
        Assert.Empty(environment.Api.ReceivedFor($"/accounts/input-{(int)status}"));
        Assert.Empty(await environment.SessionsOfAsync("gw-input"));
    }

    [Fact]
    public async Task Callers_that_are_not_agents_labels_that_are_not_labels_and_unrouted_calls_are_refused()
    {
        var gateway = await RunningGateway.StartAsync(environment);
        var agentToken = await environment.AgentTokenAsync("gw-input");

        var anonymous = await ProblemAsync(await gateway.ClientWith(null).GetAsync("/documents/refused-1"), HttpStatusCode.Unauthorized);
        var forged = await ProblemAsync(await gateway.ClientWith("not-a-token").GetAsync("/documents/refused-2"), HttpStatusCode.Unauthorized);
        var approver = await ProblemAsync(await gateway.ClientWith(await environment.Issuer.GetTokenAsync(EnforcementEnvironment.Approver)).GetAsync("/documents/refused-3"), HttpStatusCode.Forbidden);
        var badLabel = await ProblemAsync(await gateway.ClientWith(agentToken, "../other agent").GetAsync("/documents/refused-4"), HttpStatusCode.BadRequest);
        var unrouted = await ProblemAsync(await gateway.ClientWith(agentToken).PostAsync("/admin/refused-5", Json("{}")), HttpStatusCode.NotFound);
        var wrongMethod = await gateway.ClientWith(agentToken).DeleteAsync("/documents/refused-6");

        Assert.Contains("bearer token is required", anonymous["detail"]!.GetValue<string>());
        Assert.Contains("was refused", forged["detail"]!.GetValue<string>());
        Assert.Contains("is not an agent", approver["detail"]!.GetValue<string>());
        Assert.Contains(GatewayHeaders.Session, badLabel["detail"]!.GetValue<string>());
        Assert.Contains("no gateway route maps POST /admin/refused-5", unrouted["detail"]!.GetValue<string>());
        Assert.False(wrongMethod.IsSuccessStatusCode);
        Assert.Empty(environment.Api.ReceivedFor("/documents/refused-"));
        Assert.Empty(environment.Api.ReceivedFor("/admin"));
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(text)!;
    }
}
