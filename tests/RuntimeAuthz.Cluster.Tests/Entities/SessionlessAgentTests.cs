using System.Net;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Entities;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Cluster.Tests.Entities;

/// <summary>
/// <c>AuthZen:AgentsRequireSession=false</c> on a seeded silo: an agent decides without a session, still through
/// its grants and the policy, reading resource attributes from the entity store, with a record in its own chain.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SessionlessAgentTests(ClusterEnvironment env)
{
    private static string Evaluation(string agent, string action, string resourceType, string resourceId) => $$$"""
        {"subject": {"type": "agent", "id": "{{{agent}}}"}, "action": {"name": "{{{action}}}"}, "resource": {"type": "{{{resourceType}}}", "id": "{{{resourceId}}}"}}
        """;

    [Fact]
    public async Task An_agent_decides_session_less_through_its_grants_when_configuration_allows()
    {
        var host = await env.StartHostAsync("agents-" + Guid.NewGuid().ToString("N")[..10], seed: true, ["--AuthZen:AgentsRequireSession=false"]);
        // The document's fleet is stored, not sent: the example policy reads resource.fleet.
        var imported = await host.As(Roles.Governance).PostJsonAsync("/v1/entities",
            """{"entities": [{"uid": {"type": "Document", "id": "q3-report"}, "attrs": {"fleet": "research"}, "parents": [{"type": "Folder", "id": "finance"}]}]}""");
        Assert.Equal(HttpStatusCode.OK, imported.Status);
        var version = imported.Json["version"]!.GetValue<long>();
        var agent = host.AsAgent("demo-agent");

        var read = await Eventually.UntilAsync("the stored document in the decision",
            () => agent.PostJsonAsync("/access/v1/evaluation", Evaluation("demo-agent", "read_file", "Document", "q3-report")),
            reply => reply.Json["context"]!["entity_store_version"]!.GetValue<long>() >= version);
        var unknownDocument = await agent.PostJsonAsync("/access/v1/evaluation", Evaluation("demo-agent", "read_file", "Document", "elsewhere"));
        var forbidden = await agent.PostJsonAsync("/access/v1/evaluation", Evaluation("demo-agent", "delete_database", "Database", "prod"));
        var ungranted = await agent.PostJsonAsync("/access/v1/evaluation", Evaluation("demo-agent", "format_disk", "Disk", "c"));
        var payment = await agent.PostJsonAsync("/access/v1/evaluation",
            """{"subject": {"type": "agent", "id": "demo-agent"}, "action": {"name": "send_payment"}, "resource": {"type": "Account", "id": "acme"}, "context": {"tool_input": {"amount": 5}}}""");

        Assert.True(read.Json["decision"]!.GetValue<bool>(), read.Json.ToJsonString());
        Assert.Null(read.Json["context"]!["session_id"]);
        Assert.False(unknownDocument.Json["decision"]!.GetValue<bool>());
        Assert.Equal(DenyReasons.NotPermitted, forbidden.Json["context"]!["deny_reason"]!.GetValue<string>());
        Assert.Equal(DenyReasons.NoDelegation, ungranted.Json["context"]!["deny_reason"]!.GetValue<string>());
        // A permit that needs approval cannot get one without a session: Deny.
        Assert.False(payment.Json["decision"]!.GetValue<bool>());
        Assert.Equal("Deny", payment.Json["context"]!["outcome"]!.GetValue<string>());

        // Another agent's token may not decide for it, session or not.
        (await host.AsAgent("intern-bot").PostJsonAsync("/access/v1/evaluation", Evaluation("demo-agent", "read_file", "Document", "q3-report")))
            .AssertProblem(HttpStatusCode.Forbidden);

        var records = await VerifiedChains.ReadAsync(env.Azurite.ConnectionString, EvidenceChains.ForSessionless(SessionlessDecisionGrain.KeyOf(EntityKey.Of("Agent", "demo-agent"))));
        var allowed = Assert.Single(records, r => r.DecisionId == read.Json["context"]!["decision_id"]!.GetValue<string>());
        Assert.Equal("Allow", allowed.Outcome);
        Assert.Equal("demo-agent", allowed.AgentId);
        Assert.Equal("agent-demo-agent", allowed.Actor);
        Assert.Contains(records, r => r.DecisionId == payment.Json["context"]!["decision_id"]!.GetValue<string>() && r.Outcome == "Deny");
    }
}
