namespace RuntimeAuthz.Testing.Chaos;

public enum ChaosFault
{
    /// <summary>SIGKILL the silo hosting the agent grain every session uses (it also receives HTTP traffic).</summary>
    KillHotAgentSilo,

    /// <summary>SIGKILL the living silo hosting the most session grains, in the middle of their group commits.</summary>
    KillBusiestSilo,

    /// <summary>SIGSTOP Azurite for <see cref="ChaosSettings.Fault"/>, then SIGCONT.</summary>
    StorageStall,

    /// <summary>Stop Azurite gracefully, keep it down for <see cref="ChaosSettings.Fault"/>, start it again on the same data.</summary>
    StorageRestart,

    /// <summary>Every storage round trip through a proxy adding <see cref="ChaosSettings.SlowLatency"/> each way for <see cref="ChaosSettings.Fault"/>.</summary>
    SlowStorage,
}

/// <summary>How long and how wide a scenario runs: short in CI, longer in <c>bench chaos</c>.</summary>
public sealed record ChaosSettings
{
    public int Silos { get; init; } = 3;
    public int Sessions { get; init; } = 12;
    /// <summary>Load before the fault.</summary>
    public TimeSpan Before { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan Fault { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Load after every session is allowed again.</summary>
    public TimeSpan After { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan SlowLatency { get; init; } = TimeSpan.FromMilliseconds(100);
    /// <summary>Longest wait for every session to be allowed again after the fault.</summary>
    public TimeSpan RecoveryLimit { get; init; } = TimeSpan.FromSeconds(90);
}

/// <summary>
/// Runs one fault against a fresh <see cref="ChaosCluster"/> under <see cref="DecisionLoad"/> and audits the answers
/// against the evidence. Nothing here asserts: the tests assert on the report, the benchmark prints it.
/// </summary>
public static class ChaosScenarios
{
    public static Task<ChaosReport> RunAsync(ChaosFault fault, ChaosSettings settings, TextWriter log) => RunAsync([fault], settings, log);

    /// <summary>The faults one after the other on one cluster, each followed by the wait until every session is allowed again.</summary>
    public static async Task<ChaosReport> RunAsync(IReadOnlyList<ChaosFault> faults, ChaosSettings settings, TextWriter log)
    {
        await using var cluster = await ChaosCluster.StartAsync(settings.Silos, throughProxy: faults.Contains(ChaosFault.SlowStorage), log);
        var sessions = await cluster.OpenSessionsAsync(settings.Sessions);
        await using var load = DecisionLoad.Start(cluster, sessions);
        await Eventually.UntilAsync("every session allowed once before the fault", () => load.SessionsAllowedSince(TimeSpan.Zero), n => n == sessions.Length,
            timeout: TimeSpan.FromSeconds(60), interval: TimeSpan.FromMilliseconds(50), describe: n => $"{n} of {sessions.Length} sessions");
        await Task.Delay(settings.Before);

        var notes = new List<string>();
        var faulted = TimeSpan.Zero;
        TimeSpan? slowest = TimeSpan.Zero;
        foreach (var fault in faults)
        {
            var (faultStart, faultEnd) = await InjectAsync(fault, cluster, load, settings, notes);
            faulted += faultEnd - faultStart;
            log.WriteLine($"{fault}: fault from {faultStart.TotalSeconds:0.0} s to {faultEnd.TotalSeconds:0.0} s of the load");
            try
            {
                await Eventually.UntilAsync("every session allowed again after the fault", () => load.SessionsAllowedSince(faultEnd), n => n == sessions.Length,
                    timeout: settings.RecoveryLimit, interval: TimeSpan.FromMilliseconds(50), describe: n => $"{n} of {sessions.Length} sessions");
                var recovery = load.Now - faultEnd;
                slowest = slowest is { } s && s > recovery ? s : recovery;
            }
            catch (TimeoutException ex)
            {
                notes.Add(ex.Message);
                slowest = null;
            }
            await Task.Delay(settings.After);
        }
        var calls = await load.StopAsync();
        return await ChaosAudit.AuditAsync(cluster, load, calls, new ChaosReport
        {
            Scenario = string.Join(" + ", faults), Silos = settings.Silos, Fault = faulted, Recovery = slowest, Notes = string.Join("; ", notes),
        });
    }

    private static async Task<(TimeSpan Start, TimeSpan End)> InjectAsync(ChaosFault fault, ChaosCluster cluster, DecisionLoad load, ChaosSettings settings, List<string> notes)
    {
        var start = load.Now;
        switch (fault)
        {
            case ChaosFault.KillHotAgentSilo or ChaosFault.KillBusiestSilo:
                var hosts = await cluster.HostsOfAsync(ChaosCluster.AgentId, load.Sessions);
                var victim = fault == ChaosFault.KillHotAgentSilo
                    ? hosts[ChaosCluster.AgentId] ?? throw new InvalidOperationException("the agent grain is not active on any silo")
                    : cluster.Alive.MaxBy(silo => load.Sessions.Count(s => hosts[s] == silo))!;
                notes.Add($"{fault}: the victim hosted {load.Sessions.Count(s => hosts[s] == victim)} of {load.Sessions.Count} sessions{(hosts[ChaosCluster.AgentId] == victim ? " and the agent" : "")}");
                start = load.Now;
                await cluster.KillAsync(victim);
                break;
            case ChaosFault.StorageStall:
                await cluster.Azurite.SuspendAsync();
                await Task.Delay(settings.Fault);
                await cluster.Azurite.ResumeAsync();
                break;
            case ChaosFault.StorageRestart:
                await cluster.Azurite.StopAsync();
                await Task.Delay(settings.Fault);
                await cluster.Azurite.StartAgainAsync();
                break;
            case ChaosFault.SlowStorage:
                cluster.Proxy!.Latency = settings.SlowLatency;
                var allowedBefore = load.Allowed;
                await Task.Delay(settings.Fault);
                notes.Add($"{(load.Allowed - allowedBefore) / settings.Fault.TotalSeconds:0} allows/s with {settings.SlowLatency.TotalMilliseconds:0} ms added each way");
                cluster.Proxy.Latency = TimeSpan.Zero;
                break;
        }
        return (start, load.Now);
    }
}
