using System.Net;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Catalog;

namespace RuntimeAuthz.Cluster.Tests.Approvals;

/// <summary>The action catalog beside the policy: policies decide by reversibility and category; unknown actions count as irreversible; MCP annotations only from trusted servers.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ActionCatalogTests(ClusterEnvironment env)
{
    private static Task<AuthzDecision> LedgerAsync(Scenario scenario, string session, string action, string? context = null) =>
        scenario.DecideAsync(session, action, "Ledger", "main", input: """{"amount": 10}""", context: context);

    [Fact]
    public async Task One_policy_over_the_catalog_holds_irreversible_financial_actions_and_unknown_actions_are_irreversible()
    {
        var (_, _, scenario) = await new ApprovalClusterTests(env).SharedAsync();
        var (_, session) = await ApprovalClusterTests.NewSessionAsync(scenario);

        Assert.Equal(DecisionOutcome.ApprovalRequired, (await LedgerAsync(scenario, session, "wire_money")).Outcome);
        Assert.Equal(DecisionOutcome.Allow, (await LedgerAsync(scenario, session, "lookup_invoice")).Outcome);
        // Seeded from a trusted server's annotations: read-only is reversible, destructive is not.
        Assert.Equal(DecisionOutcome.Allow, (await LedgerAsync(scenario, session, "list_entries")).Outcome);
        Assert.Equal(DecisionOutcome.Deny, (await LedgerAsync(scenario, session, "purge_entries")).Outcome);
        // Not in the catalog: irreversible, whatever the caller claims in its context.
        Assert.Equal(DecisionOutcome.Deny, (await LedgerAsync(scenario, session, "mystery_tool")).Outcome);
        var spoofed = await LedgerAsync(scenario, session, "mystery_tool", """{"action": {"reversibility": "reversible", "category": "read"}}""");
        Assert.Equal(DecisionOutcome.Deny, spoofed.Outcome);
    }

    [Theory]
    [InlineData("""{"actions": {"t": {"source": "mcp:random-server", "annotations": {"readOnlyHint": true}}}}""", "not trusted")]
    [InlineData("""{"actions": {"t": {"reversibility": "undoable", "category": "read"}}}""", "reversibility must be one of")]
    [InlineData("""{"actions": {"t": {"reversibility": "reversible", "category": "games"}}}""", "category must be one of")]
    [InlineData("""{"actions": {"t": {"reversibility": "reversible", "category": "read", "owner": "x"}}}""", "unknown key 'owner'")]
    [InlineData("""{"actions": {"t": {"annotations": {"readOnlyHint": true}}}}""", "mcp:<server>")]
    [InlineData("""{"trustedServers": ["s"], "actions": {"t": {"source": "mcp:s", "annotations": {"readOnlyHint": "yes"}}}}""", "object of booleans")]
    [InlineData("""{"actions": []}""", "actions must be an object")]
    [InlineData("""{"trustedServers": "s"}""", "trustedServers must be an array")]
    [InlineData("""{"version": 2}""", "unknown key 'version'")]
    [InlineData("""[1]""", "must be a JSON object")]
    [InlineData("""{"actions": """, "not JSON")]
    public void A_bad_catalog_is_refused_naming_the_problem(string catalog, string mentions)
    {
        var (parsed, issues) = ActionCatalog.Parse(catalog);
        Assert.Null(parsed);
        Assert.Contains(issues, i => i.Message.Contains(mentions, StringComparison.Ordinal) && i.Source == ActionCatalog.SourceName);
    }

    [Fact]
    public async Task A_catalog_is_published_beside_the_policy_as_a_new_version_and_a_bad_one_is_refused()
    {
        var (cluster, _, _) = await new ApprovalClusterTests(env).SharedAsync();
        var policy = cluster.Client.GetGrain<IPolicyGrain>(0);
        var before = (await policy.Current())!;

        var untrusted = await policy.PublishCatalog("""{"actions": {"t": {"source": "mcp:evil", "annotations": {"readOnlyHint": true}}}}""", "governance@example.com", null);
        Assert.Equal(CommandError.Invalid, untrusted.Error);
        Assert.Contains("'evil' are not trusted", untrusted.Message);
        Assert.Equal(before.Version, await policy.CurrentVersion());

        var extended = ApprovalClusterTests.Catalog.Replace("\"actions\": {", "\"actions\": {\"audit_ledger\": {\"reversibility\": \"reversible\", \"category\": \"read\"}, ");
        var published = await policy.PublishCatalog(extended, "governance@example.com", "audit tool");
        Assert.True(published.IsSuccess, published.Message);
        Assert.Equal(before.Version + 1, published.Value!.Version);
        Assert.Equal(before.Policies, published.Value.Policies);
        Assert.Contains("audit_ledger", published.Value.Catalog);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value.Version);

        // A rollback brings the catalog of the version it rolls back to.
        var rolledBack = await policy.Rollback(before.Version, "governance@example.com", null);
        Assert.Equal(before.Catalog, rolledBack.Value!.Catalog);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, rolledBack.Value.Version);
    }

    [Fact]
    public async Task The_catalog_over_http_shows_the_seeded_example_and_refuses_bad_input()
    {
        var host = await env.GetSharedHostAsync();
        var shown = await host.As(RuntimeAuthz.Silo.Security.Roles.Approver).GetJsonAsync("/v1/catalog");
        Assert.Equal(HttpStatusCode.OK, shown.Status);
        var actions = shown.Json["actions"]!.AsArray();
        Assert.Contains(actions, a => a!["name"]!.GetValue<string>() == "send_payment" && a["category"]!.GetValue<string>() == "financial");
        Assert.Contains(actions, a => a!["name"]!.GetValue<string>() == "list_documents" && a["source"]!.GetValue<string>() == "mcp:docs-mcp");
        Assert.Equal("irreversible", shown.Json["unknownActions"]!.GetValue<string>());

        Assert.Contains("catalog", (await host.Http.PostJsonAsync("/v1/catalog", "{}")).AssertProblem(HttpStatusCode.BadRequest));
        Assert.Contains("not trusted", (await host.Http.PostJsonAsync("/v1/catalog",
            """{"catalog": {"actions": {"t": {"source": "mcp:evil", "annotations": {}}}}}""")).AssertProblem(HttpStatusCode.BadRequest));
        Assert.Contains("author", (await host.Http.PostJsonAsync("/v1/catalog", """{"catalog": {}, "author": "me"}""")).AssertProblem(HttpStatusCode.BadRequest));
    }
}
