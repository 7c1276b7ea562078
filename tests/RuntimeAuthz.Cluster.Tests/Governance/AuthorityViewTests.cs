using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Governance;

namespace RuntimeAuthz.Cluster.Tests.Governance;

/// <summary>
/// Each silo decides from its own authority view (agent identities and suspensions, no grain call per decision);
/// a change made on one silo holds on the other when the changing call returns, and still does when the other
/// silo could not be told.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AuthorityViewTests(ClusterEnvironment env)
{
    private static readonly GovernanceActor Governance = new() { Actor = "incident@example.com", Reason = "authority view test" };

    [Fact]
    public async Task Every_change_made_on_the_agents_silo_holds_for_the_very_next_decision_on_the_other_silo()
    {
        var (cluster, scenario, agentId, session, _, viewOfB) = await TwoSilosAsync(unreachable: null);
        var agent = cluster.Client.GetGrain<IAgentGrain>(agentId);
        var fleet = (await agent.Get())!.Fleet;
        var grantId = (await agent.Get())!.Delegations.Single().Id;
        var fleetSwitch = cluster.Client.GetGrain<ISuspensionGrain>(SuspensionScopes.Fleet(fleet));

        async Task ChangeThenNextOnBAsync(Func<Task<bool>> change, DecisionOutcome outcome, string? reason)
        {
            // The other silo holds the agent and its fleet from its last decision: only the push can change its answer.
            Assert.True(viewOfB.Holds(AuthorityView.AgentKey(agentId)));
            Assert.True(await change());
            var decision = await scenario.ReadOwnDocumentAsync(session, fleet);
            Assert.Equal(outcome, decision.Outcome);
            Assert.Equal(reason, decision.DenyReason);
        }

        await ChangeThenNextOnBAsync(async () => (await agent.SetStatus(new AgentStatusChange { Status = AgentStatus.Suspended, Actor = Governance.Actor, Reason = "kill switch" })).IsSuccess,
            DecisionOutcome.Deny, DenyReasons.AgentSuspended);
        await ChangeThenNextOnBAsync(async () => (await agent.SetStatus(new AgentStatusChange { Status = AgentStatus.Active, Actor = Governance.Actor, Reason = "cleared" })).IsSuccess,
            DecisionOutcome.Allow, null);

        Assert.True(viewOfB.Holds(SuspensionScopes.Fleet(fleet)));
        await ChangeThenNextOnBAsync(async () => (await fleetSwitch.Set(true, Governance)).IsSuccess, DecisionOutcome.Deny, GovernanceDenyReasons.FleetSuspended);
        await ChangeThenNextOnBAsync(async () => (await fleetSwitch.Set(false, Governance)).IsSuccess, DecisionOutcome.Allow, null);

        await ChangeThenNextOnBAsync(async () => (await cluster.Client.GetGrain<IGovernanceGrain>(0).RevokeGrant(agentId, grantId, Governance)).IsSuccess,
            DecisionOutcome.Deny, DenyReasons.NoDelegation);
    }

    [Fact]
    public async Task A_silo_that_could_not_be_told_of_a_revoke_no_longer_decides_from_what_it_read_when_the_revoke_returns()
    {
        var unreachable = new Unreachable();
        var (cluster, scenario, agentId, session, siloB, viewOfB) = await TwoSilosAsync(unreachable);
        var agent = cluster.Client.GetGrain<IAgentGrain>(agentId);
        var grantId = (await agent.Get())!.Delegations.Single().Id;
        Assert.True(viewOfB.Holds(AuthorityView.AgentKey(agentId)));

        // Pushes to the session's silo fail from now on: it keeps the entry it read, with the grant.
        unreachable.Silo = siloB;
        var revoked = await cluster.Client.GetGrain<IGovernanceGrain>(0).RevokeGrant(agentId, grantId, Governance);
        Assert.True(revoked.IsSuccess, revoked.Message);
        Assert.True(unreachable.Refused > 0, "the push to the session's silo must have been refused");

        // The revoke returned only once that entry could no longer be used, so the silo reads the grain again.
        Assert.False(viewOfB.Holds(AuthorityView.AgentKey(agentId)));
        var decision = await scenario.ReadOwnDocumentAsync(session);
        Assert.Equal(DecisionOutcome.Deny, decision.Outcome);
        Assert.Equal(DenyReasons.NoDelegation, decision.DenyReason);
    }

    [Fact]
    public async Task A_read_under_way_when_its_entry_is_dropped_is_not_kept_and_entries_expire()
    {
        var cluster = await env.GetSharedClusterAsync();
        var time = new FakeTimeProvider();
        var view = new AuthorityView(cluster.Client, time);
        var reads = 0;
        var pending = new TaskCompletionSource<AgentInfo?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<AgentInfo?> Read(string _) { reads++; return reads == 1 ? pending.Task : Task.FromResult<AgentInfo?>(new AgentInfo { Id = "a", Status = AgentStatus.Suspended }); }

        var first = view.ReadAsync("agent/a", "a", Read);
        view.Invalidate(["agent/a"]);
        pending.SetResult(new AgentInfo { Id = "a", Status = AgentStatus.Active });
        // The read dropped while under way answers nobody, not even the caller that started it: it reads again and
        // keeps what it read after the change.
        Assert.Equal(AgentStatus.Suspended, (await first)!.Status);
        Assert.Equal(2, reads);
        Assert.True(view.Holds("agent/a"));
        Assert.Equal(AgentStatus.Suspended, (await view.ReadAsync("agent/a", "a", Read))!.Status);
        Assert.Equal(2, reads);

        // Kept: the next reads do not ask, until the entry's lifetime since its read started is over.
        Assert.Equal(AgentStatus.Suspended, (await view.ReadAsync("agent/a", "a", Read))!.Status);
        time.Advance(AuthorityView.EntryLifetime - TimeSpan.FromMilliseconds(1));
        Assert.Equal(AgentStatus.Suspended, (await view.ReadAsync("agent/a", "a", Read))!.Status);
        Assert.Equal(2, reads);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(view.Holds("agent/a"));
        await view.ReadAsync("agent/a", "a", Read);
        Assert.Equal(3, reads);

        // An unknown agent is not kept (registering one pushes nothing).
        var missing = 0;
        Task<AgentInfo?> None(string _) { missing++; return Task.FromResult<AgentInfo?>(null); }
        Assert.Null(await view.ReadAsync("agent/none", "none", None));
        Assert.Null(await view.ReadAsync("agent/none", "none", None));
        Assert.Equal(2, missing);
    }

    [Fact]
    public async Task Concurrent_misses_for_one_key_make_one_read_and_all_get_its_answer()
    {
        // The reads are the test's own: no grain is asked.
        var view = new AuthorityView(null!, new FakeTimeProvider());
        var reads = 0;
        var pending = new TaskCompletionSource<AgentInfo?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<AgentInfo?> Read(string _) { Interlocked.Increment(ref reads); return pending.Task; }

        var waiting = Enumerable.Range(0, 50).Select(_ => view.ReadAsync("agent/a", "a", Read).AsTask()).ToArray();
        var readsWhileWaiting = Volatile.Read(ref reads);
        pending.SetResult(new AgentInfo { Id = "a", Status = AgentStatus.Active });
        var answers = await Task.WhenAll(waiting);

        Assert.Equal(1, readsWhileWaiting);
        Assert.All(answers, a => Assert.Equal(AgentStatus.Active, a!.Status));
        Assert.Equal(1, reads);
        Assert.True(view.Holds("agent/a"));
        // Other keys are read on their own.
        Assert.Null(await view.ReadAsync("agent/b", "b", _ => { Interlocked.Increment(ref reads); return Task.FromResult<AgentInfo?>(null); }));
        Assert.Equal(2, reads);
    }

    [Fact]
    public async Task Waiters_of_a_read_dropped_while_under_way_read_again_and_never_get_its_answer()
    {
        var view = new AuthorityView(null!, new FakeTimeProvider());
        var before = new TaskCompletionSource<AgentInfo?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var after = new TaskCompletionSource<AgentInfo?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reads = 0;
        Task<AgentInfo?> Read(string _) => Interlocked.Increment(ref reads) == 1 ? before.Task : after.Task;

        var waitersBefore = Enumerable.Range(0, 10).Select(_ => view.ReadAsync("agent/a", "a", Read).AsTask()).ToArray();
        view.Invalidate(["agent/a"]);
        // A miss after the drop does not join the dropped read: it starts the fresh one.
        var waiterAfter = view.ReadAsync("agent/a", "a", Read).AsTask();
        var readsAfterDrop = Volatile.Read(ref reads);
        // The dropped read answers with the state before the change: handed to nobody, not kept.
        before.SetResult(new AgentInfo { Id = "a", Status = AgentStatus.Active });
        after.SetResult(new AgentInfo { Id = "a", Status = AgentStatus.Suspended });
        var answers = await Task.WhenAll([.. waitersBefore, waiterAfter]);

        Assert.Equal(2, readsAfterDrop);
        Assert.All(answers, a => Assert.Equal(AgentStatus.Suspended, a!.Status));
        // Every waiter of the dropped read joined the one fresh read.
        Assert.Equal(2, reads);
        Assert.Equal(AgentStatus.Suspended, (await view.ReadAsync("agent/a", "a", Read))!.Status);
        Assert.Equal(2, reads);
    }

    [Fact]
    public async Task A_shared_read_that_fails_fails_each_waiter_and_the_next_miss_reads_again()
    {
        var view = new AuthorityView(null!, new FakeTimeProvider());
        var pending = new TaskCompletionSource<AgentInfo?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reads = 0;
        Task<AgentInfo?> Read(string _) => Interlocked.Increment(ref reads) == 1 ? pending.Task : Task.FromResult<AgentInfo?>(new AgentInfo { Id = "a", Status = AgentStatus.Active });

        var waiting = Enumerable.Range(0, 5).Select(_ => view.ReadAsync("agent/a", "a", Read).AsTask()).ToArray();
        pending.SetException(new TimeoutException("the agent grain did not answer (test)"));

        foreach (var waiter in waiting) await Assert.ThrowsAsync<TimeoutException>(() => waiter);
        Assert.Equal(1, reads);
        Assert.False(view.Holds("agent/a"));
        Assert.Equal(AgentStatus.Active, (await view.ReadAsync("agent/a", "a", Read))!.Status);
        Assert.Equal(2, reads);
    }

    /// <summary>A 2-silo cluster with the example policy, an agent and a session of it on the silo that does not host the agent, decided once there.</summary>
    private async Task<(InProcessTestCluster Cluster, Scenario Scenario, string AgentId, string Session, SiloAddress SiloB, AuthorityView ViewOfB)> TwoSilosAsync(Unreachable? unreachable)
    {
        var cluster = await env.StartClusterAsync(2, authzTime: null, silo =>
        {
            if (unreachable is not null)
                silo.Services.AddSingleton<IAuthorityViewClient>(sp => new FailingViews(new AuthorityViewClient(sp), unreachable));
        });
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")), Author = "tests",
        });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);

        var scenario = new Scenario(cluster.Client, () => DateTimeOffset.UtcNow);
        var agentId = await scenario.NewAgentAsync(fleet: "fleet-" + Guid.NewGuid().ToString("N")[..8]);
        var fleet = (await cluster.Client.GetGrain<IAgentGrain>(agentId).Get())!.Fleet;
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        var agentHost = await management.GetActivationAddress(cluster.Client.GetGrain<IAgentGrain>(agentId));
        Assert.NotNull(agentHost);
        // Placement is by load: open sessions until one lives on the other silo.
        for (var i = 0; i < 200; i++)
        {
            var session = await scenario.OpenSessionAsync(agentId, lifetime: TimeSpan.FromDays(1), idle: TimeSpan.FromDays(1));
            Assert.Equal(DecisionOutcome.Allow, (await scenario.ReadOwnDocumentAsync(session, fleet)).Outcome);
            var host = await management.GetActivationAddress(cluster.Client.GetGrain<IAgentSessionGrain>(session));
            if (host is null || host.Equals(agentHost)) continue;
            var viewOfB = cluster.Silos.Single(s => s.SiloAddress.Equals(host)).ServiceProvider.GetRequiredService<AuthorityView>();
            return (cluster, scenario, agentId, session, host, viewOfB);
        }
        throw new InvalidOperationException("no session was placed on the silo without the agent");
    }

    /// <summary>The silo whose authority view cannot be reached (none while null).</summary>
    private sealed class Unreachable
    {
        public volatile SiloAddress? Silo;
        private int refused;
        public int Refused => Volatile.Read(ref refused);
        public void Refuse() => Interlocked.Increment(ref refused);
    }

    private sealed class FailingViews(IAuthorityViewClient real, Unreachable unreachable) : IAuthorityViewClient
    {
        public IAuthorityViewService On(SiloAddress silo) => silo.Equals(unreachable.Silo) ? new RefusingView(unreachable) : real.On(silo);
    }

    private sealed class RefusingView(Unreachable unreachable) : IAuthorityViewService
    {
        public Task Invalidate(string[] keys)
        {
            unreachable.Refuse();
            return Task.FromException(new TimeoutException("silo unreachable (test)"));
        }
    }
}
