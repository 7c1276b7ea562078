using Azure.Data.Tables;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Cluster.Tests;

/// <summary>
/// The decision path inside the session grain, on the shared 3-silo cluster with the example
/// policy (policy0 read own fleet @risk 1, policy1 search @risk 5, policy2 payments @approval @risk 40,
/// policy3 forbid delete_database, policy4 forbid risk > 100, policy5 forbid non-active agents).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DecisionTests(ClusterEnvironment env)
{
    private async Task<Scenario> ScenarioAsync()
    {
        var cluster = await env.GetSharedClusterAsync();
        return new Scenario(cluster.Client, env.Clock.GetUtcNow);
    }

    [Fact]
    public async Task Allow_records_the_policy_version_reasons_and_a_request_event()
    {
        var s = await ScenarioAsync();
        var agent = await s.NewAgentAsync();
        var session = await s.OpenSessionAsync(agent);
        var current = await s.Grains.GetGrain<IPolicyGrain>(0).CurrentVersion();

        var decision = await s.ReadOwnDocumentAsync(session);

        Assert.Equal(DecisionOutcome.Allow, decision.Outcome);
        Assert.Null(decision.DenyReason);
        Assert.Equal(["policy0"], decision.Reasons);
        Assert.Equal(current, decision.PolicyVersion);
        Assert.Equal(1, decision.RiskAdded);
        Assert.Equal(agent, decision.AgentId);
        var state = await s.Grains.GetGrain<IAgentSessionGrain>(session).Get();
        var recorded = Assert.Single(state!.Events);
        Assert.Equal(SessionEventKind.Request, recorded.Kind);
        Assert.Equal(decision.DecisionId, recorded.DecisionId);
        Assert.Equal(DecisionOutcome.Allow, recorded.Outcome);
        Assert.Equal("Document::\"doc-1\"", recorded.Resource);
        Assert.Equal(1, state.CumulativeRisk);
    }

    [Fact]
    public async Task Payment_is_approval_required_and_adds_its_risk()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync());

        var decision = await s.DecideAsync(session, "send_payment", "Account", "acme", input: """{"amount":250,"currency":"EUR"}""");

        Assert.Equal(DecisionOutcome.ApprovalRequired, decision.Outcome);
        Assert.Equal(["policy2"], decision.Reasons);
        Assert.Equal(40, decision.RiskAdded);
        Assert.Equal(40, decision.CumulativeRisk);
    }

    [Fact]
    public async Task Cumulative_risk_reaches_the_budget_and_then_everything_is_forbidden()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync());

        var risks = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            var payment = await s.DecideAsync(session, "send_payment", "Account", "acme", input: """{"amount":100}""");
            Assert.Equal(DecisionOutcome.ApprovalRequired, payment.Outcome);
            risks.Add(payment.CumulativeRisk);
        }
        var afterBudget = await s.ReadOwnDocumentAsync(session);

        Assert.Equal([40, 80, 120], risks);
        Assert.Equal(DecisionOutcome.Deny, afterBudget.Outcome);
        Assert.Equal(DenyReasons.NotPermitted, afterBudget.DenyReason);
        Assert.Contains("policy4", afterBudget.Reasons);
        var state = await s.Grains.GetGrain<IAgentSessionGrain>(session).Get();
        Assert.Equal(120, state!.CumulativeRisk);
        Assert.Equal(4, state.DecisionCount);
    }

    [Fact]
    public async Task Forbidden_action_is_denied_with_the_forbid_policy_as_reason()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync());

        var decision = await s.DecideAsync(session, "delete_database", "Database", "prod");

        Assert.Equal(DecisionOutcome.Deny, decision.Outcome);
        Assert.Equal(DenyReasons.NotPermitted, decision.DenyReason);
        Assert.Equal(["policy3"], decision.Reasons);
    }

    [Fact]
    public async Task No_permitting_policy_denies_not_permitted()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync(fleet: "research"));

        var decision = await s.ReadOwnDocumentAsync(session, fleet: "finance");

        Assert.Equal(DecisionOutcome.Deny, decision.Outcome);
        Assert.Equal(DenyReasons.NotPermitted, decision.DenyReason);
        Assert.Empty(decision.Reasons);
        var state = await s.Grains.GetGrain<IAgentSessionGrain>(session).Get();
        Assert.Equal(DecisionOutcome.Deny, Assert.Single(state!.Events).Outcome);
    }

    [Fact]
    public async Task Unknown_agent_is_denied()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync());

        var decision = await s.DecideAsync(session, "read_file", "Document", "doc-1", properties: """{"fleet":"research"}""", agentId: "ghost-agent-" + Guid.NewGuid().ToString("N"));

        Assert.Equal(DecisionOutcome.Deny, decision.Outcome);
        Assert.Equal(DenyReasons.UnknownAgent, decision.DenyReason);
    }

    [Fact]
    public async Task Session_of_another_agent_is_denied()
    {
        var s = await ScenarioAsync();
        var owner = await s.NewAgentAsync();
        var other = await s.NewAgentAsync();
        var session = await s.OpenSessionAsync(owner);

        var decision = await s.DecideAsync(session, "read_file", "Document", "doc-1", properties: """{"fleet":"research"}""", agentId: other);

        Assert.Equal(DecisionOutcome.Deny, decision.Outcome);
        Assert.Equal(DenyReasons.SessionAgentMismatch, decision.DenyReason);
        Assert.Equal(DecisionOutcome.Allow, (await s.DecideAsync(session, "read_file", "Document", "doc-1", properties: """{"fleet":"research"}""", agentId: owner)).Outcome);
    }

    [Fact]
    public async Task Suspension_applies_to_the_next_decision_and_lifting_it_restores_access()
    {
        var s = await ScenarioAsync();
        var agentId = await s.NewAgentAsync();
        var session = await s.OpenSessionAsync(agentId);
        var agent = s.Grains.GetGrain<IAgentGrain>(agentId);
        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(session)).Outcome);

        Assert.True((await agent.SetStatus(new AgentStatusChange { Status = AgentStatus.Suspended, Reason = "incident", Actor = "soc" })).IsSuccess);
        var suspended = await s.ReadOwnDocumentAsync(session);
        Assert.True((await agent.SetStatus(new AgentStatusChange { Status = AgentStatus.Active, Reason = "cleared", Actor = "soc" })).IsSuccess);
        var restored = await s.ReadOwnDocumentAsync(session);

        Assert.Equal(DecisionOutcome.Deny, suspended.Outcome);
        Assert.Equal(DenyReasons.AgentSuspended, suspended.DenyReason);
        Assert.Equal(DecisionOutcome.Allow, restored.Outcome);
    }

    [Fact]
    public async Task Revoked_agent_is_denied_and_revocation_is_final()
    {
        var s = await ScenarioAsync();
        var agentId = await s.NewAgentAsync();
        var session = await s.OpenSessionAsync(agentId);
        var agent = s.Grains.GetGrain<IAgentGrain>(agentId);

        Assert.True((await agent.SetStatus(new AgentStatusChange { Status = AgentStatus.Revoked, Reason = "compromised", Actor = "soc" })).IsSuccess);
        var decision = await s.ReadOwnDocumentAsync(session);
        var reactivate = await agent.SetStatus(new AgentStatusChange { Status = AgentStatus.Active, Reason = "oops", Actor = "soc" });

        Assert.Equal(DenyReasons.AgentRevoked, decision.DenyReason);
        Assert.Equal(DecisionOutcome.Deny, decision.Outcome);
        Assert.Equal(CommandError.Conflict, reactivate.Error);
        Assert.Equal(AgentStatus.Revoked, (await agent.Get())!.Status);
    }

    [Fact]
    public async Task Suspended_agent_may_open_a_session_but_a_revoked_one_may_not()
    {
        var s = await ScenarioAsync();
        var suspendedId = await s.NewAgentAsync();
        var revokedId = await s.NewAgentAsync();
        await s.Grains.GetGrain<IAgentGrain>(suspendedId).SetStatus(new AgentStatusChange { Status = AgentStatus.Suspended, Actor = "soc" });
        await s.Grains.GetGrain<IAgentGrain>(revokedId).SetStatus(new AgentStatusChange { Status = AgentStatus.Revoked, Actor = "soc" });

        var suspendedSession = await s.OpenSessionAsync(suspendedId);
        var decision = await s.ReadOwnDocumentAsync(suspendedSession);
        var revokedOpen = await s.Grains.GetGrain<IAgentSessionGrain>("revoked-" + Guid.NewGuid().ToString("N")).Open(new SessionOpenRequest { AgentId = revokedId });
        var unknownOpen = await s.Grains.GetGrain<IAgentSessionGrain>("unknown-" + Guid.NewGuid().ToString("N")).Open(new SessionOpenRequest { AgentId = "nobody-" + Guid.NewGuid().ToString("N") });

        Assert.Equal(DenyReasons.AgentSuspended, decision.DenyReason);
        Assert.Equal(CommandError.Conflict, revokedOpen.Error);
        Assert.Equal(CommandError.NotFound, unknownOpen.Error);
    }

    [Fact]
    public async Task Closed_session_is_denied()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync());
        Assert.True((await s.Grains.GetGrain<IAgentSessionGrain>(session).Close("done")).IsSuccess);

        var decision = await s.ReadOwnDocumentAsync(session);

        Assert.Equal(DecisionOutcome.Deny, decision.Outcome);
        Assert.Equal(DenyReasons.SessionClosed, decision.DenyReason);
    }

    [Fact]
    public async Task Session_expires_at_the_end_of_its_lifetime()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync(), lifetime: TimeSpan.FromMinutes(10), idle: TimeSpan.FromHours(1));
        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(session)).Outcome);

        env.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        var decision = await s.ReadOwnDocumentAsync(session);

        Assert.Equal(DecisionOutcome.Deny, decision.Outcome);
        Assert.Equal(DenyReasons.SessionExpired, decision.DenyReason);
        Assert.Equal(SessionStatus.Expired, (await s.Grains.GetGrain<IAgentSessionGrain>(session).Get())!.Status);
    }

    [Fact]
    public async Task Session_expires_after_its_idle_timeout_but_activity_keeps_it_alive()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync(), lifetime: TimeSpan.FromHours(2), idle: TimeSpan.FromMinutes(5));

        env.Clock.Advance(TimeSpan.FromMinutes(4));
        var active = await s.ReadOwnDocumentAsync(session);
        env.Clock.Advance(TimeSpan.FromMinutes(4));
        var stillActive = await s.ReadOwnDocumentAsync(session);
        env.Clock.Advance(TimeSpan.FromMinutes(5));
        var idle = await s.ReadOwnDocumentAsync(session);

        Assert.Equal(DecisionOutcome.Allow, active.Outcome);
        Assert.Equal(DecisionOutcome.Allow, stillActive.Outcome);
        Assert.Equal(DenyReasons.SessionExpired, idle.DenyReason);
        Assert.Equal(SessionStatus.Expired, (await s.Grains.GetGrain<IAgentSessionGrain>(session).Get())!.Status);
    }

    [Fact]
    public async Task Action_without_a_covering_delegation_is_denied()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync(actions: ["read_file"], resources: ["Document::\"doc-1\""]));

        var uncoveredAction = await s.DecideAsync(session, "search_web", "WebSearch", "web");
        var uncoveredResource = await s.DecideAsync(session, "read_file", "Document", "doc-2", properties: """{"fleet":"research"}""");
        var covered = await s.ReadOwnDocumentAsync(session);

        Assert.Equal(DenyReasons.NoDelegation, uncoveredAction.DenyReason);
        Assert.Equal(DenyReasons.NoDelegation, uncoveredResource.DenyReason);
        Assert.Equal(DecisionOutcome.Allow, covered.Outcome);
    }

    [Fact]
    public async Task Expired_or_removed_delegation_no_longer_covers()
    {
        var s = await ScenarioAsync();
        var shortLived = await s.NewAgentAsync(delegationFor: TimeSpan.FromMinutes(2));
        var shortSession = await s.OpenSessionAsync(shortLived);
        var removable = await s.NewAgentAsync();
        var removableSession = await s.OpenSessionAsync(removable);
        var agent = s.Grains.GetGrain<IAgentGrain>(removable);
        var delegationId = (await agent.Get())!.Delegations.Single().Id;

        Assert.True((await agent.RemoveDelegation(delegationId)).IsSuccess);
        var afterRemoval = await s.ReadOwnDocumentAsync(removableSession);
        env.Clock.Advance(TimeSpan.FromMinutes(3));
        var afterExpiry = await s.ReadOwnDocumentAsync(shortSession);

        Assert.Equal(DenyReasons.NoDelegation, afterRemoval.DenyReason);
        Assert.Equal(DenyReasons.NoDelegation, afterExpiry.DenyReason);
    }

    [Fact]
    public async Task Malformed_request_context_is_denied_as_invalid_request()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync());

        var decision = await s.DecideAsync(session, "read_file", "Document", "doc-1", properties: """{"fleet":"research"}""", context: "[1, 2");

        Assert.Equal(DecisionOutcome.Deny, decision.Outcome);
        Assert.Equal(DenyReasons.InvalidRequest, decision.DenyReason);
    }

    [Fact]
    public async Task A_decision_writes_only_its_evidence_record_so_a_session_row_that_cannot_be_written_changes_no_answer()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync());
        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(session)).Outcome);
        // A session with only its open record has no row: deactivation snapshots the decision, the next one reads the row back.
        await s.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(session)).Outcome);

        // Touch the stored row behind the grain's back: any write of it (a snapshot) now fails on the ETag check.
        await TouchStoredRowAsync(session);
        var decisions = new List<AuthzDecision>();
        for (var i = 0; i < 3; i++) decisions.Add(await s.ReadOwnDocumentAsync(session));

        Assert.All(decisions, d => Assert.Equal(DecisionOutcome.Allow, d.Outcome));
        var state = await s.Grains.GetGrain<IAgentSessionGrain>(session).Get();
        Assert.Equal(5, state!.DecisionCount);
        Assert.Equal(decisions.Select(d => d.DecisionId), state.Events.Skip(2).Select(e => e.DecisionId));
    }

    [Fact]
    public async Task Reported_outcomes_append_response_and_error_events()
    {
        var s = await ScenarioAsync();
        var session = await s.OpenSessionAsync(await s.NewAgentAsync());
        var grain = s.Grains.GetGrain<IAgentSessionGrain>(session);
        var first = await s.ReadOwnDocumentAsync(session);
        var second = await s.DecideAsync(session, "search_web", "WebSearch", "web");

        var response = await grain.ReportOutcome(new OutcomeReport { DecisionId = first.DecisionId, Kind = SessionEventKind.Response, OutputJson = """{"bytes":42}""" });
        var error = await grain.ReportOutcome(new OutcomeReport { DecisionId = second.DecisionId, Kind = SessionEventKind.Error, Error = "timeout" });
        var unknown = await grain.ReportOutcome(new OutcomeReport { DecisionId = Guid.NewGuid(), Kind = SessionEventKind.Response });

        Assert.True(response.IsSuccess);
        Assert.True(error.IsSuccess);
        Assert.Equal(CommandError.NotFound, unknown.Error);
        var state = await grain.Get();
        Assert.Equal([SessionEventKind.Request, SessionEventKind.Request, SessionEventKind.Response, SessionEventKind.Error], state!.Events.Select(e => e.Kind));
        Assert.Equal([2L, 3, 4, 5], state.Events.Select(e => e.Seq)); // record 1 is the open record
        Assert.Equal("""{"bytes":42}""", state.Events[2].Detail);
        Assert.Equal("timeout", state.Events[3].Detail);
        Assert.Equal(first.DecisionId, state.Events[2].DecisionId);
        Assert.Equal((2L, 1L, 1L), (state.RequestEvents, state.ResponseEvents, state.ErrorEvents));
    }

    [Fact]
    public async Task Unknown_session_is_denied_without_creating_state()
    {
        var s = await ScenarioAsync();
        var id = "never-opened-" + Guid.NewGuid().ToString("N");

        var decision = await s.ReadOwnDocumentAsync(id);

        Assert.Equal(DenyReasons.UnknownSession, decision.DenyReason);
        Assert.Null(await s.Grains.GetGrain<IAgentSessionGrain>(id).Get());
    }

    private async Task TouchStoredRowAsync(string sessionId)
    {
        var table = new TableServiceClient(env.Azurite.ConnectionString).GetTableClient(RuntimeAuthz.Silo.SiloConfiguration.DefaultGrainStateTable);
        var touched = 0;
        await foreach (var entity in table.QueryAsync<TableEntity>())
        {
            if (!entity.PartitionKey.Contains(sessionId, StringComparison.Ordinal) && !entity.RowKey.Contains(sessionId, StringComparison.Ordinal)) continue;
            await table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Merge);
            touched++;
        }
        Assert.Equal(1, touched);
    }
}
