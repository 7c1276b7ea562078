using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Cluster.Tests;

/// <summary>
/// Shadow versions and log-only policies (issue 16.1) on two real silos forming one cluster on
/// Azurite, driven over HTTP: live answers unchanged, exact reports, promote and discard.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ShadowVersionTests(ClusterEnvironment env)
{
    private static readonly string ExamplePolicies = File.ReadAllText(Path.Combine(RepoPaths.Examples, "policies.cedar"));
    private static readonly string ExampleSchema = File.ReadAllText(Path.Combine(RepoPaths.Examples, "schema.cedarschema"));
    /// <summary>The examples have six policies (policy0..policy5): a policy appended to them is policy6.</summary>
    private const string AppendedPolicyId = "policy6";
    private const string ForbidWebSearch = "\n@id(\"no-web-search\")\nforbid (principal, action == Action::\"search_web\", resource);\n";
    private const string ReadOwnDocument = """{"action":"read_file","resource":{"type":"Document","id":"q3","properties":{"fleet":"research"}}}""";
    private const string SearchWeb = """{"action":"search_web","resource":{"type":"WebSearch","id":"q"},"input":{"query":"cedar"}}""";
    private const string DeleteDatabase = """{"action":"delete_database","resource":{"type":"Database","id":"prod"}}""";

    [Fact]
    public async Task A_shadow_version_forbidding_one_tool_counts_exactly_its_calls_and_promote_makes_it_live_on_every_silo()
    {
        var (first, second) = await TwoSilosAsync();
        RunningHost[] hosts = [first, second];
        var live = await PublishAsync(first.Http, ExamplePolicies);
        var forbidding = await PublishAsync(first.Http, ExamplePolicies + ForbidWebSearch, "shadow");
        // A second shadow with the live texts: it always agrees, and shows when later calls have been compared.
        var witness = await PublishAsync(second.Http, ExamplePolicies, "shadow");
        await WaitForCachesAsync(hosts, live, [forbidding, witness]);
        var sessions = await SessionsOnBothSilosAsync(first, second);

        var searches = new List<string>();
        var total = 0;
        foreach (var (session, i) in sessions.Select((s, i) => (s, i)))
        {
            var http = hosts[i % 2].Http;
            foreach (var call in new[] { ReadOwnDocument, SearchWeb, ReadOwnDocument, SearchWeb, DeleteDatabase })
            {
                var answer = await DecideAsync(http, session, call);
                total++;
                // The live answers are the live version's, whatever the shadow says.
                Assert.Equal(live, answer["policyVersion"]!.GetValue<long>());
                Assert.Equal(call == DeleteDatabase ? "Deny" : "Allow", answer["outcome"]!.GetValue<string>());
                if (call == SearchWeb) searches.Add(answer["decisionId"]!.GetValue<string>());
            }
        }

        var report = await ReportWhenEvaluatedAsync(second.Http, forbidding, total);
        Assert.Equal("shadow", report["mode"]!.GetValue<string>());
        Assert.Equal("active", report["status"]!.GetValue<string>());
        Assert.Equal(searches.Count, report["disagreements"]!.GetValue<long>());
        Assert.Equal(0, report["failures"]!.GetValue<long>());
        var direction = Assert.Single(report["directions"]!.AsArray())!;
        Assert.Equal(("Allow", "Deny", (long)searches.Count), (direction["live"]!.GetValue<string>(), direction["shadow"]!.GetValue<string>(), direction["count"]!.GetValue<long>()));
        var examples = report["examples"]!.AsArray().Select(e => e!).ToArray();
        Assert.Equal(searches.Order(), examples.Select(e => e["decisionId"]!.GetValue<string>()).Order());
        Assert.All(examples, e =>
        {
            Assert.Equal("search_web", e["action"]!.GetValue<string>());
            Assert.Equal(live, e["liveVersion"]!.GetValue<long>());
            Assert.Equal(new[] { "policy1" }, e["livePolicies"]!.AsArray().Select(p => p!.GetValue<string>()));
            Assert.Equal(new[] { AppendedPolicyId }, e["shadowPolicies"]!.AsArray().Select(p => p!.GetValue<string>()));
            Assert.Contains(e["sessionId"]!.GetValue<string>(), sessions);
            Assert.False(string.IsNullOrEmpty(e["agentId"]!.GetValue<string>()));
        });
        var agreeing = await ReportWhenEvaluatedAsync(first.Http, witness, total);
        Assert.Equal(0, agreeing["disagreements"]!.GetValue<long>());

        // Promote: a new live version with the shadow's texts, through the normal publish path.
        var promoted = await first.Http.PostJsonAsync($"/v1/policies/{forbidding}/promote", """{"note":"web search off"}""");
        Assert.Equal(HttpStatusCode.Created, promoted.Status);
        var promotedVersion = promoted.Json["version"]!.GetValue<long>();
        Assert.True(promotedVersion > witness);
        Assert.Equal(forbidding, promoted.Json["promotedFrom"]!.GetValue<long>());
        Assert.False(promoted.Json["shadow"]!.GetValue<bool>());
        Assert.Equal(promotedVersion, (await first.Http.GetJsonAsync("/v1/policies/current")).Json["version"]!.GetValue<long>());
        await WaitForCachesAsync(hosts, promotedVersion, [witness]);

        foreach (var (session, i) in sessions.Select((s, i) => (s, i)))
        {
            var denied = await DecideAsync(hosts[i % 2].Http, session, SearchWeb);
            Assert.Equal("Deny", denied["outcome"]!.GetValue<string>());
            Assert.Equal(promotedVersion, denied["policyVersion"]!.GetValue<long>());
            Assert.Equal(new[] { AppendedPolicyId }, denied["reasons"]!.AsArray().Select(p => p!.GetValue<string>()));
        }
        // The witness (live texts of before) now disagrees on each of those; the promoted shadow is not counted any more.
        var witnessed = await ReportWhenEvaluatedAsync(first.Http, witness, total + sessions.Count);
        Assert.Equal(sessions.Count, witnessed["disagreements"]!.GetValue<long>());
        var afterPromote = await ReportAsync(first.Http, forbidding);
        Assert.Equal(total, afterPromote["evaluated"]!.GetValue<long>());
        Assert.Equal("promoted", afterPromote["status"]!.GetValue<string>());

        // Discard: the witness stops counting (a new witness shows the later calls were compared).
        var secondWitness = await PublishAsync(first.Http, ExamplePolicies + ForbidWebSearch, "shadow");
        var discarded = await second.Http.PostJsonAsync($"/v1/policies/{witness}/discard", "{}");
        Assert.Equal(HttpStatusCode.OK, discarded.Status);
        Assert.Equal(witness, discarded.Json["version"]!.GetValue<long>());
        await WaitForCachesAsync(hosts, promotedVersion, [secondWitness]);
        foreach (var (session, i) in sessions.Select((s, i) => (s, i))) Assert.Equal("Allow", (await DecideAsync(hosts[i % 2].Http, session, ReadOwnDocument))["outcome"]!.GetValue<string>());
        await ReportWhenEvaluatedAsync(second.Http, secondWitness, sessions.Count);
        var afterDiscard = await ReportAsync(second.Http, witness);
        Assert.Equal(total + sessions.Count, afterDiscard["evaluated"]!.GetValue<long>());
        Assert.Equal("discarded", afterDiscard["status"]!.GetValue<string>());
        var list = (await first.Http.GetJsonAsync("/v1/policies")).Json.AsArray();
        Assert.Equal(new[] { secondWitness, witness, forbidding }, list.Where(v => v!["shadow"]!.GetValue<bool>()).Select(v => v!["version"]!.GetValue<long>()));
    }

    [Fact]
    public async Task A_log_only_policy_in_a_live_version_is_reported_as_if_enforced_and_never_enforced()
    {
        var (first, second) = await TwoSilosAsync();
        var version = await PublishAsync(first.Http, ExamplePolicies + "\n@mode(\"log-only\")" + ForbidWebSearch);
        await WaitForCachesAsync([first, second], version, []);
        var sessions = await SessionsOnBothSilosAsync(first, second);
        var searches = 0;
        var total = 0;
        foreach (var (session, i) in sessions.Select((s, i) => (s, i)))
        {
            var http = (i % 2 == 0 ? first : second).Http;
            foreach (var call in new[] { SearchWeb, ReadOwnDocument, SearchWeb })
            {
                var answer = await DecideAsync(http, session, call);
                total++;
                if (call == SearchWeb) searches++;
                Assert.Equal("Allow", answer["outcome"]!.GetValue<string>());
                Assert.DoesNotContain(AppendedPolicyId, answer["reasons"]!.AsArray().Select(p => p!.GetValue<string>()));
            }
        }

        var report = await ReportWhenEvaluatedAsync(second.Http, version, total);
        Assert.Equal("log-only", report["mode"]!.GetValue<string>());
        Assert.Equal("current", report["status"]!.GetValue<string>());
        Assert.Equal(new[] { AppendedPolicyId }, report["logOnlyPolicies"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Equal(searches, report["disagreements"]!.GetValue<long>());
        Assert.All(report["examples"]!.AsArray(), e =>
        {
            Assert.Equal("search_web", e!["action"]!.GetValue<string>());
            Assert.Equal("Allow", e["liveOutcome"]!.GetValue<string>());
            Assert.Equal("Deny", e["shadowOutcome"]!.GetValue<string>());
            Assert.Equal(new[] { AppendedPolicyId }, e["shadowPolicies"]!.AsArray().Select(p => p!.GetValue<string>()));
        });
        Assert.Equal(searches, report["examples"]!.AsArray().Count);
    }

    [Fact]
    public async Task A_temporal_shadow_version_decides_over_the_same_session_history()
    {
        var host = await env.StartHostAsync("shadow-temporal-" + Guid.NewGuid().ToString("N")[..8], seed: false);
        var http = host.Http;
        const string temporalLive = """
            permit ( principal, action == Action::"lookup", resource );
            permit ( principal, action == Action::"transfer", resource )
            when temporal { formerly within 10m Action::"lookup"::response{ output.accountId: context.input.to } };
            """;
        var live = await PublishAsync(http, temporalLive, withSchema: false);
        await WaitForCachesAsync([host], live, []);
        var agent = await NewAgentAsync(http, ["lookup", "transfer"], ["Gateway::*"]);
        var session = await OpenSessionAsync(http, agent);
        var lookup = await DecideAsync(http, session, """{"action":"lookup","resource":{"type":"Gateway","id":"gw1"},"input":{"name":"bob"}}""");
        Assert.Equal("Allow", lookup["outcome"]!.GetValue<string>());
        var reported = await http.PostJsonAsync($"/v1/sessions/{session}/outcomes", $$$"""{"decisionId":"{{{lookup["decisionId"]!.GetValue<string>()}}}","kind":"response","output":{"accountId":"ACC-7"}}""");
        Assert.Equal(HttpStatusCode.Accepted, reported.Status);

        // Published after the lookup and its output: the shadow must see them in the session's history.
        var shadow = await PublishAsync(http, temporalLive + "\nforbid ( principal, action == Action::\"transfer\", resource ) when { context.input.amount > 100 };", "shadow", withSchema: false);
        await WaitForCachesAsync([host], live, [shadow]);
        var small = await DecideAsync(http, session, """{"action":"transfer","resource":{"type":"Gateway","id":"gw1"},"input":{"to":"ACC-7","amount":10}}""");
        var large = await DecideAsync(http, session, """{"action":"transfer","resource":{"type":"Gateway","id":"gw1"},"input":{"to":"ACC-7","amount":500}}""");
        Assert.Equal("Allow", small["outcome"]!.GetValue<string>());
        Assert.Equal("Allow", large["outcome"]!.GetValue<string>());

        // Without the history the small transfer would disagree too (the shadow would deny it: no lookup seen).
        var report = await ReportWhenEvaluatedAsync(http, shadow, 2);
        var disagreement = Assert.Single(report["examples"]!.AsArray())!;
        Assert.Equal(1, report["disagreements"]!.GetValue<long>());
        Assert.Equal(large["decisionId"]!.GetValue<string>(), disagreement["decisionId"]!.GetValue<string>());
        Assert.Equal(new[] { "policy2" }, disagreement["shadowPolicies"]!.AsArray().Select(p => p!.GetValue<string>()));

        // The SDK (and so the CLI) reads the same report, and discards through the same endpoint.
        using var sdk = new RuntimeAuthz.Client.AuthzClient(host.BaseAddress,
            new RuntimeAuthz.Client.StaticTokenSource(TestTokens.Mint(TestTokens.AdminSubject, [Roles.Admin])));
        var read = await sdk.GetShadowReportAsync(shadow);
        Assert.Equal(("shadow", "active", 2L, 1L), (read.Mode, read.Status, read.Evaluated, read.Disagreements));
        Assert.Equal(large["decisionId"]!.GetValue<string>(), Assert.Single(read.Examples).DecisionId);
        Assert.Equal(("Allow", "Deny"), (read.Examples[0].LiveOutcome, read.Examples[0].ShadowOutcome));
        var discarded = await sdk.DiscardShadowAsync(shadow, new RuntimeAuthz.Client.ShadowActionRequest("done"));
        Assert.True(discarded.Shadow);
        Assert.Equal("discarded", (await sdk.GetShadowReportAsync(shadow)).Status);
        Assert.Contains(await sdk.ListPoliciesAsync(), v => v.Version == shadow && v.Shadow);
        await host.StopAsync();
    }

    [Fact]
    public async Task Bad_input_is_refused_with_a_message()
    {
        var host = await env.StartHostAsync("shadow-input-" + Guid.NewGuid().ToString("N")[..8], seed: false);
        var http = host.Http;
        var live = await PublishAsync(http, ExamplePolicies);
        var shadow = await PublishAsync(http, ExamplePolicies + ForbidWebSearch, "shadow");

        Assert.Contains("mode", (await http.PostJsonAsync("/v1/policies", Publish(ExamplePolicies, "dry-run"))).AssertProblem(HttpStatusCode.BadRequest));
        Assert.Contains("must be a string", (await http.PostJsonAsync("/v1/policies", Publish(ExamplePolicies, JsonValue.Create(true)))).AssertProblem(HttpStatusCode.BadRequest));
        var badAnnotation = await http.PostJsonAsync("/v1/policies", Publish(ExamplePolicies + "\n@mode(\"sometimes\")" + ForbidWebSearch, "shadow"));
        Assert.Contains("@mode must be \"log-only\" or \"enforce\"", badAnnotation.AssertProblem(HttpStatusCode.BadRequest));

        Assert.Contains("not found", (await http.GetJsonAsync("/v1/policies/999/shadow-report")).AssertProblem(HttpStatusCode.NotFound));
        Assert.Contains("positive integer", (await http.GetJsonAsync("/v1/policies/latest/shadow-report")).AssertProblem(HttpStatusCode.BadRequest));
        Assert.Contains("no log-only policies", (await http.GetJsonAsync($"/v1/policies/{live}/shadow-report")).AssertProblem(HttpStatusCode.NotFound));
        Assert.Contains("not found", (await http.PostJsonAsync("/v1/policies/999/promote", "{}")).AssertProblem(HttpStatusCode.NotFound));
        Assert.Contains("not a shadow version", (await http.PostJsonAsync($"/v1/policies/{live}/promote", "{}")).AssertProblem(HttpStatusCode.Conflict));
        Assert.Contains("not a shadow version", (await http.PostJsonAsync($"/v1/policies/{live}/discard", "{}")).AssertProblem(HttpStatusCode.Conflict));
        Assert.Contains("positive integer", (await http.PostJsonAsync("/v1/policies/-1/discard", "{}")).AssertProblem(HttpStatusCode.BadRequest));
        Assert.Contains("required", (await http.PostJsonAsync($"/v1/policies/{shadow}/promote", "")).AssertProblem(HttpStatusCode.BadRequest));
        Assert.Contains("note", (await http.PostJsonAsync($"/v1/policies/{shadow}/promote", """{"note":7}""")).AssertProblem(HttpStatusCode.BadRequest));
        Assert.Contains("promote it instead", (await http.PostJsonAsync("/v1/policies/rollback", $$"""{"version":{{shadow}}}""")).AssertProblem(HttpStatusCode.Conflict));

        Assert.Equal(HttpStatusCode.OK, (await http.PostJsonAsync($"/v1/policies/{shadow}/discard", "{}")).Status);
        Assert.Contains("no longer active", (await http.PostJsonAsync($"/v1/policies/{shadow}/promote", "{}")).AssertProblem(HttpStatusCode.Conflict));
        Assert.Contains("no longer active", (await http.PostJsonAsync($"/v1/policies/{shadow}/discard", "{}")).AssertProblem(HttpStatusCode.Conflict));
        // Nothing above changed the live version.
        Assert.Equal(live, (await http.GetJsonAsync("/v1/policies/current")).Json["version"]!.GetValue<long>());
        await host.StopAsync();
    }

    [Fact]
    public async Task Reading_a_report_needs_policies_read_and_promote_or_discard_needs_policies_publish()
    {
        var host = await env.StartHostAsync("shadow-perm-" + Guid.NewGuid().ToString("N")[..8], seed: false);
        await PublishAsync(host.Http, ExamplePolicies);
        var shadow = await PublishAsync(host.Http, ExamplePolicies + ForbidWebSearch, "shadow");
        var agent = host.AsAgent("some-agent");
        var responder = host.As(Roles.Responder);

        Assert.Equal(HttpStatusCode.Forbidden, (await agent.GetJsonAsync($"/v1/policies/{shadow}/shadow-report")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.PostJsonAsync($"/v1/policies/{shadow}/promote", "{}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.PostJsonAsync($"/v1/policies/{shadow}/discard", "{}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.PostJsonAsync("/v1/policies", Publish(ExamplePolicies, "shadow"))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.ClientWith(null).GetJsonAsync($"/v1/policies/{shadow}/shadow-report")).Status);
        Assert.Equal(HttpStatusCode.OK, (await responder.GetJsonAsync($"/v1/policies/{shadow}/shadow-report")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await responder.PostJsonAsync($"/v1/policies/{shadow}/promote", "{}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await responder.PostJsonAsync($"/v1/policies/{shadow}/discard", "{}")).Status);
        // Still active: nobody without policies:publish changed it.
        Assert.Equal("active", (await host.Http.GetJsonAsync($"/v1/policies/{shadow}/shadow-report")).Json["status"]!.GetValue<string>());
        await host.StopAsync();
    }

    private async Task<(RunningHost First, RunningHost Second)> TwoSilosAsync()
    {
        var id = "shadow-" + Guid.NewGuid().ToString("N")[..10];
        string[] Args() =>
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Production",
            $"--Storage:ConnectionString={env.Azurite.ConnectionString}",
            "--Orleans:Clustering:ProviderType=AzureTableStorage", $"--Orleans:ClusterId={id}", $"--Orleans:ServiceId={id}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}", "--Orleans:AdvertisedIPAddress=127.0.0.1",
        ];
        var first = await env.StartHostAsync(Args());
        var second = await env.StartHostAsync(Args());
        var management = first.App.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        await Eventually.TrueAsync("both silos in the cluster", async () => (await management.GetHosts(onlyActive: true)).Count == 2);
        return (first, second);
    }

    private static string Publish(string policies, JsonNode? mode, bool withSchema = true)
    {
        var body = new JsonObject { ["policies"] = policies };
        if (withSchema) body["schema"] = ExampleSchema;
        if (mode is not null) body["mode"] = mode;
        return body.ToJsonString();
    }

    private static async Task<long> PublishAsync(HttpClient http, string policies, string? mode = null, bool withSchema = true)
    {
        var reply = await http.PostJsonAsync("/v1/policies", Publish(policies, mode, withSchema));
        Assert.True(reply.Status == HttpStatusCode.Created, reply.Body?.ToJsonString());
        Assert.Equal(mode == "shadow", reply.Json["shadow"]!.GetValue<bool>());
        return reply.Json["version"]!.GetValue<long>();
    }

    /// <summary>Every silo's cache holds the live version and exactly these shadow versions.</summary>
    private static Task WaitForCachesAsync(RunningHost[] hosts, long live, long[] shadows) =>
        Eventually.UntilAsync(
            $"live version {live} and shadow versions [{string.Join(", ", shadows)}] on every silo",
            () => hosts.Select(h => h.App.Services.GetRequiredService<PolicyCache>()).Select(c => (c.Version, Shadows: c.Shadows.Select(s => s.Version).ToArray())).ToArray(),
            caches => caches.All(c => c.Version == live && c.Shadows.SequenceEqual(shadows)),
            describe: caches => string.Join("; ", caches.Select(c => $"v{c.Version} shadows [{string.Join(", ", c.Shadows)}]")));

    private static async Task<JsonNode> ReportAsync(HttpClient http, long version)
    {
        var reply = await http.GetJsonAsync($"/v1/policies/{version}/shadow-report");
        Assert.True(reply.Status == HttpStatusCode.OK, reply.Body?.ToJsonString());
        return reply.Json;
    }

    /// <summary>The report once exactly <paramref name="evaluated"/> decisions were compared (comparisons run after the answers).</summary>
    private static async Task<JsonNode> ReportWhenEvaluatedAsync(HttpClient http, long version, long evaluated)
    {
        var report = await Eventually.UntilAsync(
            $"{evaluated} decisions compared with version {version}",
            () => ReportAsync(http, version),
            report => report["evaluated"]!.GetValue<long>() >= evaluated,
            describe: report => report.ToJsonString());
        Assert.Equal(evaluated, report["evaluated"]!.GetValue<long>());
        return report;
    }

    private static async Task<JsonNode> DecideAsync(HttpClient http, string session, string call)
    {
        var reply = await http.PostJsonAsync($"/v1/sessions/{session}/decisions", call);
        Assert.True(reply.Status == HttpStatusCode.OK, reply.Body?.ToJsonString());
        return reply.Json;
    }

    private static async Task<string> NewAgentAsync(HttpClient http, string[] actions, string[] resources)
    {
        var id = "shadow-agent-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/v1/agents", $$"""{"id":"{{id}}","name":"S","owner":"o@example.com","fleet":"research"}""")).Status);
        var grant = new JsonObject
        {
            ["actions"] = new JsonArray([.. actions.Select(a => JsonValue.Create(a))]),
            ["resources"] = new JsonArray([.. resources.Select(r => JsonValue.Create(r))]),
            ["expiresAt"] = "2099-01-01T00:00:00Z",
        };
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync($"/v1/agents/{id}/delegations", grant.ToJsonString())).Status);
        return id;
    }

    private static async Task<string> OpenSessionAsync(HttpClient http, string agent)
    {
        var opened = await http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{agent}}"}""");
        Assert.Equal(HttpStatusCode.Created, opened.Status);
        return opened.Json["id"]!.GetValue<string>();
    }

    /// <summary>
    /// Sessions of one agent (opened through both hosts) until each silo hosts at least one of them. Orleans places by silo load,
    /// so on a busy machine every session may go to the quieter silo: after 120 the first 8 are used wherever they are (the
    /// counts asserted hold either way; the calls still go through both hosts).
    /// </summary>
    private static async Task<IReadOnlyList<string>> SessionsOnBothSilosAsync(RunningHost first, RunningHost second)
    {
        var agent = await NewAgentAsync(first.Http, ["read_file", "search_web", "delete_database"], ["Document::*", "WebSearch::*", "Database::*"]);
        var grains = first.App.Services.GetRequiredService<IGrainFactory>();
        var management = grains.GetGrain<IManagementGrain>(0);
        var sessions = new List<string>();
        for (var i = 0; i < 120; i++)
        {
            sessions.Add(await OpenSessionAsync((i % 2 == 0 ? first : second).Http, agent));
            if (sessions.Count < 4) continue;
            var ids = sessions.ToDictionary(s => grains.GetGrain<IAgentSessionGrain>(s).GetGrainId());
            var bySilo = (await management.GetDetailedGrainStatistics())
                .Where(s => ids.ContainsKey(s.GrainId)).GroupBy(s => s.SiloAddress, s => ids[s.GrainId]).ToList();
            // At most four of each silo: a busy machine may place many opens on one silo before the other,
            // and the tests' decisions must stay below the report's example cap.
            if (bySilo.Count == 2) return [.. bySilo.SelectMany(silo => silo.Distinct().Take(4))];
        }
        return sessions[..8];
    }
}

/// <summary>How a version with <c>@mode("log-only")</c> policies compiles: what decides, and what it is compared with.</summary>
public sealed class LogOnlyCompilationTests
{
    private const string Texts = """
        permit (principal, action, resource);
        @mode("log-only")
        forbid (principal, action == Action::"wipe", resource);
        @mode("enforce")
        forbid (principal, action == Action::"burn", resource);
        """;

    private static RuntimeAuthz.Policy.Decision Decide(RuntimeAuthz.Policy.PolicySet policies, string action) =>
        RuntimeAuthz.Policy.Authorizer.IsAuthorized(
            new RuntimeAuthz.Policy.AuthorizationRequest(new("Agent", "a"), new("Action", action), new("Disk", "d"), RuntimeAuthz.Policy.CedarContext.Empty),
            policies, RuntimeAuthz.Policy.EntityStore.Empty).Decision;

    [Fact]
    public void A_log_only_policy_is_left_out_of_the_deciding_set_and_enforced_only_in_the_comparison_view()
    {
        var compiled = CompiledPolicy.FromRecord(new PolicyVersionRecord { Version = 3, Policies = Texts });

        Assert.Equal(new[] { "policy1" }, compiled.LogOnlyPolicies);
        Assert.Equal(new[] { "policy0", "policy2" }, compiled.Policies.Policies.Select(p => p.Id));
        Assert.Equal(RuntimeAuthz.Policy.Decision.Allow, Decide(compiled.Policies, "wipe"));
        Assert.Equal(RuntimeAuthz.Policy.Decision.Deny, Decide(compiled.Policies, "burn"));
        var enforced = Assert.IsType<CompiledPolicy>(compiled.LogOnlyEnforced);
        Assert.Equal(3, enforced.Version);
        Assert.True(enforced.IsLogOnlyView);
        Assert.Equal(new[] { "policy0", "policy1", "policy2" }, enforced.Policies.Policies.Select(p => p.Id));
        Assert.Equal(RuntimeAuthz.Policy.Decision.Deny, Decide(enforced.Policies, "wipe"));
    }

    [Fact]
    public void A_version_without_log_only_policies_has_no_comparison_view()
    {
        var compiled = CompiledPolicy.FromRecord(new PolicyVersionRecord { Version = 1, Policies = Texts.Replace("log-only", "enforce", StringComparison.Ordinal) });

        Assert.Empty(compiled.LogOnlyPolicies);
        Assert.Null(compiled.LogOnlyEnforced);
        Assert.Equal(3, compiled.Policies.Policies.Count);
    }

    [Fact]
    public void An_unknown_mode_is_refused_at_its_position()
    {
        var issues = CompiledPolicy.Check(Texts.Replace("\"log-only\"", "\"dry-run\"", StringComparison.Ordinal), schema: null, out _);

        var issue = Assert.Single(issues);
        Assert.Equal((2, 1), (issue.Line, issue.Column));
        Assert.Equal("policy1: @mode must be \"log-only\" or \"enforce\", not \"dry-run\"", issue.Message);
    }
}
