using System.Net;
using System.Text.Json.Nodes;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Cluster.Tests.Approvals;

/// <summary>The approval workflow over real HTTP: AuthZEN's access_request, approvers' endpoints, the long-poll wait and the refusals.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ApprovalHttpTests(ClusterEnvironment env)
{
    private const string Agent = "demo-agent";
    private const string Owner = "alice@example.com";

    private static string Evaluation(string session, int amount, string? approvalId = null)
    {
        var context = new JsonObject { ["session_id"] = session, ["tool_input"] = new JsonObject { ["amount"] = amount } };
        if (approvalId is not null) context["approval_id"] = approvalId;
        return new JsonObject
        {
            ["subject"] = new JsonObject { ["type"] = "agent", ["id"] = Agent }, ["action"] = new JsonObject { ["name"] = "send_payment" },
            ["resource"] = new JsonObject { ["type"] = "Account", ["id"] = "acme" }, ["context"] = context,
        }.ToJsonString();
    }

    private static async Task<string> OpenSessionAsync(HttpClient agent)
    {
        var opened = await agent.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{Agent}}"}""");
        Assert.Equal(HttpStatusCode.Created, opened.Status);
        return opened.Json["id"]!.GetValue<string>();
    }

    private async Task<List<EvidenceBody>> GovernanceAsync() =>
        [.. (await new AzureTableEvidenceStore(env.Azurite.ConnectionString).ReadChainAsync(EvidenceChains.Governance)).Select(e => EvidenceSealer.ParseBody(e.Body))];

    [Fact]
    public async Task AuthZen_names_the_access_request_the_approver_decides_it_and_the_agent_uses_it_once()
    {
        var host = await env.GetSharedHostAsync();
        var agent = host.AsAgent(Agent);
        var approver = host.As(Roles.Approver);
        var session = await OpenSessionAsync(agent);

        var held = await agent.PostJsonAsync("/access/v1/evaluation", Evaluation(session, 500));
        Assert.Equal(HttpStatusCode.OK, held.Status);
        Assert.False(held.Json["decision"]!.GetValue<bool>());
        var request = held.Json["context"]!["access_request"]!;
        var id = request["id"]!.GetValue<string>();
        Assert.Equal(session, ApprovalIds.SessionOf(id));
        Assert.Matches("^sha256:[0-9a-f]{64}$", request["binding_digest"]!.GetValue<string>());
        Assert.True(DateTimeOffset.Parse(request["expires_at"]!.GetValue<string>()) > DateTimeOffset.UtcNow.AddMinutes(4));
        var waitUrl = request["status_endpoint"]!.GetValue<string>();
        Assert.Equal(new Uri(host.BaseAddress, $"/v1/approvals/{id}/wait").ToString(), waitUrl);

        var listed = await approver.GetJsonAsync("/v1/approvals?status=pending&limit=1000");
        Assert.Contains(listed.Json.AsArray(), a => a!["id"]!.GetValue<string>() == id);
        var shown = await approver.GetJsonAsync($"/v1/approvals/{id}");
        Assert.Equal(500, shown.Json["call"]!["input"]!["amount"]!.GetValue<int>());
        Assert.Equal(request["binding_digest"]!.GetValue<string>(), shown.Json["bindingDigest"]!.GetValue<string>());
        Assert.Contains(Agent, shown.Json["whoMayApprove"]!.GetValue<string>());

        var notYet = await agent.GetJsonAsync($"/v1/approvals/{id}/wait?timeoutSeconds=0");
        Assert.Equal("pending", notYet.Json["status"]!.GetValue<string>());
        var waiting = agent.GetJsonAsync($"/v1/approvals/{id}/wait?timeoutSeconds=30");
        var approved = await approver.PostJsonAsync($"/v1/approvals/{id}/approve", """{"comment":"invoice 42"}""");
        Assert.Equal(HttpStatusCode.OK, approved.Status);
        Assert.Equal("approved", approved.Json["status"]!.GetValue<string>());
        Assert.Equal("test-approver", approved.Json["approvals"]![0]!["approver"]!.GetValue<string>());
        Assert.Equal("approved", (await waiting).Json["status"]!.GetValue<string>());

        var changed = await agent.PostJsonAsync("/access/v1/evaluation", Evaluation(session, 501, id));
        Assert.Equal(ApprovalDenyReasons.Mismatch, changed.Json["context"]!["deny_reason"]!.GetValue<string>());
        var allowed = await agent.PostJsonAsync("/access/v1/evaluation", Evaluation(session, 500, id));
        Assert.True(allowed.Json["decision"]!.GetValue<bool>(), allowed.Json.ToJsonString());
        Assert.Equal(ApprovalActs.Consumed, allowed.Json["context"]!["approval"]!["act"]!.GetValue<string>());
        var again = await agent.PostJsonAsync("/access/v1/evaluation", Evaluation(session, 500, id));
        Assert.False(again.Json["decision"]!.GetValue<bool>());
        Assert.Equal(ApprovalDenyReasons.Used, again.Json["context"]!["deny_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_native_api_takes_an_approval_id_and_the_agent_can_cancel_its_request()
    {
        var host = await env.GetSharedHostAsync();
        var agent = host.AsAgent(Agent);
        var session = await OpenSessionAsync(agent);
        const string call = """{"action":"send_payment","resource":{"type":"Account","id":"acme"},"input":{"amount":70}}""";

        var held = await agent.PostJsonAsync($"/v1/sessions/{session}/decisions", call);
        Assert.Equal("ApprovalRequired", held.Json["outcome"]!.GetValue<string>());
        var id = held.Json["approval"]!["id"]!.GetValue<string>();
        Assert.EndsWith($"/v1/approvals/{id}/wait", held.Json["approval"]!["waitUrl"]!.GetValue<string>());

        var otherAgent = host.AsAgent("some-other-agent");
        (await otherAgent.PostJsonAsync($"/v1/approvals/{id}/cancel", "{}")).AssertProblem(HttpStatusCode.Forbidden);
        (await otherAgent.GetJsonAsync($"/v1/approvals/{id}")).AssertProblem(HttpStatusCode.Forbidden);

        var cancelled = await agent.PostJsonAsync($"/v1/approvals/{id}/cancel", """{"reason":"user changed their mind"}""");
        Assert.Equal("cancelled", cancelled.Json["status"]!.GetValue<string>());
        Assert.Equal($"agent-{Agent}", cancelled.Json["closedBy"]!.GetValue<string>());
        var used = await agent.PostJsonAsync($"/v1/sessions/{session}/decisions", call.Replace("}}", $"}},\"approvalId\":\"{id}\"}}"));
        Assert.Equal(ApprovalDenyReasons.Rejected, used.Json["denyReason"]!.GetValue<string>());
        (await host.As(Roles.Approver).PostJsonAsync($"/v1/approvals/{id}/approve", "{}")).AssertProblem(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task The_owner_the_requester_and_agent_tokens_are_refused_with_403_and_evidence()
    {
        var host = await env.GetSharedHostAsync();
        var session = await OpenSessionAsync(host.AsAgent(Agent));
        // The admin asks (as an enforcement point might): the admin may then not approve its own request.
        var held = await host.Http.PostJsonAsync("/access/v1/evaluation", Evaluation(session, 900));
        var id = held.Json["context"]!["access_request"]!["id"]!.GetValue<string>();

        var agentToken = await host.AsAgent(Agent).PostJsonAsync($"/v1/approvals/{id}/approve", "{}");
        Assert.Contains("approvals:decide", agentToken.AssertProblem(HttpStatusCode.Forbidden));
        var owner = await host.ClientWith(TestTokens.Mint(Owner, [Roles.Approver])).PostJsonAsync($"/v1/approvals/{id}/approve", "{}");
        Assert.Contains("owns agent", owner.AssertProblem(HttpStatusCode.Forbidden));
        var requester = await host.Http.PostJsonAsync($"/v1/approvals/{id}/reject", """{"reason":"my own"}""");
        Assert.Contains("requested the call", requester.AssertProblem(HttpStatusCode.Forbidden));
        var approverAgent = await host.ClientWith(TestTokens.Mint("mixed", [Roles.Approver], agentId: "helper-bot")).PostJsonAsync($"/v1/approvals/{id}/approve", "{}");
        Assert.Contains("agents never approve", approverAgent.AssertProblem(HttpStatusCode.Forbidden));

        var status = await host.As(Roles.Approver).GetJsonAsync($"/v1/approvals/{id}");
        Assert.Equal("pending", status.Json["status"]!.GetValue<string>());
        var governance = await GovernanceAsync();
        Assert.Contains(governance, g => g.Action == CallerAccess.RefusedAction && g.Actor == $"agent-{Agent}" && g.Resource == $"POST /v1/approvals/{id}/approve");
        Assert.Contains(governance, g => g.Action == "approval-refused" && g.Actor == Owner && g.ApprovalIds!.Contains(id));
        Assert.Contains(governance, g => g.Action == "approval-refused" && g.Actor == TestTokens.AdminSubject && g.ApprovalIds!.Contains(id));
        Assert.Contains(governance, g => g.Action == "approval-refused" && g.Actor == "mixed" && g.ApprovalIds!.Contains(id));
    }

    [Theory]
    [InlineData("GET", "/v1/approvals/not-an-approval", null, HttpStatusCode.BadRequest, "is not an approval id")]
    [InlineData("GET", "/v1/approvals?status=maybe", null, HttpStatusCode.BadRequest, "status must be one of")]
    [InlineData("GET", "/v1/approvals?limit=0", null, HttpStatusCode.BadRequest, "limit must be an integer")]
    [InlineData("GET", "/v1/approvals/s1~0123456789abcdef/wait?timeoutSeconds=61", null, HttpStatusCode.BadRequest, "timeoutSeconds must be an integer")]
    [InlineData("GET", "/v1/approvals/s1~0123456789ABCDEF", null, HttpStatusCode.BadRequest, "is not an approval id")]
    [InlineData("GET", "/v1/approvals/s1~0123456789abcdef", null, HttpStatusCode.NotFound, "not found")]
    [InlineData("POST", "/v1/approvals/s1~0123456789abcdef/approve", "{}", HttpStatusCode.NotFound, "not found")]
    [InlineData("POST", "/v1/approvals/s1~0123456789abcdef/approve", """{"approver":"me"}""", HttpStatusCode.BadRequest, "approver")]
    [InlineData("POST", "/v1/approvals/s1~0123456789abcdef/approve", """{"comment":5}""", HttpStatusCode.BadRequest, "comment")]
    [InlineData("POST", "/v1/approvals/s1~0123456789abcdef/reject", "{}", HttpStatusCode.BadRequest, "reason")]
    [InlineData("POST", "/v1/approvals/s1~0123456789abcdef/reject", """{"reason":""}""", HttpStatusCode.BadRequest, "reason")]
    public async Task Bad_input_is_a_clear_4xx(string method, string path, string? body, HttpStatusCode status, string mentions)
    {
        var host = await env.GetSharedHostAsync();
        var reply = await host.Http.SendAsync(new HttpMethod(method), path, body);
        Assert.Contains(mentions, reply.AssertProblem(status));
    }

    [Fact]
    public async Task A_malformed_approval_id_in_a_decision_request_is_a_400()
    {
        var host = await env.GetSharedHostAsync();
        var agent = host.AsAgent(Agent);
        var session = await OpenSessionAsync(agent);
        var native = await agent.PostJsonAsync($"/v1/sessions/{session}/decisions",
            """{"action":"send_payment","resource":{"type":"Account","id":"acme"},"approvalId":"nope"}""");
        Assert.Contains("approvalId", native.AssertProblem(HttpStatusCode.BadRequest));
        var authzen = await agent.PostJsonAsync("/access/v1/evaluation", Evaluation(session, 5).Replace("\"session_id\"", "\"approval_id\":5,\"session_id\""));
        Assert.Contains("context.approval_id", authzen.AssertProblem(HttpStatusCode.BadRequest));
    }

    [Theory]
    [InlineData("5")]
    [InlineData("86401")]
    public async Task An_approval_expiry_out_of_bounds_stops_the_silo_naming_the_key(string seconds)
    {
        var id = "expiry-" + Guid.NewGuid().ToString("N")[..8];
        var app = RuntimeAuthz.Silo.SiloHost.Build(
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Production", TestTokens.AuthorityArgument,
            $"--Storage:ConnectionString={env.Azurite.ConnectionString}", $"--Orleans:ServiceId={id}", $"--Orleans:ClusterId={id}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}", $"--Approvals:ExpirySeconds={seconds}",
        ]);
        try
        {
            var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());
            Assert.Contains("Approvals:ExpirySeconds", error.Message);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("required", 1)]
    [InlineData("3", 3)]
    [InlineData("none", 0)]
    public void Approval_annotations_compile_to_the_number_of_approvers(string value, int approvers)
    {
        Assert.Empty(CompiledPolicy.Check($"@approval(\"{value}\")\npermit (principal, action, resource);", schema: null, out _));
        var compiled = CompiledPolicy.FromRecord(new PolicyVersionRecord { Version = 1, Policies = $"@approval(\"{value}\")\npermit (principal, action, resource);" });
        Assert.Equal(approvers, compiled.TraitsOf(compiled.Traits.Keys).Approvers);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("11")]
    [InlineData("two")]
    public void An_approval_quorum_out_of_bounds_is_rejected_at_publish(string value)
    {
        var issue = Assert.Single(CompiledPolicy.Check($"@approval(\"{value}\")\npermit (principal, action, resource);", schema: null, out _));
        Assert.Contains("number of distinct approvers from 1 to 10", issue.Message);
    }
}
