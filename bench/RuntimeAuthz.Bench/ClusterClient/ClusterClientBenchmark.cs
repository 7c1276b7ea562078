using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace RuntimeAuthz.Bench.ClusterClient;

/// <summary>
/// The decisions of `bench http`, made through grain calls from an Orleans cluster client in this
/// process (through the silo's gateway) instead of HTTP: a real silo process on Azurite, N open
/// sessions each deciding in a loop, evidence off and on (a new silo and service for each mode).
/// </summary>
public static class ClusterClientBenchmark
{
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var seconds = BenchSupport.ArgValue(args, "--seconds", 20);
        // Each mode starts its own silo; tiered JIT keeps recompiling hot methods for tens of seconds of load after a
        // start (see bench http --prime), so the warm-up is long enough to time a running silo.
        var warmup = BenchSupport.ArgValue(args, "--warmup", 30);
        var rounds = BenchSupport.ArgValue(args, "--rounds", 1);
        var sessionCount = BenchSupport.ArgValue(args, "--sessions", 64);
        bool[] modes = BenchSupport.ArgValues(args, "--evidence").LastOrDefault() switch
        {
            "on" => [true],
            "off" => [false],
            null or "both" => [false, true],
            var other => throw new ArgumentException($"--evidence takes on, off or both, not '{other}'"),
        };
        // Silo configuration for experiments, e.g. --setting Evidence:SessionPartitions=1 (repeatable).
        var settings = BenchSupport.ArgValues(args, "--setting");
        var countStorage = BenchSupport.HasFlag(args, "--count-storage");
        var root = RepoPaths.Root;
        var work = Directory.CreateTempSubdirectory("bench-cluster-client-").FullName;
        await using var azurite = await BenchSupport.StartAzuriteAsync(args);
        // Storage requests per decision by kind (and bytes), through a counting relay: a figure the machine's load does not move.
        await using var counter = countStorage ? Http.StorageRequestCounter.For(azurite) : null;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(root)}; {sessionCount} sessions deciding in a loop, {warmup} s warm-up + {seconds} s timed per mode, {rounds} rounds; Azurite {(azurite.InMemory ? "in memory" : "on disk")}{(settings.Length > 0 ? "; silo settings " + string.Join(" ", settings) : "")}"));
        Console.WriteLine("| round | evidence | decisions/s | p50 ms | p90 ms | p99 ms | silo CPU µs/decision | Azurite CPU µs/decision | not allowed |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var evidence in modes)
            {
                var log = Path.Combine(work, $"silo-{round}-{(evidence ? "evidence" : "no-evidence")}.log");
                await using var silo = await SiloProcess.StartAsync(root, counter?.ConnectionString(azurite.ConnectionString) ?? azurite.ConnectionString, evidence, log, settings);
                using var client = await silo.ConnectFleetClientAsync();
                var grains = client.Services.GetRequiredService<IGrainFactory>();
                await DecisionWorkload.SetUpAsync(grains);
                var sessions = await DecisionWorkload.OpenSessionsAsync(grains, sessionCount);
                await DecisionWorkload.ClosedLoopAsync(grains, sessions, TimeSpan.FromSeconds(warmup), null);
                var latencies = new List<double>[sessions.Length];
                var (cpuBefore, storageBefore, trafficBefore) = (silo.ProcessorTime, azurite.ProcessorTime, counter?.ByKind());
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var (count, notAllowed) = await DecisionWorkload.ClosedLoopAsync(grains, sessions, TimeSpan.FromSeconds(seconds), latencies);
                var elapsed = watch.Elapsed;
                var (cpu, storage) = (silo.ProcessorTime - cpuBefore, azurite.ProcessorTime - storageBefore);
                var all = latencies.SelectMany(l => l).Order().ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {round} | {(evidence ? "on" : "off")} | {count / elapsed.TotalSeconds:0} | {BenchSupport.Percentile(all, 0.50):0.00} | {BenchSupport.Percentile(all, 0.90):0.00} | " +
                    $"{BenchSupport.Percentile(all, 0.99):0.00} | {cpu.TotalMicroseconds / Math.Max(1, count):0} | {storage.TotalMicroseconds / Math.Max(1, count):0} | {DecisionWorkload.FormatNotAllowed(notAllowed)} |"));
                counter?.Print(trafficBefore!, count, "decision");
                await client.StopAsync();
                await silo.DisposeAsync();
                if (evidence) Console.WriteLine($"evidence batching (warm-up included): {Http.EvidenceBatching.FromSiloLog(log)}");
            }
        }
        return 0;
    }
}
