using System.Net;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Cluster.Tests.Decisions;

/// <summary>Outcome reports as facts with provenance: for allowed decisions only, once, soon, sealed into the chain.</summary>
[Collection(ClusterCollection.Name)]
public sealed class OutcomeTests(ClusterEnvironment env)
{
    private const string LookupPolicies = """
        permit (principal, action == Action::"lookup_account", resource) when { context.input.customer == "self" };
        permit (principal, action == Action::"transfer", resource)
        when temporal { formerly within 10m Action::"lookup_account"::response{ output.accountId: context.input.toAccount } };
        """;

    private async Task<(InProcessTestCluster Cluster, FakeTimeProvider Clock, Scenario Scenario, string Agent)> StartAsync(string policies)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2032, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var cluster = await env.StartClusterAsync(1, clock);
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest { Policies = policies, Author = "outcome-tests" });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
        var scenario = new Scenario(cluster.Client, clock.GetUtcNow);
        var agent = await scenario.NewAgentAsync(actions: ["lookup_account", "transfer"], resources: ["Bank::*"]);
        return (cluster, clock, scenario, agent);
    }

    private static Task<AuthzDecision> LookupAsync(Scenario s, string session, string customer) =>
        s.DecideAsync(session, "lookup_account", "Bank", "b1", input: $$"""{"customer":"{{customer}}"}""");

    private static Task<AuthzDecision> TransferAsync(Scenario s, string session, string account) =>
        s.DecideAsync(session, "transfer", "Bank", "b1", input: $$"""{"toAccount":"{{account}}"}""");

    private static OutcomeReport Response(Guid decisionId, string account, ReporterKind reporter = ReporterKind.Agent) => new()
    {
        DecisionId = decisionId, Kind = SessionEventKind.Response, OutputJson = $$"""{"accountId":"{{account}}"}""",
        ReportedBy = reporter == ReporterKind.Agent ? "the-agent" : "gateway-1", ReporterKind = reporter,
    };

    private Task<List<EvidenceBody>> VerifiedChainAsync(string chain) => VerifiedChains.ReadAsync(env.Azurite.ConnectionString, chain);

    [Fact]
    public async Task A_forged_output_for_a_denied_lookup_is_refused_and_the_transfer_it_aimed_at_is_denied()
    {
        var (cluster, _, s, agent) = await StartAsync(LookupPolicies);
        var session = await s.OpenSessionAsync(agent);
        var grain = cluster.Client.GetGrain<IAgentSessionGrain>(session);

        var deniedLookup = await LookupAsync(s, session, "victim");
        Assert.Equal(DecisionOutcome.Deny, deniedLookup.Outcome);
        var forged = await grain.ReportOutcome(Response(deniedLookup.DecisionId, "attacker-acct"));
        var forgedAgain = await grain.ReportOutcome(Response(deniedLookup.DecisionId, "attacker-acct-2"));
        var transfer = await TransferAsync(s, session, "attacker-acct");

        Assert.Equal(CommandError.Conflict, forged.Error);
        Assert.Contains("only an allowed decision", forged.Message);
        Assert.Equal(CommandError.Conflict, forgedAgain.Error);
        Assert.Equal(DecisionOutcome.Deny, transfer.Outcome);
        Assert.Equal(DenyReasons.NotPermitted, transfer.DenyReason);

        // The honest path still works: an allowed lookup's reported output feeds the transfer rule.
        var lookup = await LookupAsync(s, session, "self");
        Assert.True((await grain.ReportOutcome(Response(lookup.DecisionId, "acct-1"))).IsSuccess);
        Assert.Equal(DecisionOutcome.Allow, (await TransferAsync(s, session, "acct-1")).Outcome);
        Assert.Equal(DecisionOutcome.Deny, (await TransferAsync(s, session, "attacker-acct")).Outcome);

        var chain = await VerifiedChainAsync(EvidenceChains.ForSession(session));
        var refused = chain.Where(b => b.Kind == EvidenceKinds.OutcomeRefused).ToList();
        Assert.Equal(2, refused.Count);
        Assert.All(refused, b => Assert.Equal(deniedLookup.DecisionId.ToString(), b.DecisionId));
        Assert.All(refused, b => Assert.Equal("the-agent", b.Actor));
        var accepted = Assert.Single(chain, b => b.Kind == EvidenceKinds.Outcome);
        Assert.Equal((lookup.DecisionId.ToString(), "response", "agent"), (accepted.DecisionId, accepted.Report, accepted.ReporterKind));
        Assert.Contains("acct-1", accepted.Input);
    }

    [Fact]
    public async Task An_outcome_is_accepted_once_within_its_window_and_only_in_its_own_session_and_every_refusal_is_recorded()
    {
        var (cluster, clock, s, agent) = await StartAsync(LookupPolicies);
        var session = await s.OpenSessionAsync(agent, TimeSpan.FromDays(1), TimeSpan.FromDays(1));
        var other = await s.OpenSessionAsync(agent, TimeSpan.FromDays(1), TimeSpan.FromDays(1));
        var grain = cluster.Client.GetGrain<IAgentSessionGrain>(session);
        var first = await LookupAsync(s, session, "self");
        var late = await LookupAsync(s, session, "self");
        var elsewhere = await LookupAsync(s, other, "self");

        var accepted = await grain.ReportOutcome(Response(first.DecisionId, "acct-1", ReporterKind.EnforcementPoint));
        var second = await grain.ReportOutcome(Response(first.DecisionId, "acct-2", ReporterKind.EnforcementPoint));
        var unknown = await grain.ReportOutcome(Response(Guid.NewGuid(), "acct-3"));
        var foreign = await grain.ReportOutcome(Response(elsewhere.DecisionId, "acct-4"));
        var request = await grain.ReportOutcome(Response(late.DecisionId, "acct-5") with { Kind = SessionEventKind.Request });
        clock.Advance(Grains.Sessions.SessionLimits.OutcomeWindow + TimeSpan.FromSeconds(1));
        var tooLate = await grain.ReportOutcome(Response(late.DecisionId, "acct-6"));
        var nowhere = await cluster.Client.GetGrain<IAgentSessionGrain>("no-such-session-" + Guid.NewGuid().ToString("N")[..8]).ReportOutcome(Response(first.DecisionId, "acct-7"));

        Assert.True(accepted.IsSuccess, accepted.Message);
        Assert.Equal(SessionEventKind.Response, accepted.Value!.Kind);
        Assert.Equal(CommandError.Conflict, second.Error);
        Assert.Contains("already reported", second.Message);
        Assert.Equal(ProblemTypes.OutcomeAlreadyReported, second.ProblemType);
        // Only that refusal has the type a client may act on without reading the text.
        Assert.All([unknown, foreign, request, tooLate, nowhere], refused => Assert.Null(refused.ProblemType));
        Assert.Equal(CommandError.NotFound, unknown.Error);
        Assert.Equal(CommandError.NotFound, foreign.Error);
        Assert.Equal(CommandError.Invalid, request.Error);
        Assert.Equal(CommandError.Conflict, tooLate.Error);
        Assert.Contains("minutes after the decision", tooLate.Message);
        Assert.Equal(CommandError.NotFound, nowhere.Error);

        var chain = await VerifiedChainAsync(EvidenceChains.ForSession(session));
        var outcome = Assert.Single(chain, b => b.Kind == EvidenceKinds.Outcome);
        Assert.Equal(("gateway-1", ReporterKinds.EnforcementPoint, accepted.Value.Seq), (outcome.Actor, outcome.ReporterKind, outcome.Sequence));
        var refusals = chain.Where(b => b.Kind == EvidenceKinds.OutcomeRefused).ToList();
        // Second report, unknown decision, another session's decision, past the window (a request kind is bad input, not an attempt).
        Assert.Equal(4, refusals.Count);
        Assert.Equal(first.DecisionId.ToString(), refusals[0].DecisionId);
        Assert.Equal(elsewhere.DecisionId.ToString(), refusals[2].DecisionId);
        Assert.Equal(late.DecisionId.ToString(), refusals[3].DecisionId);
        Assert.All(refusals, b => Assert.NotNull(b.Detail));
        Assert.DoesNotContain(await VerifiedChainAsync(EvidenceChains.ForSession(other)), b => b.Kind is not (EvidenceKinds.SessionOpen or EvidenceKinds.Decision));
        var governance = await new AzureTableEvidenceStore(env.Azurite.ConnectionString).ReadChainAsync(EvidenceChains.Governance);
        Assert.Contains(governance.Select(e => EvidenceSealer.ParseBody(e.Body)),
            b => b.Kind == EvidenceKinds.OutcomeRefused && b.DecisionId == first.DecisionId.ToString() && b.SessionId!.StartsWith("no-such-session-", StringComparison.Ordinal));
        // The timeline shows the accepted outcome, not the refused attempts.
        var timeline = (await grain.Get())!;
        Assert.Equal([SessionEventKind.Request, SessionEventKind.Request, SessionEventKind.Response], timeline.Events.Select(e => e.Kind));
        Assert.Equal("""{"accountId":"acct-1"}""", timeline.Events[2].Detail);
    }

    [Fact]
    public async Task A_rule_can_require_outcomes_reported_by_an_enforcement_point()
    {
        var (cluster, _, s, agent) = await StartAsync("""
            permit (principal, action == Action::"lookup_account", resource);
            permit (principal, action == Action::"transfer", resource)
            when temporal { formerly within 10m Action::"lookup_account"::response{ output.accountId: context.input.toAccount, reporter: "enforcement-point" } };
            """);
        var session = await s.OpenSessionAsync(agent);
        var grain = cluster.Client.GetGrain<IAgentSessionGrain>(session);

        var selfReported = await LookupAsync(s, session, "self");
        Assert.True((await grain.ReportOutcome(Response(selfReported.DecisionId, "acct-agent", ReporterKind.Agent))).IsSuccess);
        var seenByGateway = await LookupAsync(s, session, "self");
        Assert.True((await grain.ReportOutcome(Response(seenByGateway.DecisionId, "acct-gateway", ReporterKind.EnforcementPoint))).IsSuccess);

        Assert.Equal(DecisionOutcome.Deny, (await TransferAsync(s, session, "acct-agent")).Outcome);
        Assert.Equal(DecisionOutcome.Allow, (await TransferAsync(s, session, "acct-gateway")).Outcome);
    }

    [Fact]
    public async Task An_outcome_for_a_decision_older_than_the_few_kept_with_names_is_sealed_with_its_action_and_resource_and_feeds_the_rule()
    {
        var (cluster, _, s, agent) = await StartAsync(LookupPolicies);
        var session = await s.OpenSessionAsync(agent);
        var grain = cluster.Client.GetGrain<IAgentSessionGrain>(session);
        var lookup = await LookupAsync(s, session, "self");
        // More decisions than the session keeps with action and resource: the lookup's are then only in its record.
        for (var i = 0; i <= Grains.Sessions.RecentDecisions.LabelledCount; i++)
            Assert.Equal(DecisionOutcome.Deny, (await TransferAsync(s, session, $"acct-{i}")).Outcome);

        var reported = await grain.ReportOutcome(Response(lookup.DecisionId, "acct-late"));
        var again = await grain.ReportOutcome(Response(lookup.DecisionId, "acct-other"));
        var transfer = await TransferAsync(s, session, "acct-late");

        Assert.True(reported.IsSuccess, reported.Message);
        Assert.Equal(CommandError.Conflict, again.Error);
        Assert.Equal(DecisionOutcome.Allow, transfer.Outcome);
        Assert.Equal(DecisionOutcome.Deny, (await TransferAsync(s, session, "acct-other")).Outcome);
        var chain = await VerifiedChainAsync(EvidenceChains.ForSession(session));
        var decided = Assert.Single(chain, b => b.Kind == EvidenceKinds.Decision && b.DecisionId == lookup.DecisionId.ToString());
        var outcome = Assert.Single(chain, b => b.Kind == EvidenceKinds.Outcome);
        Assert.Equal(("lookup_account", decided.Resource), (outcome.Action, outcome.Resource));
        Assert.Equal((outcome.Action, outcome.Resource), (reported.Value!.Action, reported.Value.Resource));
        var refused = Assert.Single(chain, b => b.Kind == EvidenceKinds.OutcomeRefused);
        Assert.Equal(("lookup_account", decided.Resource), (refused.Action, refused.Resource));
    }

    [Fact]
    public async Task Over_http_a_second_report_is_409_and_the_timeline_pages_with_bad_paging_refused()
    {
        var host = await env.GetSharedHostAsync();
        var http = host.Http;
        var session = (await http.PostJsonAsync("/v1/sessions", """{"agentId":"demo-agent"}""")).Json["id"]!.GetValue<string>();
        var decision = await http.PostJsonAsync($"/v1/sessions/{session}/decisions",
            """{"action":"read_file","resource":{"type":"Document","id":"q3","properties":{"fleet":"research"}}}""");
        Assert.Equal("Allow", decision.Json["outcome"]!.GetValue<string>());
        var decisionId = decision.Json["decisionId"]!.GetValue<string>();
        var report = $$$"""{"decisionId":"{{{decisionId}}}","kind":"response","output":{"bytes":1}}""";

        Assert.Equal(HttpStatusCode.Accepted, (await http.PostJsonAsync($"/v1/sessions/{session}/outcomes", report)).Status);
        (await http.PostJsonAsync($"/v1/sessions/{session}/outcomes", report)).AssertProblem(HttpStatusCode.Conflict);

        var page = await http.GetJsonAsync($"/v1/sessions/{session}/timeline?after=0&limit=1");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("request", Assert.Single(page.Json["events"]!.AsArray())!["kind"]!.GetValue<string>());
        Assert.Equal(2, page.Json["nextAfter"]!.GetValue<long>()); // record 1 is the open record, no event
        var rest = await http.GetJsonAsync($"/v1/sessions/{session}/timeline?after=2");
        Assert.Equal(["response"], rest.Json["events"]!.AsArray().Select(e => e!["kind"]!.GetValue<string>()));
        Assert.Null(rest.Json["nextAfter"]);
        (await http.GetJsonAsync($"/v1/sessions/{session}/timeline?limit=0")).AssertProblem(HttpStatusCode.BadRequest);
        (await http.GetJsonAsync($"/v1/sessions/{session}/timeline?after=-1")).AssertProblem(HttpStatusCode.BadRequest);
        (await http.GetJsonAsync($"/v1/sessions/{session}/timeline?limit=abc")).AssertProblem(HttpStatusCode.BadRequest);
        (await http.GetJsonAsync($"/v1/sessions/nope{Guid.NewGuid():N}/timeline")).AssertProblem(HttpStatusCode.NotFound);
    }
}
