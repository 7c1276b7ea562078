using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo;

namespace RuntimeAuthz.Bench.Evidence;

/// <summary>
/// Decisions per second and cost per decision of the session grain with evidence on and off:
/// a real silo host (Localhost clustering) on Azurite, callers inside the silo, N sessions each
/// deciding in a loop (a session decides one request at a time).
/// </summary>
public static class EvidenceBenchmark
{
    public static int Run(string[] args)
    {
        var seconds = BenchSupport.ArgValue(args, "--seconds", 10);
        var concurrency = BenchSupport.ArgValue(args, "--sessions", 64);
        var root = BenchSupport.FindRepoRoot();
        using var azurite = AzuriteProcess.Start(root);
        Console.WriteLine($"Azurite on port {azurite.Port}; {concurrency} concurrent sessions, 2 s warm-up, {seconds} s timed per mode");
        Console.WriteLine("| evidence | decisions/s | p50 ms | p99 ms | silo CPU µs/decision | Azurite CPU µs/decision | evidence records | records per storage request | not Allow |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var enabled in new[] { false, true, false, true })
        {
            var result = RunModeAsync(root, azurite, enabled, concurrency, TimeSpan.FromSeconds(seconds)).GetAwaiter().GetResult();
            Console.WriteLine(result);
        }
        return 0;
    }

    private static async Task<string> RunModeAsync(string root, AzuriteProcess azurite, bool evidence, int concurrency, TimeSpan duration)
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
            $"--Orleans:SiloPort={BenchSupport.FreePort()}", $"--Orleans:GatewayPort={BenchSupport.FreePort()}",
            $"--Evidence:Enabled={evidence}", $"--Evidence:Table={table}",
        ], builder => builder.Logging.SetMinimumLevel(LogLevel.Error));
        await app.StartAsync();
        try
        {
            var grains = app.Services.GetRequiredService<IGrainFactory>();
            // The example policy without its risk cap, so long runs stay on the Allow path.
            var published = await grains.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
            {
                Policies = """
                    @id("read-own-fleet-documents")
                    permit (principal is Agent, action == Action::"read_file", resource is Document)
                    when { resource.fleet == principal.fleet };
                    """,
                Author = "bench",
            });
            if (!published.IsSuccess) throw new InvalidOperationException(published.Message);
            var agentId = "bench-agent";
            await grains.GetGrain<IAgentGrain>(agentId).Register(new AgentRegistration { Name = "bench", Owner = "bench", Fleet = "research" });
            await grains.GetGrain<IAgentGrain>(agentId).AddDelegation(new DelegationGrant
            {
                Actions = ["read_file"], Resources = ["Document::*"], GrantedBy = "bench", ExpiresAt = DateTimeOffset.UtcNow.AddDays(1),
            });
            // Wait for this silo's policy cache.
            var probeSession = await OpenAsync(grains, agentId);
            for (var i = 0; i < 200 && (await DecideAsync(grains, probeSession)).Outcome != DecisionOutcome.Allow; i++) await Task.Delay(50);

            var sessions = new List<string>();
            for (var i = 0; i < concurrency; i++) sessions.Add(await OpenAsync(grains, agentId));

            await Loop(grains, sessions, TimeSpan.FromSeconds(2), null);
            var latencies = new List<double>[concurrency];
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var azuriteBefore = azurite.ProcessorTime;
            var watch = Stopwatch.StartNew();
            var (count, denied) = await Loop(grains, sessions, duration, latencies);
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
                $"| {(evidence ? "on" : "off")} | {count / elapsed.TotalSeconds:0} | {Percentile(all, 0.50):0.00} | {Percentile(all, 0.99):0.00} | {cpu.TotalMicroseconds / count:0} | {azuriteCpu.TotalMicroseconds / count:0} | {(evidence ? records.ToString(CultureInfo.InvariantCulture) : "-")} | {batching} | {FormatDenied(denied)} |");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static string FormatDenied(Dictionary<string, long> denied) =>
        denied.Count == 0 ? "0" : string.Join(", ", denied.Select(d => $"{d.Value} {d.Key}"));

    private static async Task<(long Count, Dictionary<string, long> NotAllowed)> Loop(IGrainFactory grains, List<string> sessions, TimeSpan duration, List<double>[]? latencies)
    {
        long count = 0;
        var notAllowed = new Dictionary<string, long>();
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(sessions.Select(async (session, index) =>
        {
            var mine = latencies is null ? null : latencies[index] = [];
            while (Stopwatch.GetTimestamp() < until)
            {
                var start = Stopwatch.GetTimestamp();
                var decision = await DecideAsync(grains, session);
                mine?.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                Interlocked.Increment(ref count);
                if (decision.Outcome != DecisionOutcome.Allow)
                {
                    lock (notAllowed) notAllowed[decision.DenyReason ?? decision.Outcome.ToString()] = notAllowed.GetValueOrDefault(decision.DenyReason ?? decision.Outcome.ToString()) + 1;
                }
            }
        }));
        return (count, notAllowed);
    }

    private static Task<AuthzDecision> DecideAsync(IGrainFactory grains, string session) =>
        grains.GetGrain<IAgentSessionGrain>(session).Decide(new DecisionRequest
        {
            Action = "read_file", ResourceType = "Document", ResourceId = "doc-1",
            ResourcePropertiesJson = """{"fleet":"research"}""", InputJson = """{"path":"/reports/q3.pdf"}""",
        });

    private static async Task<string> OpenAsync(IGrainFactory grains, string agentId)
    {
        var id = "s-" + Guid.NewGuid().ToString("N");
        var opened = await grains.GetGrain<IAgentSessionGrain>(id).Open(new SessionOpenRequest
        {
            AgentId = agentId, Lifetime = TimeSpan.FromDays(1), IdleTimeout = TimeSpan.FromDays(1),
        });
        if (!opened.IsSuccess) throw new InvalidOperationException(opened.Message);
        return id;
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
}
