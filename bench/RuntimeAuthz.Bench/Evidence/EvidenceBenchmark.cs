using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Silo;

namespace RuntimeAuthz.Bench.Evidence;

/// <summary>
/// Decisions per second and cost per decision of the session grain with evidence on and off:
/// a real silo host (Localhost clustering) on Azurite, callers inside the silo, N sessions each
/// deciding in a loop (a session decides one request at a time).
/// </summary>
public static class EvidenceBenchmark
{
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var seconds = BenchSupport.ArgValue(args, "--seconds", 10);
        var concurrency = BenchSupport.ArgValue(args, "--sessions", 64);
        var root = RepoPaths.Root;
        await using var azurite = await AzuriteServer.StartAsync();
        Console.WriteLine($"Azurite on port {azurite.Port}; {concurrency} concurrent sessions, 2 s warm-up, {seconds} s timed per mode");
        Console.WriteLine("| evidence | decisions/s | p50 ms | p99 ms | silo CPU µs/decision | Azurite CPU µs/decision | evidence records | records per storage request | not Allow |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var enabled in new[] { false, true, false, true })
        {
            var result = await RunModeAsync(root, azurite, enabled, concurrency, TimeSpan.FromSeconds(seconds));
            Console.WriteLine(result);
        }
        return 0;
    }

    private static async Task<string> RunModeAsync(string root, AzuriteServer azurite, bool evidence, int concurrency, TimeSpan duration)
    {
        var service = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var table = "BenchEvidence" + Guid.NewGuid().ToString("N")[..8];
        var app = SiloHost.Build(
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Production",
            // Required to start; never contacted: the benchmark calls grains, not the HTTP API.
            "--Authentication:Authority=https://issuer.bench.invalid",
            $"--Storage:ConnectionString={azurite.ConnectionString}",
            $"--Orleans:ServiceId={service}", $"--Orleans:ClusterId={service}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}",
            $"--Evidence:Enabled={evidence}", $"--Evidence:Table={table}",
        ], builder => builder.Logging.SetMinimumLevel(LogLevel.Error));
        await app.StartAsync();
        try
        {
            var grains = app.Services.GetRequiredService<IGrainFactory>();
            await DecisionWorkload.SetUpAsync(grains);

            var sessions = new List<string>();
            for (var i = 0; i < concurrency; i++) sessions.Add(await DecisionWorkload.OpenSessionAsync(grains));

            await DecisionWorkload.ClosedLoopAsync(grains, sessions, TimeSpan.FromSeconds(2), null);
            var latencies = new List<double>[concurrency];
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var azuriteBefore = azurite.ProcessorTime;
            var watch = Stopwatch.StartNew();
            var (count, denied) = await DecisionWorkload.ClosedLoopAsync(grains, sessions, duration, latencies);
            var elapsed = watch.Elapsed;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            var azuriteCpu = azurite.ProcessorTime - azuriteBefore;
            var all = latencies.SelectMany(l => l).Order().ToArray();
            long records = 0;
            var batching = "-";
            if (evidence)
            {
                var store = new RuntimeAuthz.Evidence.AzureTableEvidenceStore(azurite.ConnectionString, table);
                foreach (var chain in await store.ListChainsAsync()) records += (await store.ReadChainAsync(chain)).Count;
                if (app.Services.GetRequiredService<RuntimeAuthz.Evidence.IEvidenceStore>() is RuntimeAuthz.Evidence.AzureTableEvidenceStore used)
                    batching = string.Create(CultureInfo.InvariantCulture, $"{(double)used.AppendStatistics.Entries / Math.Max(1, used.AppendStatistics.Requests):0.00}");
            }
            return string.Create(CultureInfo.InvariantCulture,
                $"| {(evidence ? "on" : "off")} | {count / elapsed.TotalSeconds:0} | {BenchSupport.Percentile(all, 0.50):0.00} | {BenchSupport.Percentile(all, 0.99):0.00} | {cpu.TotalMicroseconds / count:0} | {azuriteCpu.TotalMicroseconds / count:0} | {(evidence ? records.ToString(CultureInfo.InvariantCulture) : "-")} | {batching} | {DecisionWorkload.FormatNotAllowed(denied)} |");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
