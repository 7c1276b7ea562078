using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Cluster.Tests.Governance;

/// <summary>
/// Grants, sub-delegation (attenuation at grant and decision time), cascades, suspensions,
/// conditions and expiry, on the shared 3-silo cluster whose authorization clock is fake.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class GrantTests(ClusterEnvironment env)
{
    private static readonly GovernanceActor Governance = new() { Actor = "governance@example.com", Reason = "test" };

    private async Task<Scenario> ScenarioAsync() => new((await env.GetSharedClusterAsync()).Client, env.Clock.GetUtcNow);

    private DateTimeOffset Now => env.Clock.GetUtcNow();

    private static DelegationGrant Grant(string[] actions, string[] resources, DateTimeOffset expiresAt, string grantedBy = "governance@example.com") =>
        new() { Actions = actions, Resources = resources, ExpiresAt = expiresAt, GrantedBy = grantedBy };

    private static async Task<string> GrantAsync(Scenario s, string agentId, DelegationGrant grant)
    {
        var result = await s.Grains.GetGrain<IAgentGrain>(agentId).AddDelegation(grant);
        Assert.True(result.IsSuccess, result.Message);
        return result.Value!.Id;
    }

    [Fact]
    public async Task Authenticated_agent_without_a_grant_is_denied_whatever_the_policies_say()
    {
        var s = await ScenarioAsync();
        var agent = await s.NewAgentAsync(actions: []);
        var session = await s.OpenSessionAsync(agent);

        var decision = await s.ReadOwnDocumentAsync(session);

        Assert.Equal(DecisionOutcome.Deny, decision.Outcome);
        Assert.Equal(DenyReasons.NoDelegation, decision.DenyReason);
    }

    [Fact]
    public async Task Sub_agent_cannot_receive_more_than_its_parent_holds()
    {
        var s = await ScenarioAsync();
        var parent = await s.NewAgentAsync(actions: []);
        var child = await s.NewAgentAsync(actions: []);
        var parentGrant = await GrantAsync(s, parent, Grant(["read_file", "search_web"], ["Document::*"], Now.AddDays(1)));
        var childGrain = s.Grains.GetGrain<IAgentGrain>(child);

        DelegationGrant Derived(string[] actions, string[] resources, DateTimeOffset expiresAt) =>
            Grant(actions, resources, expiresAt, grantedBy: parent) with { DelegatorAgentId = parent, ParentGrantId = parentGrant };

        var moreActions = await childGrain.AddDelegation(Derived(["read_file", "send_payment"], ["Document::*"], Now.AddHours(1)));
        var anyAction = await childGrain.AddDelegation(Derived(["*"], ["Document::*"], Now.AddHours(1)));
        var moreResources = await childGrain.AddDelegation(Derived(["read_file"], ["*"], Now.AddHours(1)));
        var otherType = await childGrain.AddDelegation(Derived(["read_file"], ["Account::\"acme\""], Now.AddHours(1)));
        var longer = await childGrain.AddDelegation(Derived(["read_file"], ["Document::*"], Now.AddDays(2)));
        var unknownParent = await childGrain.AddDelegation(Derived(["read_file"], ["Document::*"], Now.AddHours(1)) with { ParentGrantId = "nope" });
        var subset = await childGrain.AddDelegation(Derived(["read_file"], ["Document::\"doc-1\""], Now.AddHours(1)));

        Assert.Equal(CommandError.Invalid, moreActions.Error);
        Assert.Contains("attenuation", moreActions.Message);
        Assert.Equal(CommandError.Invalid, anyAction.Error);
        Assert.Equal(CommandError.Invalid, moreResources.Error);
        Assert.Equal(CommandError.Invalid, otherType.Error);
        Assert.Equal(CommandError.Invalid, longer.Error);
        Assert.Equal(CommandError.NotFound, unknownParent.Error);
        Assert.True(subset.IsSuccess, subset.Message);
        Assert.Equal(1, subset.Value!.Depth);
        Assert.Equal(parent, subset.Value.DelegatorAgentId);
    }

    [Fact]
    public async Task Revoking_the_parent_grant_denies_the_sub_agents_next_call_and_cascades()
    {
        var s = await ScenarioAsync();
        var parent = await s.NewAgentAsync(actions: []);
        var child = await s.NewAgentAsync(actions: []);
        var grandchild = await s.NewAgentAsync(actions: []);
        var parentGrant = await GrantAsync(s, parent, Grant(["read_file"], ["Document::*"], Now.AddDays(1)));
        var childGrant = await GrantAsync(s, child, Grant(["read_file"], ["Document::*"], Now.AddHours(2), parent) with { DelegatorAgentId = parent, ParentGrantId = parentGrant });
        var grandchildGrant = await GrantAsync(s, grandchild, Grant(["read_file"], ["Document::\"doc-1\""], Now.AddHours(1), child) with { DelegatorAgentId = child, ParentGrantId = childGrant });
        var childSession = await s.OpenSessionAsync(child);
        var grandchildSession = await s.OpenSessionAsync(grandchild);
        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(childSession)).Outcome);
        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(grandchildSession)).Outcome);

        var result = await s.Grains.GetGrain<IGovernanceGrain>(0).RevokeGrant(parent, parentGrant, Governance);

        Assert.True(result.IsSuccess, result.Message);
        Assert.Equal([parentGrant, childGrant, grandchildGrant], result.Value!.Revoked.Select(r => r.Grant.Id).ToArray());
        var childDecision = await s.ReadOwnDocumentAsync(childSession);
        var grandchildDecision = await s.ReadOwnDocumentAsync(grandchildSession);
        Assert.Equal(DenyReasons.NoDelegation, childDecision.DenyReason);
        Assert.Equal(DenyReasons.NoDelegation, grandchildDecision.DenyReason);
        var childAfter = (await s.Grains.GetGrain<IAgentGrain>(child).Get())!;
        Assert.Empty(childAfter.Delegations);
        Assert.Equal(Governance.Actor, Assert.Single(childAfter.RevokedDelegations).RevokedBy);
    }

    [Fact]
    public async Task Decision_time_checks_the_chain_even_without_a_cascade()
    {
        var s = await ScenarioAsync();
        var parent = await s.NewAgentAsync(actions: []);
        var child = await s.NewAgentAsync(actions: []);
        var parentGrant = await GrantAsync(s, parent, Grant(["read_file"], ["Document::*"], Now.AddDays(1)));
        await GrantAsync(s, child, Grant(["read_file"], ["Document::*"], Now.AddHours(2), parent) with { DelegatorAgentId = parent, ParentGrantId = parentGrant });
        var session = await s.OpenSessionAsync(child);
        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(session)).Outcome);

        // Suspending the delegating agent withdraws what it handed on; reactivating restores it.
        var parentGrain = s.Grains.GetGrain<IAgentGrain>(parent);
        Assert.True((await parentGrain.SetStatus(new AgentStatusChange { Status = AgentStatus.Suspended, Actor = "ops", Reason = "kill switch" })).IsSuccess);
        var whileSuspended = await s.ReadOwnDocumentAsync(session);
        Assert.True((await parentGrain.SetStatus(new AgentStatusChange { Status = AgentStatus.Active, Actor = "ops", Reason = "cleared" })).IsSuccess);
        var reactivated = await s.ReadOwnDocumentAsync(session);
        // Revoking only the parent's grant (no cascade) still stops the derived grant at decision time.
        Assert.True((await parentGrain.RevokeDelegation(parentGrant, Governance)).IsSuccess);
        var afterRevoke = await s.ReadOwnDocumentAsync(session);

        Assert.Equal(DenyReasons.NoDelegation, whileSuspended.DenyReason);
        Assert.Equal(DecisionOutcome.Allow, reactivated.Outcome);
        Assert.Equal(DenyReasons.NoDelegation, afterRevoke.DenyReason);
        var stored = (await s.Grains.GetGrain<IAgentSessionGrain>(session).Get())!;
        Assert.Contains("was revoked", stored.Events[^1].Detail);
        Assert.Single((await s.Grains.GetGrain<IAgentGrain>(child).Get())!.Delegations);
    }

    [Fact]
    public async Task Like_patterns_cover_a_hierarchy_of_ids_and_attenuate()
    {
        var s = await ScenarioAsync();
        var parent = await s.NewAgentAsync(actions: []);
        var child = await s.NewAgentAsync(actions: []);
        var parentGrant = await GrantAsync(s, parent, Grant(["read_file"], ["Document like \"projects/alpha/*\"", "Document like \"a\\*b\""], Now.AddDays(1)));
        var childGrain = s.Grains.GetGrain<IAgentGrain>(child);
        DelegationGrant Derived(params string[] resources) =>
            Grant(["read_file"], resources, Now.AddHours(1), parent) with { DelegatorAgentId = parent, ParentGrantId = parentGrant };

        var narrower = await childGrain.AddDelegation(Derived("Document like \"projects/alpha/reports/*\"", "Document::\"projects/alpha/y\""));
        var wider = await childGrain.AddDelegation(Derived("Document like \"projects/*\""));
        var wholeType = await childGrain.AddDelegation(Derived("Document::*"));
        var session = await s.OpenSessionAsync(parent);
        var properties = """{"fleet":"research"}""";

        var inside = await s.DecideAsync(session, "read_file", "Document", "projects/alpha/x/y", properties);
        var outside = await s.DecideAsync(session, "read_file", "Document", "projects/beta/x", properties);
        var literalStar = await s.DecideAsync(session, "read_file", "Document", "a*b", properties);
        var notLiteral = await s.DecideAsync(session, "read_file", "Document", "axxb", properties);

        Assert.True(narrower.IsSuccess, narrower.Message);
        Assert.Equal(CommandError.Invalid, wider.Error);
        Assert.Equal(CommandError.Invalid, wholeType.Error);
        Assert.Equal(DecisionOutcome.Allow, inside.Outcome);
        Assert.Equal(DenyReasons.NoDelegation, outside.DenyReason);
        Assert.Equal(DecisionOutcome.Allow, literalStar.Outcome);
        Assert.Equal(DenyReasons.NoDelegation, notLiteral.DenyReason);
    }

    [Fact]
    public async Task Delegation_depth_is_bounded()
    {
        var s = await ScenarioAsync();
        var agents = new List<string>();
        for (var i = 0; i < 5; i++) agents.Add(await s.NewAgentAsync(actions: []));
        var grant = await GrantAsync(s, agents[0], Grant(["read_file"], ["Document::*"], Now.AddDays(1)));
        for (var depth = 1; depth <= 3; depth++)
        {
            grant = await GrantAsync(s, agents[depth], Grant(["read_file"], ["Document::*"], Now.AddDays(1), agents[depth - 1])
                with { DelegatorAgentId = agents[depth - 1], ParentGrantId = grant });
        }

        var tooDeep = await s.Grains.GetGrain<IAgentGrain>(agents[4]).AddDelegation(Grant(["read_file"], ["Document::*"], Now.AddDays(1), agents[3])
            with { DelegatorAgentId = agents[3], ParentGrantId = grant });
        var deepest = await s.ReadOwnDocumentAsync(await s.OpenSessionAsync(agents[3]));

        Assert.Equal(CommandError.Invalid, tooDeep.Error);
        Assert.Contains("MaxDelegationDepth", tooDeep.Message);
        Assert.Equal(DecisionOutcome.Allow, deepest.Outcome);
    }

    [Fact]
    public async Task Revoking_by_delegator_reaches_every_grant_it_issued_and_their_derivatives()
    {
        var s = await ScenarioAsync();
        var delegator = "human-" + Guid.NewGuid().ToString("N")[..8] + "@example.com";
        var a = await s.NewAgentAsync(actions: []);
        var b = await s.NewAgentAsync(actions: []);
        var c = await s.NewAgentAsync(actions: []);
        var other = await s.NewAgentAsync();
        var aGrant = await GrantAsync(s, a, Grant(["read_file"], ["Document::*"], Now.AddDays(1), delegator));
        await GrantAsync(s, b, Grant(["read_file"], ["Document::*"], Now.AddDays(1), delegator));
        await GrantAsync(s, c, Grant(["read_file"], ["Document::*"], Now.AddDays(1), a) with { DelegatorAgentId = a, ParentGrantId = aGrant });
        var sessions = await Task.WhenAll(new[] { a, b, c, other }.Select(x => s.OpenSessionAsync(x)));

        var result = await s.Grains.GetGrain<IGovernanceGrain>(0).RevokeByDelegator(DelegatorKeys.Principal(delegator), Governance);

        Assert.True(result.IsSuccess, result.Message);
        Assert.Equal(3, result.Value!.Revoked.Count);
        Assert.Equal(new[] { a, b, c }.Order(), result.Value.Revoked.Select(r => r.AgentId).Order());
        for (var i = 0; i < 3; i++) Assert.Equal(DenyReasons.NoDelegation, (await s.ReadOwnDocumentAsync(sessions[i])).DenyReason);
        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(sessions[3])).Outcome);
    }

    [Fact]
    public async Task Suspending_a_fleet_or_a_label_denies_its_agents_until_reactivated()
    {
        var s = await ScenarioAsync();
        var fleet = "fleet-" + Guid.NewGuid().ToString("N")[..8];
        var agentId = "agent-" + Guid.NewGuid().ToString("N")[..10];
        var agent = s.Grains.GetGrain<IAgentGrain>(agentId);
        Assert.True((await agent.Register(new AgentRegistration { Name = "n", Owner = "o", Fleet = fleet, Labels = new Dictionary<string, string> { ["tier"] = agentId } })).IsSuccess);
        await GrantAsync(s, agentId, Grant(["read_file"], ["Document::*"], Now.AddDays(1)));
        var session = await s.OpenSessionAsync(agentId);
        var bystander = await s.OpenSessionAsync(await s.NewAgentAsync());
        var fleetSwitch = s.Grains.GetGrain<ISuspensionGrain>(SuspensionScopes.Fleet(fleet));
        var labelSwitch = s.Grains.GetGrain<ISuspensionGrain>(SuspensionScopes.Label("tier", agentId));

        var before = await s.ReadOwnDocumentAsync(session, fleet);
        Assert.True((await fleetSwitch.Set(true, Governance)).IsSuccess);
        var fleetSuspended = await s.ReadOwnDocumentAsync(session, fleet);
        var bystanderDecision = await s.ReadOwnDocumentAsync(bystander);
        Assert.True((await fleetSwitch.Set(false, Governance)).IsSuccess);
        Assert.True((await labelSwitch.Set(true, Governance)).IsSuccess);
        var labelSuspended = await s.ReadOwnDocumentAsync(session, fleet);
        Assert.True((await labelSwitch.Set(false, Governance)).IsSuccess);
        var after = await s.ReadOwnDocumentAsync(session, fleet);

        Assert.Equal(DecisionOutcome.Allow, before.Outcome);
        Assert.Equal(GovernanceDenyReasons.FleetSuspended, fleetSuspended.DenyReason);
        Assert.Equal(DecisionOutcome.Allow, bystanderDecision.Outcome);
        Assert.Equal(GovernanceDenyReasons.LabelSuspended, labelSuspended.DenyReason);
        Assert.Equal(DecisionOutcome.Allow, after.Outcome);
        var history = (await fleetSwitch.Get()).History;
        Assert.Equal([true, false], history.Select(h => h.Suspended));
        Assert.All(history, h => Assert.Equal(Governance.Actor, h.Actor));
    }

    [Fact]
    public async Task Grant_conditions_are_Cedar_expressions_checked_against_the_request()
    {
        var s = await ScenarioAsync();
        var agentId = await s.NewAgentAsync(actions: []);
        var agent = s.Grains.GetGrain<IAgentGrain>(agentId);
        await GrantAsync(s, agentId, Grant(["read_file"], ["Document::*"], Now.AddDays(1)) with { Condition = "context.input has pages && context.input.pages <= 10" });
        var session = await s.OpenSessionAsync(agentId);

        var small = await s.DecideAsync(session, "read_file", "Document", "doc-1", properties: """{"fleet":"research"}""", input: """{"pages":3}""");
        var large = await s.DecideAsync(session, "read_file", "Document", "doc-1", properties: """{"fleet":"research"}""", input: """{"pages":30}""");
        var missing = await s.DecideAsync(session, "read_file", "Document", "doc-1", properties: """{"fleet":"research"}""");
        var unparsable = await agent.AddDelegation(Grant(["read_file"], ["Document::*"], Now.AddDays(1)) with { Condition = "context.input.pages <=" });
        var injection = await agent.AddDelegation(Grant(["read_file"], ["Document::*"], Now.AddDays(1)) with { Condition = "true }; permit (principal, action, resource) when { true" });

        Assert.Equal(DecisionOutcome.Allow, small.Outcome);
        Assert.Equal(DenyReasons.NoDelegation, large.DenyReason);
        Assert.Equal(DenyReasons.NoDelegation, missing.DenyReason);
        Assert.Equal(CommandError.Invalid, unparsable.Error);
        Assert.StartsWith("condition:", unparsable.Message);
        var issue = Assert.Single(unparsable.Issues);
        Assert.True(issue.Line >= 1 && issue.Column >= 1);
        Assert.Equal(CommandError.Invalid, injection.Error);
    }

    [Fact]
    public async Task Grants_expire_and_start_on_the_authorization_clock()
    {
        var s = await ScenarioAsync();
        var agentId = await s.NewAgentAsync(actions: []);
        await GrantAsync(s, agentId, Grant(["read_file"], ["Document::*"], Now.AddMinutes(10)));
        await GrantAsync(s, agentId, Grant(["search_web"], ["WebSearch::*"], Now.AddHours(3)) with { NotBefore = Now.AddHours(2) });
        var session = await s.OpenSessionAsync(agentId, lifetime: TimeSpan.FromDays(1), idle: TimeSpan.FromDays(1));

        var readBefore = await s.ReadOwnDocumentAsync(session);
        var searchTooEarly = await s.DecideAsync(session, "search_web", "WebSearch", "q");
        env.Clock.Advance(TimeSpan.FromMinutes(11));
        var readAfter = await s.ReadOwnDocumentAsync(session);
        env.Clock.Advance(TimeSpan.FromHours(2));
        var searchInWindow = await s.DecideAsync(session, "search_web", "WebSearch", "q");
        env.Clock.Advance(TimeSpan.FromHours(1));
        var searchAfter = await s.DecideAsync(session, "search_web", "WebSearch", "q");

        Assert.Equal(DecisionOutcome.Allow, readBefore.Outcome);
        Assert.Equal(DenyReasons.NoDelegation, searchTooEarly.DenyReason);
        Assert.Equal(DenyReasons.NoDelegation, readAfter.DenyReason);
        Assert.Equal(DecisionOutcome.Allow, searchInWindow.Outcome);
        Assert.Equal(DenyReasons.NoDelegation, searchAfter.DenyReason);
    }

    [Fact]
    public async Task Derived_grant_stops_when_its_parent_expires()
    {
        var s = await ScenarioAsync();
        var parent = await s.NewAgentAsync(actions: []);
        var child = await s.NewAgentAsync(actions: []);
        var parentGrant = await GrantAsync(s, parent, Grant(["read_file"], ["Document::*"], Now.AddMinutes(30)));
        await GrantAsync(s, child, Grant(["read_file"], ["Document::*"], Now.AddMinutes(30), parent) with { DelegatorAgentId = parent, ParentGrantId = parentGrant });
        var session = await s.OpenSessionAsync(child, lifetime: TimeSpan.FromDays(1), idle: TimeSpan.FromDays(1));

        var before = await s.ReadOwnDocumentAsync(session);
        env.Clock.Advance(TimeSpan.FromMinutes(31));
        var after = await s.ReadOwnDocumentAsync(session);

        Assert.Equal(DecisionOutcome.Allow, before.Outcome);
        Assert.Equal(DenyReasons.NoDelegation, after.DenyReason);
    }

    [Fact]
    public async Task Elevation_is_bound_to_one_session_and_short_lived()
    {
        var s = await ScenarioAsync();
        var agentId = await s.NewAgentAsync(actions: ["read_file"], resources: ["Document::*"]);
        var elevated = await s.OpenSessionAsync(agentId, lifetime: TimeSpan.FromDays(1), idle: TimeSpan.FromDays(1));
        var plain = await s.OpenSessionAsync(agentId, lifetime: TimeSpan.FromDays(1), idle: TimeSpan.FromDays(1));
        await GrantAsync(s, agentId, Grant(["search_web"], ["WebSearch::*"], Now.AddMinutes(5)) with { SessionId = elevated, Purpose = "incident lookup" });

        var inSession = await s.DecideAsync(elevated, "search_web", "WebSearch", "q");
        var otherSession = await s.DecideAsync(plain, "search_web", "WebSearch", "q");
        env.Clock.Advance(TimeSpan.FromMinutes(6));
        var expired = await s.DecideAsync(elevated, "search_web", "WebSearch", "q");
        var baseGrantStillWorks = await s.ReadOwnDocumentAsync(elevated);

        Assert.Equal(DecisionOutcome.Allow, inSession.Outcome);
        Assert.Equal(DenyReasons.NoDelegation, otherSession.DenyReason);
        Assert.Equal(DenyReasons.NoDelegation, expired.DenyReason);
        Assert.Equal(DecisionOutcome.Allow, baseGrantStillWorks.Outcome);
    }

    [Fact]
    public async Task Session_lifetime_and_idle_timeout_end_what_relied_on_them()
    {
        var s = await ScenarioAsync();
        var agentId = await s.NewAgentAsync();
        var shortLived = await s.OpenSessionAsync(agentId, lifetime: TimeSpan.FromMinutes(30), idle: TimeSpan.FromDays(1));
        var idle = await s.OpenSessionAsync(agentId, lifetime: TimeSpan.FromDays(1), idle: TimeSpan.FromMinutes(10));

        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(shortLived)).Outcome);
        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(idle)).Outcome);
        env.Clock.Advance(TimeSpan.FromMinutes(11));
        var idleDecision = await s.ReadOwnDocumentAsync(idle);
        env.Clock.Advance(TimeSpan.FromMinutes(20));
        var lifetimeDecision = await s.ReadOwnDocumentAsync(shortLived);

        Assert.Equal(DenyReasons.SessionExpired, idleDecision.DenyReason);
        Assert.Equal(DenyReasons.SessionExpired, lifetimeDecision.DenyReason);
    }
}
