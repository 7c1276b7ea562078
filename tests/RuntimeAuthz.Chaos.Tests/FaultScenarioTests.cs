using Xunit.Abstractions;

namespace RuntimeAuthz.Chaos.Tests;

/// <summary>
/// Each fault runs against its own fresh cluster of silo processes under concurrent load from several sessions, and
/// every answer is checked against the evidence afterwards (issue 10's fault proofs, issue 13's chaos harness). The
/// counts are in each test's output. One at a time: the faults are timing-sensitive and the machine is small.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed class FaultScenarioTests(ITestOutputHelper output)
{
    private async Task<ChaosReport> RunAsync(ChaosFault fault, ChaosSettings settings)
    {
        var log = new TestOutputWriter(output);
        var report = await ChaosScenarios.RunAsync(fault, settings, log);
        log.WriteLine(report.ToString());
        return report;
    }

    [Fact]
    public async Task Storage_stopped_and_started_again_on_the_same_data_leaves_chains_that_continue_and_verify()
    {
        var report = await RunAsync(ChaosFault.StorageRestart, new ChaosSettings { Silos = 2, Sessions = 8, Fault = TimeSpan.FromSeconds(3), After = TimeSpan.FromSeconds(2) });

        FaultAssertions.EveryAllowRecordedAndEveryChainContinuing(report);
        FaultAssertions.NoRecordDisagreeing(report);
    }

    [Fact]
    public async Task Slow_storage_makes_decisions_slower_but_never_allows_without_evidence()
    {
        var report = await RunAsync(ChaosFault.SlowStorage, new ChaosSettings
        {
            Silos = 2, Sessions = 8, Fault = TimeSpan.FromSeconds(5), SlowLatency = TimeSpan.FromMilliseconds(100), After = TimeSpan.FromSeconds(2),
        });

        FaultAssertions.EveryAllowRecordedAndEveryChainContinuing(report);
        FaultAssertions.NoRecordDisagreeing(report);
    }
}

/// <summary>One scenario at a time: the faults are timing-sensitive and the machine is small.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ChaosCollection
{
    public const string Name = "chaos";
}
