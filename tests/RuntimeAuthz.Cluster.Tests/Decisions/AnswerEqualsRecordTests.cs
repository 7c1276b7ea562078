using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Replay.WhatIf;
using RuntimeAuthz.Silo.Http;

namespace RuntimeAuthz.Cluster.Tests.Decisions;

/// <summary>The record always tells what the caller was told, also when storage stalls past the append timeout.</summary>
[Collection(ClusterCollection.Name)]
public sealed class AnswerEqualsRecordTests(ClusterEnvironment env)
{
    /// <summary>One silo whose evidence store can stall, with appends given up on after 300 ms, and the example policy.</summary>
    private async Task<(StallingEvidenceStore Store, Orleans.TestingHost.InProcessTestCluster Cluster, Scenario Scenario)> StartStallableAsync()
    {
        var table = "Evidence" + Guid.NewGuid().ToString("N")[..10];
        var store = new StallingEvidenceStore(new AzureTableEvidenceStore(env.Azurite.ConnectionString, table));
        var cluster = await env.StartClusterAsync(1, env.Clock, silo =>
        {
            silo.Services.AddSingleton<IEvidenceStore>(store);
            silo.Services.Configure<EvidenceOptions>(o =>
            {
                o.Table = table;
                o.AppendTimeout = TimeSpan.FromMilliseconds(300);
            });
        });
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")), Author = "stall-tests",
        });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
        return (store, cluster, new Scenario(cluster.Client, env.Clock.GetUtcNow));
    }

    [Fact]
    public async Task What_if_reads_a_late_Allow_record_of_a_call_answered_Deny_as_superseded_even_before_the_session_decides_again()
    {
        var (store, cluster, s) = await StartStallableAsync();
        var agent = await s.NewAgentAsync();
        var sessions = new List<string>();
        for (var i = 0; i < 3; i++) sessions.Add(await s.OpenSessionAsync(agent));
        store.Stall();
        var stalled = await Task.WhenAll(sessions.Select(id => s.ReadOwnDocumentAsync(id)));
        Assert.All(stalled, d => Assert.Equal((DecisionOutcome.Deny, EvidenceDenyReasons.NoEvidence), (d.Outcome, d.DenyReason)));
        store.Release();
        for (var wait = 0; store.Held > 0; wait++)
        {
            Assert.True(wait < 200, $"{store.Held} held appends never landed");
            await Task.Delay(50);
        }

        // The late Allow records are in the table, and no session has decided (or settled) since.
        var loaded = await WhatIfEndpoints.LoadSessionsAsync(cluster.Client, store, new WhatIfOptions(), CancellationToken.None);
        foreach (var decision in stalled)
        {
            var records = loaded.Single(r => r.SessionId == decision.SessionId).Records.Where(b => b.DecisionId == decision.DecisionId.ToString()).ToList();
            Assert.NotEmpty(records);
            Assert.Equal(nameof(DecisionOutcome.Deny), records[^1].Outcome);
        }
    }

    [Fact]
    public async Task Records_that_land_after_a_timeout_answered_Deny_end_up_saying_Deny_and_every_answered_Allow_has_its_record()
    {
        var (store, cluster, s) = await StartStallableAsync();
        var agent = await s.NewAgentAsync();
        var sessions = new List<string>();
        for (var i = 0; i < 6; i++) sessions.Add(await s.OpenSessionAsync(agent));
        var answers = new List<AuthzDecision>();
        async Task RoundAsync() => answers.AddRange(await Task.WhenAll(sessions.Select(id => s.ReadOwnDocumentAsync(id))));

        await RoundAsync();
        store.Stall();
        for (var i = 0; i < 3; i++) await RoundAsync();
        Assert.True(store.Held >= sessions.Count, $"only {store.Held} appends were held");
        store.Release();
        for (var i = 0; i < 3; i++) await RoundAsync();
        // A late record is resolved before the session records anything new: an answered Allow in each
        // session means every earlier unconfirmed record of it has been settled.
        foreach (var session in sessions)
        {
            for (var attempt = 0; ; attempt++)
            {
                var settled = await s.ReadOwnDocumentAsync(session);
                answers.Add(settled);
                if (settled.Outcome == DecisionOutcome.Allow) break;
                Assert.True(attempt < 50, $"session {session} never recorded again: {settled.DenyReason}");
            }
        }

        var stalled = answers.Skip(sessions.Count).Take(3 * sessions.Count).ToArray();
        Assert.All(stalled, d => Assert.Equal((DecisionOutcome.Deny, EvidenceDenyReasons.NoEvidence), (d.Outcome, d.DenyReason)));

        var keys = new EvidencePublicKeys();
        foreach (var (id, pem) in await store.ListPublicKeysAsync()) keys.Add(id, pem);
        var told = answers.ToDictionary(d => d.DecisionId.ToString(), d => d.Outcome.ToString());
        foreach (var session in sessions)
        {
            var chain = EvidenceChains.ForSession(session);
            var entries = await store.ReadChainAsync(chain);
            var verified = EvidenceVerifier.Verify(chain, entries, keys);
            Assert.True(verified.Valid, verified.ToString());
            var bodies = entries.Select(e => EvidenceSealer.ParseBody(e.Body)).Where(b => b.Kind == EvidenceKinds.Decision).ToList();
            // The stalled call's record was settled as Deny: its slot taken by the Deny, or the late Allow superseded.
            Assert.Contains(bodies, b => b.DenyReason == EvidenceDenyReasons.NoEvidence);
            // The last record of each decision says what its caller was told; every answered Allow has one.
            foreach (var decision in bodies.GroupBy(b => b.DecisionId!))
                Assert.True(told[decision.Key] == decision.Last().Outcome,
                    $"decision {decision.Key} was answered {answers.Single(a => a.DecisionId.ToString() == decision.Key)} but its last record says {decision.Last().Outcome}; chain: "
                    + string.Join(" | ", bodies.Select(b => $"{b.Sequence}:{b.DecisionId![..8]}:{b.Outcome}:{b.DenyReason}:{b.Supersedes}")));
            var recorded = bodies.Select(b => b.DecisionId).ToHashSet();
            Assert.All(answers.Where(a => a.SessionId == session && a.Outcome == DecisionOutcome.Allow), a => Assert.Contains(a.DecisionId.ToString(), recorded));
        }
        keys.Dispose();

        // The rebuilt state counts what the chain says: a superseded Allow added no risk.
        await cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        foreach (var session in sessions)
        {
            var info = (await cluster.Client.GetGrain<IAgentSessionGrain>(session).Get())!;
            Assert.Equal(answers.Where(a => a.SessionId == session && a.Outcome == DecisionOutcome.Allow).Sum(a => a.RiskAdded), info.CumulativeRisk);
        }
    }
}
