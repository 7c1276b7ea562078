using Xunit.Abstractions;

namespace RuntimeAuthz.Chaos.Tests;

/// <summary>
/// Each fault runs against its own fresh cluster of silo processes under concurrent load from several sessions, and
/// every answer is checked against the evidence afterwards (issue 10's fault proofs, issue 13's chaos harness). The
/// counts are in each test's output. One at a time: the faults are timing-sensitive and the machine is small.
/// </summary>
[Collection(nameof(FaultScenarioTests))]
[CollectionDefinition(nameof(FaultScenarioTests), DisableParallelization = true)]
public sealed class FaultScenarioTests(ITestOutputHelper output)
{
    private Task<ChaosReport> RunAsync(ChaosFault fault, ChaosSettings settings) => RunAsync([fault], settings);

    private async Task<ChaosReport> RunAsync(ChaosFault[] faults, ChaosSettings settings)
    {
        var log = new TestOutputWriter(output);
        var report = await ChaosScenarios.RunAsync(faults, settings, log);
        log.WriteLine(report.ToString());
        return report;
    }

    /// <summary>What every scenario must hold: the caller was told what the evidence says, and the evidence verifies.</summary>
    private static void AssertAnswersMatchEvidence(ChaosReport report)
    {
        Assert.True(report.Allowed > 0, report.ToString());
        Assert.Equal(0, report.AllowsWithoutEvidence);
        Assert.Equal(0, report.RecordsDisagreeing);
        Assert.Equal(0, report.RecordsWithoutCall);
        Assert.Equal(0, report.StateBackwards);
        Assert.Empty(report.BrokenChains);
        // Every session was allowed again after the fault: its chain continued.
        Assert.NotNull(report.Recovery);
    }

    [Fact]
    public async Task Killing_the_hot_agents_silo_then_the_busiest_one_in_the_middle_of_group_commits_leaves_every_answered_allow_recorded_and_every_chain_continuing()
    {
        // Two kills on one cluster (3 silos, 1 left): the silo holding the agent grain all sessions use, then the one
        // holding the most session grains while they commit (a session grain may well live elsewhere than its agent).
        var report = await RunAsync([ChaosFault.KillHotAgentSilo, ChaosFault.KillBusiestSilo],
            new ChaosSettings { Silos = 3, Sessions = 12, Before = TimeSpan.FromSeconds(3), After = TimeSpan.FromSeconds(2) });

        AssertAnswersMatchEvidence(report);
        // A call whose silo died may be durable and unanswered; its record must not say Allow either (issue 10).
        Assert.Equal(0, report.UnansweredWithAllowRecord);
    }

    [Fact]
    public async Task A_ten_second_storage_stall_under_load_leaves_every_record_saying_what_the_caller_was_told()
    {
        var report = await RunAsync(ChaosFault.StorageStall, new ChaosSettings { Silos = 2, Sessions = 8, Fault = TimeSpan.FromSeconds(10), After = TimeSpan.FromSeconds(2) });

        AssertAnswersMatchEvidence(report);
        Assert.Equal(0, report.UnansweredWithAllowRecord);
        // The stall was felt: decisions in it were denied or unanswered, never allowed without their record.
        Assert.True(report.Denied - report.DenyReasons.GetValueOrDefault("forbidden") + report.NoAnswer > 0, report.ToString());
    }

    [Fact]
    public async Task Storage_stopped_and_started_again_on_the_same_data_leaves_chains_that_continue_and_verify()
    {
        var report = await RunAsync(ChaosFault.StorageRestart, new ChaosSettings { Silos = 2, Sessions = 8, Fault = TimeSpan.FromSeconds(3), After = TimeSpan.FromSeconds(2) });

        AssertAnswersMatchEvidence(report);
        Assert.Equal(0, report.UnansweredWithAllowRecord);
    }

    [Fact]
    public async Task Slow_storage_makes_decisions_slower_but_never_allows_without_evidence()
    {
        var report = await RunAsync(ChaosFault.SlowStorage, new ChaosSettings
        {
            Silos = 2, Sessions = 8, Fault = TimeSpan.FromSeconds(5), SlowLatency = TimeSpan.FromMilliseconds(100), After = TimeSpan.FromSeconds(2),
        });

        AssertAnswersMatchEvidence(report);
        Assert.Equal(0, report.UnansweredWithAllowRecord);
    }
}
