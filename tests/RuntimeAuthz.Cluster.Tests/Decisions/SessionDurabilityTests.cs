using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Cluster.Tests.Decisions;

/// <summary>
/// The session's evidence chain as its durable history, with the real Azure Table providers
/// against Azurite: state rebuilt from a snapshot plus the chain's tail, chains that continue on
/// the surviving silos, and a timeline read from the chain page by page.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SessionDurabilityTests(ClusterEnvironment env)
{
    private const string ReadProps = """{"fleet":"research"}""";

    internal static async Task PublishExampleAsync(InProcessTestCluster cluster)
    {
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")),
            Schema = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "schema.cedarschema")),
            Author = "durability-tests",
        });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
    }

    /// <summary>A mix of allowed (risk 1 and 5), forbidden and approval-required decisions.</summary>
    private static Task<AuthzDecision> DecideMixAsync(Scenario s, string session, int i) => (i % 4) switch
    {
        0 => s.ReadOwnDocumentAsync(session),
        1 => s.DecideAsync(session, "search_web", "WebSearch", "q"),
        2 => s.DecideAsync(session, "delete_database", "Database", "prod"),
        _ => s.DecideAsync(session, "send_payment", "Account", "acme", input: """{"amount":5}"""),
    };

    private static async Task<EvidencePublicKeys> KeysAsync(IEvidenceStore store)
    {
        var keys = new EvidencePublicKeys();
        foreach (var (id, pem) in await store.ListPublicKeysAsync()) keys.Add(id, pem);
        return keys;
    }

    [Fact]
    public async Task After_the_hosting_silo_dies_the_state_rebuilt_from_snapshot_and_tail_equals_the_state_before()
    {
        var cluster = await env.StartClusterAsync(2, env.Clock);
        await PublishExampleAsync(cluster);
        var s = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var session = await s.OpenSessionAsync(await s.NewAgentAsync(), idle: TimeSpan.FromHours(1));
        var grain = cluster.Client.GetGrain<IAgentSessionGrain>(session);
        // More decisions than a snapshot covers: the snapshot lags behind, the rest is the chain's tail.
        var decisions = new List<AuthzDecision>();
        for (var i = 0; i < AgentSessionGrain.SnapshotEvery + 37; i++) decisions.Add(await DecideMixAsync(s, session, i));
        var allowed = decisions.Last(d => d.Outcome == DecisionOutcome.Allow);
        Assert.True((await grain.ReportOutcome(new OutcomeReport { DecisionId = allowed.DecisionId, OutputJson = """{"ok":true}""" })).IsSuccess);
        var before = (await grain.Get())!;
        Assert.Equal(decisions.Count, before.DecisionCount);
        Assert.Equal(decisions[^1].CumulativeRisk, before.CumulativeRisk);

        var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(grain);
        Assert.NotNull(host);
        await cluster.KillSiloAsync(cluster.Silos.Single(silo => silo.SiloAddress.Equals(host)));
        var after = (await SiloFailover.RetryAsync(() => grain.Get()))!;

        var stored = await ReadSnapshotSequenceAsync(session);
        Assert.InRange(stored, 0, before.TotalEvents - 1); // the tail was replayed, not just the snapshot
        Assert.Equal(before with { Events = [] }, after with { Events = [] });
        Assert.Equal(before.Events.Select(e => (e.Seq, e.DecisionId, e.Kind, e.Outcome)), after.Events.Select(e => (e.Seq, e.DecisionId, e.Kind, e.Outcome)));
        // Outcome at most once survives the move too.
        var again = await grain.ReportOutcome(new OutcomeReport { DecisionId = allowed.DecisionId, OutputJson = """{"ok":true}""" });
        Assert.Equal(CommandError.Conflict, again.Error);
        // The chain continues on the survivor and verifies.
        var next = await s.ReadOwnDocumentAsync(session);
        Assert.Equal(DenyReasons.NotPermitted, next.DenyReason); // the example's cap on cumulative risk, reached long ago
        Assert.Equal(before.CumulativeRisk, next.CumulativeRisk);
        Assert.Equal(before.DecisionCount + 1, (await grain.Get())!.DecisionCount);
        var store = new AzureTableEvidenceStore(env.Azurite.ConnectionString);
        using var keys = await KeysAsync(store);
        var verified = EvidenceVerifier.Verify(EvidenceChains.ForSession(session), await store.ReadChainAsync(EvidenceChains.ForSession(session)), keys, decisions.Count + 2);
        Assert.True(verified.Valid, verified.ToString());
    }

    /// <summary>The snapshot's evidence sequence as stored in the grain-state table.</summary>
    private async Task<long> ReadSnapshotSequenceAsync(string session)
    {
        var table = new Azure.Data.Tables.TableServiceClient(env.Azurite.ConnectionString).GetTableClient(RuntimeAuthz.Silo.SiloConfiguration.DefaultGrainStateTable);
        await foreach (var entity in table.QueryAsync<Azure.Data.Tables.TableEntity>())
        {
            if (!entity.RowKey.Contains(session, StringComparison.Ordinal) && !entity.PartitionKey.Contains(session, StringComparison.Ordinal)) continue;
            var json = string.Concat(entity.Where(p => p.Key is not ("PartitionKey" or "RowKey")).Select(p => p.Value switch
            {
                byte[] binary => System.Text.Encoding.UTF8.GetString(binary),
                BinaryData data => data.ToString(),
                string text => text,
                _ => "",
            }));
            var match = System.Text.RegularExpressions.Regex.Match(json, "\"EvidenceSequence\":(\\d+)");
            Assert.True(match.Success, json);
            return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"no stored row for session {session}");
    }

    [Fact]
    public async Task A_silo_killed_in_the_middle_of_decisions_leaves_chains_that_continue_on_the_survivors_and_all_verify()
    {
        var cluster = await env.StartClusterAsync(3, env.Clock);
        await PublishExampleAsync(cluster);
        var s = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var agent = await s.NewAgentAsync();
        var sessions = new List<string>();
        for (var i = 0; i < 12; i++) sessions.Add(await s.OpenSessionAsync(agent, idle: TimeSpan.FromHours(1)));
        var answered = sessions.ToDictionary(id => id, _ => new List<AuthzDecision>());
        var failedCalls = 0;
        var killed = new TaskCompletionSource();
        var started = DateTime.UtcNow;

        async Task DriveAsync(string session)
        {
            for (var i = 0; !(killed.Task.IsCompleted && answered[session].Count >= 30); i++)
            {
                try
                {
                    answered[session].Add(await DecideMixAsync(s, session, i).WaitAsync(TimeSpan.FromSeconds(10)));
                }
                catch (Exception)
                {
                    // The call died with the silo: no answer was received (an HTTP caller would get a Deny).
                    Interlocked.Increment(ref failedCalls);
                    await Task.Delay(100);
                }
                if (DateTime.UtcNow > started.AddMinutes(3)) throw new TimeoutException("decisions did not resume");
            }
        }

        var drivers = sessions.Select(session => Task.Run(() => DriveAsync(session))).ToArray();
        await Eventually.UntilAsync("60 answered decisions before the kill", () => answered.Values.Sum(a => a.Count), count => count >= 60,
            timeout: TimeSpan.FromSeconds(90), interval: TimeSpan.FromMilliseconds(10));
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        var victim = await management.GetActivationAddress(cluster.Client.GetGrain<IAgentSessionGrain>(sessions[0]));
        Assert.NotNull(victim);
        await cluster.KillSiloAsync(cluster.Silos.Single(silo => silo.SiloAddress.Equals(victim)));
        killed.SetResult();
        await Task.WhenAll(drivers);

        var store = new AzureTableEvidenceStore(env.Azurite.ConnectionString);
        using var keys = await KeysAsync(store);
        foreach (var session in sessions)
        {
            var chain = EvidenceChains.ForSession(session);
            var entries = await store.ReadChainAsync(chain);
            var verified = EvidenceVerifier.Verify(chain, entries, keys);
            Assert.True(verified.Valid, verified.ToString());
            var last = entries.Select(e => EvidenceSealer.ParseBody(e.Body)).Where(b => b.Kind == EvidenceKinds.Decision)
                .GroupBy(b => b.DecisionId!).ToDictionary(g => g.Key, g => g.Last().Outcome);
            foreach (var answer in answered[session])
            {
                var id = answer.DecisionId.ToString();
                if (answer.Outcome != DecisionOutcome.Deny) Assert.True(last.ContainsKey(id), $"answered {answer.Outcome} {id} has no record");
                if (last.TryGetValue(id, out var recorded)) Assert.Equal(answer.Outcome.ToString(), recorded);
            }
            // The session continued after the kill: its last answers came from a survivor and are on its chain.
            Assert.Contains(answered[session].TakeLast(5), a => last.ContainsKey(a.DecisionId.ToString()));
        }
    }

    /// <summary>The agent's sessions as <c>GET /v1/agents/{id}/sessions</c> lists them (first page).</summary>
    private static async Task<IEnumerable<string>> ListedSessionsAsync(InProcessTestCluster cluster, string agentId)
    {
        var page = await cluster.Silos[0].ServiceProvider.GetRequiredService<SessionIndex>().ListAgentSessionsAsync(agentId, 100, null);
        Assert.True(page.IsSuccess, page.Message);
        return page.Value!.Sessions.Select(x => x.SessionId);
    }

    [Fact]
    public async Task Opening_a_session_writes_no_state_row_and_nothing_on_the_agent()
    {
        var cluster = await env.GetSharedClusterAsync();
        var s = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var agent = await s.NewAgentAsync();
        var tables = new Azure.Data.Tables.TableServiceClient(env.Azurite.ConnectionString);
        var table = tables.GetTableClient(RuntimeAuthz.Silo.SiloConfiguration.DefaultGrainStateTable);
        async Task<int> FleetIndexRowsOfAsync(string id)
        {
            var rows = 0;
            await foreach (var entity in tables.GetTableClient(RuntimeAuthz.Grains.Fleet.FleetIndex.TableName).QueryAsync<Azure.Data.Tables.TableEntity>(select: ["PartitionKey", "RowKey"]))
                if (entity.PartitionKey.Contains(id, StringComparison.Ordinal) || entity.RowKey.Contains(id, StringComparison.Ordinal)) rows++;
            return rows;
        }
        async Task<(int Rows, string Etags)> RowsOfAsync(string id)
        {
            var rows = new List<string>();
            await foreach (var entity in table.QueryAsync<Azure.Data.Tables.TableEntity>())
                if (entity.PartitionKey.Contains(id, StringComparison.Ordinal) || entity.RowKey.Contains(id, StringComparison.Ordinal)) rows.Add(entity.ETag.ToString());
            return (rows.Count, string.Join(",", rows.Order(StringComparer.Ordinal)));
        }
        var agentBefore = await RowsOfAsync(agent);

        var session = await s.OpenSessionAsync(agent);

        Assert.Equal(0, (await RowsOfAsync(session)).Rows); // its open record, first of its chain, is all it needs
        Assert.Equal(agentBefore, await RowsOfAsync(agent)); // no session list row, the agent's row untouched
        Assert.Equal(0, await FleetIndexRowsOfAsync(session)); // the agent's sessions are listed by the session index alone
        Assert.Contains(session, await ListedSessionsAsync(cluster, agent));
        Assert.Equal(DecisionOutcome.Allow, (await s.ReadOwnDocumentAsync(session)).Outcome);
    }

    [Fact]
    public async Task The_timeline_is_read_from_the_chain_page_by_page()
    {
        var cluster = await env.GetSharedClusterAsync();
        var s = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var session = await s.OpenSessionAsync(await s.NewAgentAsync());
        var grain = cluster.Client.GetGrain<IAgentSessionGrain>(session);
        var decisions = new List<AuthzDecision>();
        for (var i = 0; i < SessionLimits.TimelinePage + 30; i++) decisions.Add(await DecideMixAsync(s, session, i));

        var info = (await grain.Get())!;
        var pages = new List<SessionEvent>();
        long? after = 0;
        while (after is { } from)
        {
            var page = (await grain.GetTimeline(from, 50))!;
            Assert.InRange(page.Events.Count, 0, 50);
            pages.AddRange(page.Events);
            after = page.NextAfter;
        }

        Assert.Equal(SessionLimits.TimelinePage, info.Events.Count);
        Assert.Equal(decisions.TakeLast(SessionLimits.TimelinePage).Select(d => d.DecisionId), info.Events.Select(e => e.DecisionId));
        Assert.Equal(decisions.Select(d => d.DecisionId), pages.Select(e => e.DecisionId));
        Assert.Equal(Enumerable.Range(2, decisions.Count).Select(i => (long)i), pages.Select(e => e.Seq)); // after the open record
        Assert.Equal(decisions.Select(d => (DecisionOutcome?)d.Outcome), pages.Select(e => e.Outcome));
        Assert.Null(await cluster.Client.GetGrain<IAgentSessionGrain>("never-opened-" + Guid.NewGuid().ToString("N")).GetTimeline(0, 10));
    }
}
