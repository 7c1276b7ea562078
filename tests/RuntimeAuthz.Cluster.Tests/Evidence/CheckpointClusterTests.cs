using System.Net;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using RuntimeAuthz.Cluster.Tests.Decisions;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Evidence.Checkpoints;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Silo;

namespace RuntimeAuthz.Cluster.Tests.Evidence;

/// <summary>
/// Checkpoints in a second table, with real silos on Azurite: records deleted from the evidence
/// table and session state rows rolled back directly in storage, then what the sessions do and
/// what verification against the checkpoints says.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CheckpointClusterTests(ClusterEnvironment env)
{
    private readonly string evidenceTable = "Ev" + Guid.NewGuid().ToString("N")[..12];
    private readonly string checkpointTable = "Cp" + Guid.NewGuid().ToString("N")[..12];

    private TableClient EvidenceRows => new TableServiceClient(env.Azurite.ConnectionString).GetTableClient(evidenceTable);

    /// <summary>A cluster writing evidence to this test's table and checkpoints to its own second table.</summary>
    private async Task<InProcessTestCluster> StartAsync(short silos, string? checkpointConnection = null)
    {
        var cluster = await env.StartClusterAsync(silos, env.Clock, silo =>
        {
            silo.Services.Configure<EvidenceOptions>(o => o.Table = evidenceTable);
            silo.Services.Configure<EvidenceCheckpointOptions>(o =>
            {
                o.ConnectionString = checkpointConnection ?? env.Azurite.ConnectionString;
                o.Table = checkpointTable;
                o.Interval = TimeSpan.FromHours(1); // the tests checkpoint when they mean to
            });
        });
        await SessionDurabilityTests.PublishExampleAsync(cluster);
        return cluster;
    }

    /// <summary>Every silo seals what it appended (as its timer would).</summary>
    private static async Task CheckpointAllAsync(InProcessTestCluster cluster)
    {
        foreach (var silo in cluster.Silos) await silo.ServiceProvider.GetRequiredService<EvidenceCheckpointer>().CheckpointNowAsync();
    }

    /// <summary>What <c>authz evidence verify --connection-string ... --checkpoint-connection-string ...</c> computes for the session.</summary>
    private async Task<ChainVerification> VerifyAsync(string session)
    {
        var store = new AzureTableEvidenceStore(env.Azurite.ConnectionString, evidenceTable);
        using var keys = new EvidencePublicKeys();
        foreach (var (id, pem) in await store.ListPublicKeysAsync()) keys.Add(id, pem);
        var seals = CheckpointVerifier.Verify(await new AzureTableCheckpointStore(env.Azurite.ConnectionString, checkpointTable).ReadAllAsync(), keys);
        Assert.True(seals.Valid, string.Join("; ", seals.Writers));
        var chain = EvidenceChains.ForSession(session);
        return CheckpointVerifier.VerifyChain(chain, await store.ReadChainAsync(chain), keys, seals);
    }

    private async Task DeleteRecordsAsync(string session, long from, long to)
    {
        DecisionLedger.Tampered[(evidenceTable, session)] = true;
        var chain = EvidenceChains.ForSession(session);
        var partition = AzureTableEvidenceStore.PartitionOf(chain, await new AzureTableEvidenceStore(env.Azurite.ConnectionString, evidenceTable).SessionPartitionsAsync());
        for (var seq = from; seq <= to; seq++)
            await EvidenceRows.DeleteEntityAsync(partition, AzureTableEvidenceStore.RowKeyOf(chain, seq));
    }

    private async Task<long> StoredRecordsAsync(string session) =>
        (await new AzureTableEvidenceStore(env.Azurite.ConnectionString, evidenceTable).ReadChainAsync(EvidenceChains.ForSession(session))).Count;

    /// <summary>The session's state row in the grain-state table, as stored now.</summary>
    private async Task<TableEntity> ReadStateRowAsync(string session)
    {
        var table = new TableServiceClient(env.Azurite.ConnectionString).GetTableClient(SiloConfiguration.DefaultGrainStateTable);
        await foreach (var entity in table.QueryAsync<TableEntity>())
        {
            if (entity.PartitionKey.Contains(session, StringComparison.Ordinal) || entity.RowKey.Contains(session, StringComparison.Ordinal)) return entity;
        }
        throw new InvalidOperationException($"no state row for session {session}");
    }

    /// <summary>Writes an older copy of the state row over the current one, as a storage rollback would leave it.</summary>
    private async Task RollBackStateRowAsync(TableEntity older)
    {
        var table = new TableServiceClient(env.Azurite.ConnectionString).GetTableClient(SiloConfiguration.DefaultGrainStateTable);
        await table.UpsertEntityAsync(older, TableUpdateMode.Replace);
    }

    private static Task DeactivateAllAsync(InProcessTestCluster cluster) => cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

    /// <summary>Allowed searches: each adds 5 to the session's risk.</summary>
    private static async Task SearchAsync(Scenario s, string session, int times)
    {
        for (var i = 0; i < times; i++) Assert.Equal(DecisionOutcome.Allow, (await s.DecideAsync(session, "search_web", "WebSearch", "q")).Outcome);
    }

    [Fact]
    public async Task Records_deleted_from_the_end_of_a_chain_are_found_by_verify_and_the_session_refuses_to_continue_it()
    {
        var cluster = await StartAsync(2);
        var s = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var agent = await s.NewAgentAsync();
        var sessions = new List<string>();
        for (var i = 0; i < 4; i++) sessions.Add(await s.OpenSessionAsync(agent, idle: TimeSpan.FromHours(1)));
        foreach (var session in sessions) await SearchAsync(s, session, 5);
        await CheckpointAllAsync(cluster);

        // Sessions on both silos: each silo sealed the heads it wrote.
        var checkpoints = new AzureTableCheckpointStore(env.Azurite.ConnectionString, checkpointTable);
        foreach (var session in sessions)
            Assert.Equal(6, (await checkpoints.ReadSealedHeadAsync(EvidenceChains.ForSession(session)))?.Sequence); // the open record and 5 decisions
        foreach (var session in sessions) Assert.True((await VerifyAsync(session)).Valid);

        await DeactivateAllAsync(cluster); // each session's snapshot now includes record 6
        await DeleteRecordsAsync(sessions[0], 5, 6);

        var verified = await VerifyAsync(sessions[0]);
        Assert.False(verified.Valid);
        Assert.Equal(5, verified.BrokenSequence);
        Assert.Matches($"^session:{sessions[0]}: BROKEN at record 5: records 5..6 sealed in checkpoint \\d+ of .+ are missing \\(the stored chain ends at record 4\\)$", verified.ToString());

        var refused = await s.DecideAsync(sessions[0], "search_web", "WebSearch", "q");
        Assert.Equal(DecisionOutcome.Deny, refused.Outcome);
        Assert.Equal(EvidenceDenyReasons.EvidenceRollback, refused.DenyReason);
        Assert.Equal(4, await StoredRecordsAsync(sessions[0])); // the shortened chain was not continued
        var outcome = await cluster.Client.GetGrain<IAgentSessionGrain>(sessions[0]).ReportOutcome(new OutcomeReport { DecisionId = refused.DecisionId, OutputJson = "{}" });
        Assert.False(outcome.IsSuccess);
        Assert.Equal(4, await StoredRecordsAsync(sessions[0]));

        // The other sessions go on.
        foreach (var session in sessions.Skip(1)) await SearchAsync(s, session, 1);
    }

    [Fact]
    public async Task Records_lost_under_a_live_session_are_noticed_on_its_next_rebuild_even_without_checkpoints_and_nothing_moves_backwards()
    {
        var cluster = await env.StartClusterAsync(1, env.Clock, silo => silo.Services.Configure<EvidenceOptions>(o => o.Table = evidenceTable));
        await SessionDurabilityTests.PublishExampleAsync(cluster);
        Assert.False(cluster.Silos[0].ServiceProvider.GetRequiredService<EvidenceCheckpointer>().Enabled);
        var s = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var session = await s.OpenSessionAsync(await s.NewAgentAsync(), idle: TimeSpan.FromHours(1));
        var grain = cluster.Client.GetGrain<IAgentSessionGrain>(session);
        await SearchAsync(s, session, 5);
        var before = (await grain.Get())!;

        // The store loses records 5..6 (after the open record and 3 decisions), and another record takes slot 7: the session's next append conflicts and it re-reads its chain.
        await DeleteRecordsAsync(session, 5, 6);
        using var stranger = EvidenceSigningKey.Generate();
        var chain = EvidenceChains.ForSession(session);
        await new AzureTableEvidenceStore(env.Azurite.ConnectionString, evidenceTable).AppendAsync(EvidenceSealer.Seal(
            new EvidenceBody { Chain = chain, Kind = EvidenceKinds.SessionNote, Time = EvidenceSealer.FormatTime(env.Clock.GetUtcNow()), SessionId = session },
            new EvidenceHead(6, new string('f', 64)), stranger));
        Assert.Equal(EvidenceDenyReasons.NoEvidence, (await s.DecideAsync(session, "search_web", "WebSearch", "q")).DenyReason);

        var refused = await s.DecideAsync(session, "search_web", "WebSearch", "q");
        Assert.Equal(EvidenceDenyReasons.EvidenceRollback, refused.DenyReason);
        Assert.Equal(before.CumulativeRisk, refused.CumulativeRisk);
        var after = (await grain.Get())!;
        Assert.Equal((before.DecisionCount, before.CumulativeRisk), (after.DecisionCount, after.CumulativeRisk));
        Assert.Equal(5, await StoredRecordsAsync(session)); // 1..4 and the stranger's 7: nothing appended after
    }

    [Fact]
    public async Task A_state_row_rolled_back_behind_its_chain_recovers_from_the_chain_without_risk_or_count_going_backwards()
    {
        var cluster = await StartAsync(2);
        var s = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var session = await s.OpenSessionAsync(await s.NewAgentAsync(), idle: TimeSpan.FromHours(1));
        var grain = cluster.Client.GetGrain<IAgentSessionGrain>(session);
        await SearchAsync(s, session, 3);
        await DeactivateAllAsync(cluster);
        var older = await ReadStateRowAsync(session); // the snapshot after 3 decisions
        await SearchAsync(s, session, 3);
        var before = (await grain.Get())!;
        Assert.Equal((6, 30L), (before.DecisionCount, before.CumulativeRisk));
        await CheckpointAllAsync(cluster);
        await DeactivateAllAsync(cluster);
        Assert.NotEqual(older.ETag, (await ReadStateRowAsync(session)).ETag);

        DecisionLedger.Tampered[(evidenceTable, session)] = true;
        await RollBackStateRowAsync(older);

        var after = (await grain.Get())!;
        Assert.Equal((before.DecisionCount, before.CumulativeRisk, before.TotalEvents), (after.DecisionCount, after.CumulativeRisk, after.TotalEvents));
        var next = await s.DecideAsync(session, "search_web", "WebSearch", "q");
        Assert.Equal(DecisionOutcome.Allow, next.Outcome);
        Assert.Equal(35, next.CumulativeRisk);
        Assert.True((await VerifyAsync(session)).Valid);
    }

    [Fact]
    public async Task A_storage_rollback_of_state_row_and_chain_together_is_refused_by_the_session_and_found_by_verify()
    {
        var cluster = await StartAsync(2);
        var s = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var session = await s.OpenSessionAsync(await s.NewAgentAsync(), idle: TimeSpan.FromHours(1));
        await SearchAsync(s, session, 3);
        await DeactivateAllAsync(cluster);
        var older = await ReadStateRowAsync(session);
        await SearchAsync(s, session, 3);
        await CheckpointAllAsync(cluster);
        await DeactivateAllAsync(cluster);

        // Storage lost its last writes: the state row and the chain are consistent with each other, 3 decisions back.
        await RollBackStateRowAsync(older);
        await DeleteRecordsAsync(session, 5, 7);
        // On their own, the rolled-back state and the shortened chain agree: only the checkpoint knows.
        var store = new AzureTableEvidenceStore(env.Azurite.ConnectionString, evidenceTable);
        using (var keys = new EvidencePublicKeys())
        {
            foreach (var (id, pem) in await store.ListPublicKeysAsync()) keys.Add(id, pem);
            Assert.True(EvidenceVerifier.Verify(EvidenceChains.ForSession(session), await store.ReadChainAsync(EvidenceChains.ForSession(session)), keys, minimumRecords: 4).Valid);
        }

        var refused = await s.DecideAsync(session, "search_web", "WebSearch", "q");
        Assert.Equal(EvidenceDenyReasons.EvidenceRollback, refused.DenyReason);
        Assert.Equal(DecisionOutcome.Deny, (await s.DecideAsync(session, "search_web", "WebSearch", "q")).Outcome);
        Assert.Equal(4, await StoredRecordsAsync(session));

        var verified = await VerifyAsync(session);
        Assert.False(verified.Valid);
        Assert.Matches("^records 5..7 sealed in checkpoint \\d+ of .+ are missing", verified.Problem);

        // The refusal holds wherever the session activates next.
        await DeactivateAllAsync(cluster);
        Assert.Equal(EvidenceDenyReasons.EvidenceRollback, (await s.DecideAsync(session, "search_web", "WebSearch", "q")).DenyReason);
    }

    [Fact]
    public async Task While_the_checkpoint_store_is_unreachable_decisions_continue_readiness_says_so_and_the_heads_are_sealed_once_it_returns()
    {
        await using var checkpointLink = new TcpSwitch(env.Azurite.Port);
        checkpointLink.On();
        var viaLink = env.Azurite.ConnectionString.Replace($":{env.Azurite.Port}/", $":{checkpointLink.Port}/", StringComparison.Ordinal);
        var id = "cp-" + Guid.NewGuid().ToString("N")[..10];
        var host = await env.StartHostAsync(env.HostArgs(id, "Production",
            "--Seed:Example=true", $"--Seed:Directory={RepoPaths.Examples}",
            $"--Evidence:Table={evidenceTable}", $"--Evidence:Checkpoints:ConnectionString={viaLink}", $"--Evidence:Checkpoints:Table={checkpointTable}", "--Evidence:Checkpoints:Interval=01:00:00"));
        var checkpointer = host.App.Services.GetRequiredService<EvidenceCheckpointer>();
        var grains = host.App.Services.GetRequiredService<IGrainFactory>();
        await Eventually.UntilAsync("the seeded policy in the silo's cache", () => host.App.Services.GetRequiredService<PolicyCache>().Version, v => v > 0);
        var s = new Scenario(grains, TimeProvider.System.GetUtcNow);
        var session = await s.OpenSessionAsync(await s.NewAgentAsync(), idle: TimeSpan.FromHours(1));
        await SearchAsync(s, session, 2);
        Assert.Equal(1, await checkpointer.CheckpointNowAsync());
        Assert.Equal("Healthy", await ReadinessAsync(host));

        checkpointLink.Off();
        await SearchAsync(s, session, 2);
        Assert.Equal(0, await checkpointer.CheckpointNowAsync());
        Assert.NotNull(checkpointer.Failure);
        Assert.Contains("Degraded", await ReadinessAsync(host), StringComparison.Ordinal);
        // A session activated now cannot ask the checkpoints: it decides on the evidence table.
        await grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        await SearchAsync(s, session, 1);

        checkpointLink.On();
        Assert.Equal(1, await checkpointer.CheckpointNowAsync());
        Assert.Null(checkpointer.Failure);
        Assert.Equal("Healthy", await ReadinessAsync(host));
        var sealedHead = await new AzureTableCheckpointStore(env.Azurite.ConnectionString, checkpointTable).ReadSealedHeadAsync(EvidenceChains.ForSession(session));
        Assert.Equal(6, sealedHead?.Sequence); // the open record and 5 decisions
        Assert.True((await VerifyAsync(session)).Valid);
    }

    [Fact]
    public async Task A_silo_that_stops_gracefully_seals_the_heads_it_wrote_since_its_last_checkpoint()
    {
        var id = "cpstop-" + Guid.NewGuid().ToString("N")[..10];
        var host = await env.StartHostAsync(env.HostArgs(id, "Production",
            "--Seed:Example=true", $"--Seed:Directory={RepoPaths.Examples}", $"--Evidence:Table={evidenceTable}",
            $"--Evidence:Checkpoints:ConnectionString={env.Azurite.ConnectionString}", $"--Evidence:Checkpoints:Table={checkpointTable}",
            "--Evidence:Checkpoints:Interval=01:00:00"));
        await Eventually.UntilAsync("the seeded policy in the silo's cache", () => host.App.Services.GetRequiredService<PolicyCache>().Version, v => v > 0);
        var s = new Scenario(host.App.Services.GetRequiredService<IGrainFactory>(), TimeProvider.System.GetUtcNow);
        var session = await s.OpenSessionAsync(await s.NewAgentAsync(), idle: TimeSpan.FromHours(1));
        await SearchAsync(s, session, 3);
        var checkpoints = new AzureTableCheckpointStore(env.Azurite.ConnectionString, checkpointTable);
        Assert.Null(await checkpoints.ReadSealedHeadAsync(EvidenceChains.ForSession(session)));

        await host.StopAsync();

        Assert.Equal(4, (await checkpoints.ReadSealedHeadAsync(EvidenceChains.ForSession(session)))?.Sequence); // the open record and 3 decisions
        Assert.True((await VerifyAsync(session)).Valid);
    }

    private static async Task<string> ReadinessAsync(RunningHost host)
    {
        using var response = await host.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }
}
