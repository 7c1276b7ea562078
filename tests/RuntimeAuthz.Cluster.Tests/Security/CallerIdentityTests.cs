using System.Net;
using System.Text.Json.Nodes;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Cluster.Tests.Security;

/// <summary>Agents act only for themselves, actors come from the token, and nobody grants authority to themselves.</summary>
[Collection(ClusterCollection.Name)]
public sealed class CallerIdentityTests(ClusterEnvironment env)
{
    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    private static async Task RegisterAsync(HttpClient admin, string id, string owner = "owner@example.com")
    {
        var reply = await admin.PostJsonAsync("/v1/agents", $$"""{"id":"{{id}}","name":"n","owner":"{{owner}}","fleet":"research"}""");
        Assert.Equal(HttpStatusCode.Created, reply.Status);
    }

    private static async Task<string> OpenSessionAsync(HttpClient http, string agentId)
    {
        var reply = await http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{agentId}}"}""");
        Assert.Equal(HttpStatusCode.Created, reply.Status);
        return reply.Json["id"]!.GetValue<string>();
    }

    private static string Evaluation(string agent, string session) =>
        $$$"""{"subject":{"type":"agent","id":"{{{agent}}}"},"action":{"name":"read_file"},"resource":{"type":"Document","id":"q3-report","properties":{"fleet":"research"}},"context":{"session_id":"{{{session}}}"}}""";

    /// <summary>The governance chain's records, as JSON bodies.</summary>
    private static async Task<IReadOnlyList<JsonNode>> GovernanceRecordsAsync(HttpClient admin)
    {
        var reply = await admin.GetJsonAsync("/v1/evidence/governance");
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json["records"]!.AsArray().Select(r => JsonNode.Parse(r!["body"]!.GetValue<string>())!).ToArray();
    }

    [Fact]
    public async Task Agent_A_cannot_touch_agent_B_sessions_and_each_refusal_is_evidence_naming_A()
    {
        var host = await env.GetSharedHostAsync();
        var (a, b) = (NewId("agent-a"), NewId("agent-b"));
        await RegisterAsync(host.Http, a);
        await RegisterAsync(host.Http, b);
        var sessionOfB = await OpenSessionAsync(host.Http, b);
        var asA = host.AsAgent(a);
        var subjectOfA = $"agent-{a}";

        var refusals = new Dictionary<string, HttpReply>
        {
            ["open"] = await asA.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{b}}"}"""),
            ["decide (native)"] = await asA.PostJsonAsync($"/v1/sessions/{sessionOfB}/decisions", """{"action":"read_file","resource":{"type":"Document","id":"q3-report"}}"""),
            ["decide as B (AuthZEN)"] = await asA.PostJsonAsync("/access/v1/evaluation", Evaluation(b, sessionOfB)),
            ["decide in B's session (AuthZEN)"] = await asA.PostJsonAsync("/access/v1/evaluation", Evaluation(a, sessionOfB)),
            ["decide in a batch"] = await asA.PostJsonAsync("/access/v1/evaluations", $$"""{"evaluations":[{{Evaluation(b, sessionOfB)}}]}"""),
            ["report outcome"] = await asA.PostJsonAsync($"/v1/sessions/{sessionOfB}/outcomes", $$"""{"decisionId":"{{Guid.NewGuid()}}","kind":"response"}"""),
            ["read"] = await asA.GetJsonAsync($"/v1/sessions/{sessionOfB}"),
            ["close"] = await asA.PostJsonAsync($"/v1/sessions/{sessionOfB}/close", "{}"),
        };

        foreach (var (what, reply) in refusals)
        {
            Assert.True(reply.Status == HttpStatusCode.Forbidden, $"{what}: {(int)reply.Status} {reply.Body?.ToJsonString()}");
            Assert.Contains(b, reply.AssertProblem(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        }
        var evidence = (await GovernanceRecordsAsync(host.Http))
            .Where(r => r["actor"]?.GetValue<string>() == subjectOfA && r["action"]?.GetValue<string>() == CallerAccess.RefusedAction).ToArray();
        Assert.Equal(refusals.Count, evidence.Length);
        Assert.All(evidence, r => Assert.Equal(b, r["agentId"]!.GetValue<string>()));
        // B's session is untouched: still open, nothing decided.
        var session = await host.Http.GetJsonAsync($"/v1/sessions/{sessionOfB}");
        Assert.Equal("open", session.Json["status"]!.GetValue<string>());
        Assert.Equal(0, session.Json["decisionCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task An_agent_token_works_for_its_own_sessions()
    {
        var host = await env.GetSharedHostAsync();
        var asDemo = host.AsAgent("demo-agent");

        var session = await OpenSessionAsync(asDemo, "demo-agent");
        var decided = await asDemo.PostJsonAsync("/access/v1/evaluation", Evaluation("demo-agent", session));
        var decisionId = decided.Json["context"]!["decision_id"]!.GetValue<string>();
        var reported = await asDemo.PostJsonAsync($"/v1/sessions/{session}/outcomes", $$$"""{"decisionId":"{{{decisionId}}}","kind":"response","output":{"ok":true}}""");
        var read = await asDemo.GetJsonAsync($"/v1/sessions/{session}");
        var closed = await asDemo.PostJsonAsync($"/v1/sessions/{session}/close", "{}");

        Assert.True(decided.Json["decision"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.Accepted, reported.Status);
        Assert.Equal(2, read.Json["totalEvents"]!.GetValue<long>());
        Assert.Equal("closed", closed.Json["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_pep_acts_only_for_the_agents_its_token_names()
    {
        var host = await env.GetSharedHostAsync();
        var other = NewId("pep-other");
        await RegisterAsync(host.Http, other);
        var pep = host.ClientWith(TestTokens.ForPep("gateway-1", "demo-agent"));

        var own = await pep.PostJsonAsync("/v1/sessions", """{"agentId":"demo-agent"}""");
        var foreign = await pep.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{other}}"}""");
        var anyAgent = await host.ClientWith(TestTokens.ForPep("gateway-any", Caller.AnyAgent)).PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{other}}"}""");

        var session = own.Json["id"]!.GetValue<string>();
        var decided = await pep.PostJsonAsync("/access/v1/evaluation", Evaluation("demo-agent", session));
        var native = await pep.PostJsonAsync($"/v1/sessions/{session}/decisions", """{"action":"read_file","resource":{"type":"Document","id":"q3-report"}}""");
        var records = (await host.Http.GetJsonAsync($"/v1/evidence/sessions/{session}")).Json["records"]!.AsArray()
            .Select(r => JsonNode.Parse(r!["body"]!.GetValue<string>())!).ToArray();

        Assert.Equal(HttpStatusCode.Created, own.Status);
        Assert.Equal(HttpStatusCode.OK, decided.Status);
        Assert.Equal(HttpStatusCode.OK, native.Status);
        Assert.Equal(3, records.Length); // the open record (opened by the pep too) and the two decisions
        Assert.All(records, r => Assert.Equal("gateway-1", r["actor"]!.GetValue<string>()));
        Assert.Contains("gateway-1", foreign.AssertProblem(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, anyAgent.Status);
    }

    [Fact]
    public async Task Governance_evidence_for_grant_revocation_and_publish_names_the_token_subject()
    {
        var host = await env.GetSharedHostAsync();
        var subject = NewId("gov");
        var governance = host.ClientWith(TestTokens.Mint(subject, [Roles.Governance]));
        var agent = NewId("actor-agent");
        await RegisterAsync(host.Http, agent);

        var forged = await governance.PostJsonAsync($"/v1/agents/{agent}/grants",
            """{"actions":["read_file"],"resources":["Document::*"],"expiresAt":"2099-01-01T00:00:00Z","grantedBy":"someone-else"}""");
        var granted = await governance.PostJsonAsync($"/v1/agents/{agent}/grants",
            """{"actions":["read_file"],"resources":["Document::*"],"expiresAt":"2099-01-01T00:00:00Z","purpose":"actors"}""");
        var grantId = granted.Json["id"]!.GetValue<string>();
        var revoked = await governance.PostJsonAsync($"/v1/agents/{agent}/grants/{grantId}/revoke", """{"reason":"actors test"}""");
        var current = (await governance.GetJsonAsync("/v1/policies/current")).Json;
        var published = await governance.PostJsonAsync("/v1/policies",
            new JsonObject { ["policies"] = current["policies"]!.GetValue<string>(), ["schema"] = current["schema"]?.GetValue<string>(), ["note"] = "actors test" }.ToJsonString());

        Assert.Contains("grantedBy", forged.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Equal(subject, granted.Json["grantedBy"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, revoked.Status);
        Assert.Equal(subject, revoked.Json["revoked"]![0]!["grant"]!["revokedBy"]!.GetValue<string>());
        Assert.Equal(subject, published.Json["author"]!.GetValue<string>());
        Assert.Equal(TestTokens.Issuer, granted.Json["grantedByIssuer"]!.GetValue<string>());
        Assert.Equal(TestTokens.Issuer, revoked.Json["revoked"]![0]!["grant"]!["revokedByIssuer"]!.GetValue<string>());
        Assert.Equal(TestTokens.Issuer, published.Json["authorIssuer"]!.GetValue<string>());
        var mine = (await GovernanceRecordsAsync(host.Http)).Where(r => r["actor"]?.GetValue<string>() == subject).ToArray();
        Assert.Contains(mine, r => r["kind"]!.GetValue<string>() == "grant" && r["agentId"]!.GetValue<string>() == agent);
        Assert.Contains(mine, r => r["kind"]!.GetValue<string>() == "revocation" && r["agentId"]!.GetValue<string>() == agent);
        Assert.Contains(mine, r => r["kind"]!.GetValue<string>() == "policy-publish"
            && r["policyVersion"]!.GetValue<long>() == published.Json["version"]!.GetValue<long>());
        Assert.All(mine, r => Assert.Contains($"\"actorIssuer\":\"{TestTokens.Issuer}\"", r["input"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.DoesNotContain(mine, r => r.ToJsonString().Contains("someone-else", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Nobody_grants_authority_to_an_agent_they_own_or_are()
    {
        var host = await env.GetSharedHostAsync();
        var subject = NewId("owner");
        var owned = NewId("owned-agent");
        await RegisterAsync(host.Http, owned, owner: subject);
        var ownerToken = host.ClientWith(TestTokens.Mint(subject, [Roles.Governance]));
        var agentAdmin = host.ClientWith(TestTokens.Mint(NewId("agent-admin"), [Roles.Admin], agentId: owned));
        const string grant = """{"actions":["read_file"],"resources":["Document::*"],"expiresAt":"2099-01-01T00:00:00Z"}""";
        var session = await OpenSessionAsync(host.Http, owned);

        var byOwner = await ownerToken.PostJsonAsync($"/v1/agents/{owned}/grants", grant);
        var delegationByOwner = await ownerToken.PostJsonAsync($"/v1/agents/{owned}/delegations", grant);
        var elevationByOwner = await ownerToken.PostJsonAsync($"/v1/sessions/{session}/elevations", """{"actions":["read_file"],"resources":["Document::*"],"durationSeconds":60}""");
        var bySelf = await agentAdmin.PostJsonAsync($"/v1/agents/{owned}/grants", grant);
        var byOther = await host.Http.PostJsonAsync($"/v1/agents/{owned}/grants", grant);

        foreach (var refused in new[] { byOwner, delegationByOwner, elevationByOwner, bySelf })
            Assert.Contains("self-grant refused", refused.AssertProblem(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, byOther.Status);
        var evidence = (await GovernanceRecordsAsync(host.Http)).Where(r => r["agentId"]?.GetValue<string>() == owned
            && r["action"]?.GetValue<string>() == CallerAccess.RefusedAction).ToArray();
        Assert.Equal(4, evidence.Length);
        Assert.Equal(3, evidence.Count(r => r["actor"]!.GetValue<string>() == subject));
    }

    [Fact]
    public async Task Agent_tokens_never_reach_governance_and_responders_only_suspend()
    {
        var host = await env.GetSharedHostAsync();
        var agent = NewId("gov-target");
        await RegisterAsync(host.Http, agent);
        var asAgent = host.AsAgent(agent);
        var responder = host.As(Roles.Responder);

        var selfGrant = await asAgent.PostJsonAsync($"/v1/agents/{agent}/grants", """{"actions":["*"],"resources":["*"],"expiresAt":"2099-01-01T00:00:00Z"}""");
        var publish = await asAgent.PostJsonAsync("/v1/policies", """{"policies":"permit (principal, action, resource);"}""");
        var suspended = await responder.PostJsonAsync($"/v1/agents/{agent}/status", """{"status":"suspended","reason":"incident"}""");
        var reactivated = await responder.PostJsonAsync($"/v1/agents/{agent}/status", """{"status":"active","reason":"over"}""");

        Assert.Contains("grants:write", selfGrant.AssertProblem(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        Assert.Contains("policies:publish", publish.AssertProblem(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        Assert.Equal("test-responder", suspended.Json["statusChangedBy"]!.GetValue<string>());
        Assert.Equal(TestTokens.Issuer, suspended.Json["statusChangedByIssuer"]!.GetValue<string>());
        Assert.Contains("agents:status", reactivated.AssertProblem(HttpStatusCode.Forbidden), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Claim_names_are_configurable_and_roles_may_be_space_separated_or_a_JSON_array_text()
    {
        var id = "claims-" + Guid.NewGuid().ToString("N")[..8];
        var host = await env.StartHostAsync(
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Production",
            $"--Storage:ConnectionString={env.Azurite.ConnectionString}",
            $"--Orleans:ServiceId={id}", $"--Orleans:ClusterId={id}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}",
            "--Authentication:Claims:Subject=oid", "--Authentication:Claims:Roles=groups",
            "--Authentication:Claims:AgentId=bot", "--Authentication:Claims:PepAgents=acts_for",
        ]);
        string Token(object groups, string? bot = null, object? actsFor = null)
        {
            var claims = new Dictionary<string, object> { ["oid"] = "object-1", ["groups"] = groups };
            if (bot is not null) claims["bot"] = bot;
            if (actsFor is not null) claims["acts_for"] = actsFor;
            return TestTokens.Mint("ignored-sub", [], extraClaims: claims);
        }

        var spaced = await host.ClientWith(Token("governance  auditor")).GetJsonAsync("/v1/whoami");
        var jsonText = await host.ClientWith(Token("[\"responder\",\"agent\"]", bot: "bot-9")).GetJsonAsync("/v1/whoami");
        var pep = await host.ClientWith(Token(new[] { "pep" }, actsFor: "bot-1 bot-2")).GetJsonAsync("/v1/whoami");
        var defaultNames = await host.Http.GetJsonAsync("/v1/whoami");

        Assert.Equal("object-1", spaced.Json["subject"]!.GetValue<string>());
        Assert.Equal(["governance", "auditor"], spaced.Json["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(["responder", "agent"], jsonText.Json["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal("bot-9", jsonText.Json["agentId"]!.GetValue<string>());
        Assert.Equal(["bot-1", "bot-2"], pep.Json["agents"]!.AsArray().Select(r => r!.GetValue<string>()));
        // A token using the default claim names has no subject under this configuration: no permission at all.
        defaultNames.AssertProblem(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Whoami_shows_the_token_as_the_silo_reads_it()
    {
        var host = await env.GetSharedHostAsync();
        var pep = host.ClientWith(TestTokens.Mint("gateway-7", [Roles.Pep, "not-a-role"], agents: ["a-1", "a-2"]));

        var reply = await pep.GetJsonAsync("/v1/whoami");
        var missing = await host.ClientWith(null).GetJsonAsync("/v1/whoami");
        var garbage = await host.ClientWith("not-a-jwt").GetJsonAsync("/v1/whoami");

        Assert.Equal("gateway-7", reply.Json["subject"]!.GetValue<string>());
        Assert.Equal(TestTokens.Issuer, reply.Json["issuer"]!.GetValue<string>());
        Assert.Equal(["pep"], reply.Json["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(["a-1", "a-2"], reply.Json["agents"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.True(reply.Json["expiresAt"]!.GetValue<DateTimeOffset>() > DateTimeOffset.UtcNow);
        missing.AssertProblem(HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", missing.Response.Headers.WwwAuthenticate.ToString());
        garbage.AssertProblem(HttpStatusCode.Unauthorized);
        Assert.Contains("invalid_token", garbage.Response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-jwt", garbage.Body!.ToJsonString(), StringComparison.Ordinal);
    }
}
