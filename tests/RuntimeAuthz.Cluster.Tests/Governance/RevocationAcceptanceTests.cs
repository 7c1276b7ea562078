using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Cluster.Tests.Governance;

/// <summary>
/// Issue 5 acceptance: on a 3-silo cluster, decisions run concurrently while the agent's grant is
/// revoked; no decision that starts after the revoke call returned may allow, on any silo, and
/// still none after the silo that held the identity grain is killed and replaced.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RevocationAcceptanceTests(ClusterEnvironment env)
{
    private static readonly GovernanceActor Governance = new() { Actor = "incident@example.com", Reason = "compromised tool chain" };

    /// <summary>For the concurrent deciders' counts: generous, since every decision goes through a 3-silo cluster on shared cores.</summary>
    private static readonly TimeSpan DeciderTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task After_revoke_returns_no_decision_allows_on_any_silo_even_after_the_identity_silo_is_killed()
    {
        var cluster = await env.StartClusterAsync(3);
        var client = cluster.Client;
        var scenario = new Scenario(client, () => DateTimeOffset.UtcNow);
        var published = await client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")), Author = "tests",
        });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);

        var agentId = await scenario.NewAgentAsync();
        var agent = client.GetGrain<IAgentGrain>(agentId);
        var grantId = (await agent.Get())!.Delegations.Single().Id;

        // Sessions spread over every silo (placement is load based: open until each silo hosts one, plus a few more).
        var management = client.GetGrain<IManagementGrain>(0);
        var sessions = new List<string>();
        var silosUsed = new HashSet<SiloAddress>();
        for (var i = 0; i < 300 && (silosUsed.Count < cluster.Silos.Count || sessions.Count < 12); i++)
        {
            var session = await scenario.OpenSessionAsync(agentId, lifetime: TimeSpan.FromDays(1), idle: TimeSpan.FromDays(1));
            sessions.Add(session);
            if (await management.GetActivationAddress(client.GetGrain<IAgentSessionGrain>(session)) is { } host) silosUsed.Add(host);
        }
        Assert.Equal(cluster.Silos.Count, silosUsed.Count);

        // Concurrent deciders: each decision notes whether the revoke call had returned before it started.
        var revokeReturned = 0;
        var stop = new CancellationTokenSource();
        var allowsBefore = 0;
        var allowsAfter = 0;
        var decisionsAfter = 0;
        var deciders = sessions.Select(session => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var startedAfterRevoke = Volatile.Read(ref revokeReturned) == 1;
                var decision = await scenario.ReadOwnDocumentAsync(session);
                if (startedAfterRevoke)
                {
                    Interlocked.Increment(ref decisionsAfter);
                    if (decision.Outcome != DecisionOutcome.Deny) Interlocked.Increment(ref allowsAfter);
                }
                else if (decision.Outcome == DecisionOutcome.Allow)
                {
                    Interlocked.Increment(ref allowsBefore);
                }
            }
        })).ToArray();
        // A decider that threw adds to no count: show its exception at once instead of waiting out the limit.
        void ThrowIfADeciderFailed()
        {
            if (deciders.FirstOrDefault(d => d.IsFaulted) is { } failed) failed.GetAwaiter().GetResult();
        }

        try
        {
            await Eventually.UntilAsync("an allowed decision per session before the revoke",
                () => { ThrowIfADeciderFailed(); return Volatile.Read(ref allowsBefore); }, count => count >= sessions.Count, DeciderTimeout);
            var revoked = await client.GetGrain<IGovernanceGrain>(0).RevokeGrant(agentId, grantId, Governance);
            Volatile.Write(ref revokeReturned, 1);
            Assert.True(revoked.IsSuccess, revoked.Message);
            await Eventually.UntilAsync("ten decisions per session started after the revoke returned",
                () => { ThrowIfADeciderFailed(); return Volatile.Read(ref decisionsAfter); }, count => count >= sessions.Count * 10, DeciderTimeout);
        }
        finally
        {
            stop.Cancel();
        }
        await Task.WhenAll(deciders);

        Assert.True(allowsBefore >= sessions.Count);
        Assert.True(decisionsAfter >= sessions.Count * 10);
        Assert.Equal(0, allowsAfter);

        // The live sessions note the revocation in their history (asynchronously; enforcement never waited for it).
        await Eventually.TrueAsync("the session timeline to record the revocation", async () => (await client.GetGrain<IAgentSessionGrain>(sessions[0]).Get())!.Events
            .Any(e => e.Kind == SessionEventKind.Revocation && e.Detail!.Contains(grantId, StringComparison.Ordinal)));

        // Kill the silo holding the identity grain (keep a fresh one so the cluster stays at 3), then decide again everywhere.
        await cluster.StartAdditionalSiloAsync();
        var identityHost = await management.GetActivationAddress(agent);
        Assert.NotNull(identityHost);
        await cluster.KillSiloAsync(cluster.Silos.Single(s => s.SiloAddress.Equals(identityHost)));

        var afterCrash = 0;
        foreach (var session in sessions)
        {
            // Internal errors while the dead silo is being declared dead are denies too, but retried to see the real reason.
            var decision = await SiloFailover.RetryAsync(async () =>
            {
                var d = await scenario.ReadOwnDocumentAsync(session);
                return d.DenyReason == DenyReasons.InternalError ? throw new TimeoutException("cluster still recovering") : d;
            });
            if (decision.Outcome != DecisionOutcome.Deny) afterCrash++;
            else Assert.Equal(DenyReasons.NoDelegation, decision.DenyReason);
        }
        Assert.Equal(0, afterCrash);

        // Authority comes back only with a new grant.
        var regranted = await agent.AddDelegation(new DelegationGrant
        {
            Actions = ["read_file"], Resources = ["Document::*"], GrantedBy = "governance@example.com", ExpiresAt = DateTimeOffset.UtcNow.AddDays(1),
        });
        Assert.True(regranted.IsSuccess, regranted.Message);
        Assert.Equal(DecisionOutcome.Allow, (await scenario.ReadOwnDocumentAsync(sessions[^1])).Outcome);
        var reloaded = (await SiloFailover.RetryAsync(() => agent.Get()))!;
        Assert.DoesNotContain(reloaded.Delegations, d => d.Id == grantId);
        var kept = Assert.Single(reloaded.RevokedDelegations);
        Assert.Equal(grantId, kept.Id);
        Assert.Equal(Governance.Actor, kept.RevokedBy);
        Assert.Equal(Governance.Reason, kept.RevokeReason);
        Assert.NotNull(kept.RevokedAt);
    }
}
