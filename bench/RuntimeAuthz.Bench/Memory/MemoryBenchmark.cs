using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo;

namespace RuntimeAuthz.Bench.Memory;

/// <summary>
/// Memory per active session: a silo in this process (so its heap can be collected and measured) on Azurite with
/// evidence on; N sessions are activated (opened) and, for the later rows, make 1,000 or 10,000 decisions each, and
/// the managed heap after a full compacting collection and the process working set are measured before and after.
/// The sessions of earlier rows stay active, so every row's delta is its own sessions' cost: the silo's activation
/// collection age is pinned far beyond the run (Orleans collects grains idle for 15 minutes by default, and a long
/// row would otherwise lose the earlier rows' sessions), and the session activations are counted at every reading.
/// </summary>
public static class MemoryBenchmark
{
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        (int Sessions, int Decisions)[] rows =
        [
            (BenchSupport.ArgValue(args, "--sessions", 20_000), 0),
            (BenchSupport.ArgValue(args, "--sessions-1k", 200), 1_000),
            (BenchSupport.ArgValue(args, "--sessions-10k", 200), 10_000),
        ];
        if (rows.Any(r => r.Sessions < 0))
        {
            Console.Error.WriteLine("--sessions, --sessions-1k and --sessions-10k must be at least 0 (0 skips the row)");
            return 2;
        }
        // Evidence off only speeds the filling up: a session keeps the same state either way (the chain is in storage).
        var evidenceOn = !args.Contains("--evidence-off", StringComparer.Ordinal);
        var holdSeconds = BenchSupport.ArgValue(args, "--hold-seconds", 0);
        var busy = BenchSupport.ArgValue(args, "--busy", 200);
        if (busy < 1)
        {
            Console.Error.WriteLine("--busy (sessions deciding at once) must be at least 1");
            return 2;
        }
        var temporal = args.Contains("--temporal", StringComparer.Ordinal);
        await using var azurite = await AzuriteServer.StartAsync();
        var serviceId = "bench-memory-" + Guid.NewGuid().ToString("N")[..8];
        // Errors only: on a loaded machine storage timeouts log warnings with stack traces, and the console
        // logger's queue of them would be measured as session memory.
        var app = SiloHost.Build(
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Development", "--Logging:LogLevel:Default=Error", "--Authentication:DevelopmentIssuer:Enabled=true",
            $"--Storage:ConnectionString={azurite.ConnectionString}", $"--Orleans:ServiceId={serviceId}", $"--Orleans:ClusterId={serviceId}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}", $"--Evidence:Enabled={evidenceOn}",
        ], builder => builder.Services.PostConfigure<GrainCollectionOptions>(o =>
        {
            // Every session stays resident for the whole run, however long the rows take on a loaded machine.
            o.CollectionAge = KeepResident;
            o.ClassSpecificCollectionAge.Clear();
        }));
        try
        {
            await app.StartAsync();
            var grains = app.Services.GetRequiredService<IGrainFactory>();
            await DecisionWorkload.SetUpAsync(grains);
            if (temporal) await PublishTemporalPolicyAsync(grains);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(RepoPaths.Root)}, load average {BenchSupport.LoadAverage()}; one silo in process, evidence {(evidenceOn ? "on" : "off")}, Azurite{(temporal ? ", with a temporal rule keeping every request of the last hour" : "")}"));
            Console.WriteLine("| sessions | decisions each | managed heap per session | working set per session | active sessions per GiB (heap) | decisions/s while filling |");
            Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
            var management = grains.GetGrain<IManagementGrain>(0);
            // The set-up's probe sessions are active already; every row adds its own.
            var expectedSessions = await SessionActivationsAsync(management);
            var before = await MeasureAsync();
            var baseline = before;
            var measured = 0;
            foreach (var (count, decisions) in rows.Where(r => r.Sessions > 0))
            {
                var watch = Stopwatch.StartNew();
                var sessions = await OpenAsync(grains, count);
                var failed = 0;
                // At most --busy sessions decide at once: thousands of busy sessions at once overload an in-process silo
                // on 2 cores (calls time out, the heap does not settle), and a large row is what keeps the reading clean.
                await Parallel.ForEachAsync(sessions, new ParallelOptions { MaxDegreeOfParallelism = busy }, async (session, _) =>
                {
                    for (var i = 0; i < decisions; i++)
                    {
                        // A call that times out (or whose storage failed) on a loaded machine is still a decision the session may have made.
                        try { await DecisionWorkload.DecideAsync(grains, session); }
                        catch (Exception) { Interlocked.Increment(ref failed); }
                    }
                });
                if (failed > 0) Console.WriteLine($"  ({failed} decision calls failed or timed out)");
                var seconds = watch.Elapsed.TotalSeconds;
                var after = await MeasureAsync();
                expectedSessions += sessions.Length;
                var resident = await SessionActivationsAsync(management);
                if (resident < expectedSessions)
                {
                    Console.WriteLine($"  ({resident:N0} session activations, {expectedSessions:N0} expected: sessions were collected, the row below is not per active session)");
                }
                var heapPerSession = (after.Heap - before.Heap) / (double)count;
                var workingSetPerSession = (after.WorkingSet - before.WorkingSet) / (double)count;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {count:N0} | {decisions:N0} | {Bytes(heapPerSession)} | {Bytes(workingSetPerSession)} | {PerGiB(heapPerSession):N0} | " +
                    $"{(decisions == 0 ? "-" : (count * (double)decisions / seconds).ToString("N0", CultureInfo.InvariantCulture))} |"));
                before = after;
                measured += count;
            }
            Console.WriteLine($"load average at the end {BenchSupport.LoadAverage()}; {await SessionActivationsAsync(management):N0} session activations resident");
            if (holdSeconds > 0)
            {
                // Time to take a heap dump of the measured state (dotnet-gcdump collect -p <pid>).
                Console.WriteLine($"holding the silo for {holdSeconds} s, process {Environment.ProcessId}");
                await Task.Delay(TimeSpan.FromSeconds(holdSeconds));
                // Read again: memory still held by background work (snapshot writes, storage retries) at the first
                // reading is gone by now, so the difference between the two is transient, not per-session state.
                var held = await MeasureAsync();
                if (measured > 0)
                {
                    var perSession = (held.Heap - baseline.Heap) / (double)measured;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"after the hold: managed heap per session {Bytes(perSession)} over all {measured:N0} sessions ({PerGiB(perSession):N0} per GiB), working set per session {Bytes((held.WorkingSet - baseline.WorkingSet) / (double)measured)}"));
                }
            }
            return 0;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Longer than any run: no session is collected as idle while the rows fill and settle.</summary>
    private static readonly TimeSpan KeepResident = TimeSpan.FromDays(7);

    /// <summary>Session grain activations on the silo now (opens retried after a timeout may add a few uncounted ones).</summary>
    private static async Task<long> SessionActivationsAsync(IManagementGrain management) =>
        (await management.GetSimpleGrainStatistics())
            .Where(s => s.GrainType.Contains(nameof(RuntimeAuthz.Grains.AgentSessionGrain), StringComparison.Ordinal))
            .Sum(s => (long)s.ActivationCount);

    /// <summary>
    /// The bench policy plus a rule that never fires but whose window keeps every read_file request of the last
    /// hour in the session's temporal history: what a session under temporal policies costs at most for its decisions.
    /// </summary>
    private static async Task PublishTemporalPolicyAsync(IGrainFactory grains)
    {
        var published = await grains.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Author = "bench",
            Policies = DecisionWorkload.Policy + """

                @id("no-read-of-a-never-path-within-an-hour")
                forbid (principal, action == Action::"read_file", resource)
                when temporal { formerly within 1h Action::"read_file"::request{ input.path: "/never" } };
                """,
        });
        if (!published.IsSuccess) throw new InvalidOperationException(published.Message);
        var probe = await DecisionWorkload.OpenSessionAsync(grains);
        await Eventually.UntilAsync("an Allow under the temporal version", () => DecisionWorkload.DecideAsync(grains, probe),
            d => d.Outcome == DecisionOutcome.Allow && d.PolicyVersion == published.Value!.Version,
            timeout: TimeSpan.FromSeconds(10), describe: d => $"{d.Outcome} {d.DenyReason} v{d.PolicyVersion}");
    }

    /// <summary>
    /// Opens in bounded batches (thousands of grain calls in flight would only queue and time out on a loaded machine).
    /// An open that fails (a timeout, or storage too slow to answer on a loaded machine) is tried again as another
    /// session, up to 20 times; it may have been activated anyway, so the failures are printed (each adds at most one
    /// uncounted session to the row). Progress is printed every 1,000 sessions.
    /// </summary>
    private static async Task<string[]> OpenAsync(IGrainFactory grains, int count)
    {
        const int Batch = 32;
        var opened = new List<string>(count);
        var timeouts = 0;
        var watch = Stopwatch.StartNew();
        for (var done = 0; done < count; done += Batch)
        {
            opened.AddRange(await Task.WhenAll(Enumerable.Range(0, Math.Min(Batch, count - done)).Select(async _ =>
            {
                for (var attempt = 1; ; attempt++)
                {
                    try { return await DecisionWorkload.OpenSessionAsync(grains); }
                    catch (Exception) when (attempt < 20) { Interlocked.Increment(ref timeouts); }
                }
            })));
            if (opened.Count / 1000 != (opened.Count - Math.Min(Batch, count - done)) / 1000)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ({opened.Count:N0} opened in {watch.Elapsed.TotalSeconds:N0} s, load average {BenchSupport.LoadAverage()})"));
        }
        if (timeouts > 0) Console.WriteLine($"  ({timeouts} opens failed and were tried again)");
        return [.. opened];
    }

    /// <summary>
    /// After the silo's background work has settled: the heap after full compacting collections, and the working set.
    /// A session writes its last snapshot within one maintenance period (30 s) of its last decision, and a snapshot
    /// being written holds a full copy of the session's state until storage confirms it. With 2,000 sessions writing
    /// at once Azurite took about a minute to absorb them (2026-12-02, readings every 10 s: 70 MiB, 139 MiB at 30 s,
    /// then 71-93 MiB until 93 s, then 69.0-69.1 MiB), so two readings 5 s apart could agree by chance while writes
    /// were in flight and read 2-5 KiB per session too high. A reading counts once three in a row, 10 s apart, agree.
    /// </summary>
    private static async Task<(long Heap, long WorkingSet)> MeasureAsync()
    {
        const long Tolerance = 256 * 1024;
        await Task.Delay(TimeSpan.FromSeconds(35));
        var readings = new List<(long Heap, long WorkingSet)> { Collect() };
        for (var i = 0; i < 24; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(10));
            readings.Add(Collect());
            if (readings.Count < 3) continue;
            var lastThree = readings[^3..];
            if (lastThree.Max(r => r.Heap) - lastThree.Min(r => r.Heap) < Tolerance) return readings[^1];
        }
        Console.WriteLine("  (the heap did not settle within four minutes)");
        return readings[^1];
    }

    private static (long Heap, long WorkingSet) Collect()
    {
        for (var i = 0; i < 3; i++)
        {
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        using var self = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: true), self.WorkingSet64);
    }

    /// <summary>Active sessions per GiB of managed heap at this cost each (infinite when a row read no growth).</summary>
    private static double PerGiB(double bytesPerSession) => bytesPerSession > 0 ? (1L << 30) / bytesPerSession : double.PositiveInfinity;

    private static string Bytes(double bytes) => Math.Abs(bytes) >= 1024 * 1024
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024 * 1024):0.0} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024:0.0} KiB");
}
