using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Bench.Policy;

/// <summary>
/// Single-thread decision throughput and latency of our Authorizer against cedar-wasm (preparsed
/// policy set) on the same agent-authorization workload at 10..10,000 policies.
/// </summary>
internal static class PolicyBenchmark
{
    private static readonly int[] Sizes = [10, 100, 1_000, 10_000];
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Measure = TimeSpan.FromSeconds(2);

    internal sealed record Figures(long Count, double Seconds, double P50Us, double P90Us, double P99Us)
    {
        public double PerSecond => Count / Seconds;
    }

    public static int Run(string[] args)
    {
        bool skipWasm = args.Contains("--no-wasm");
        string repoRoot = RepoPaths.Root;
        Console.WriteLine($"policy benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        var rows = new List<(int Size, Figures Ours, Figures? Wasm, int Allowed, bool Agree)>();
        foreach (int size in Sizes)
        {
            var workload = AgentPolicyWorkload.Create(size);
            var parseWatch = Stopwatch.StartNew();
            var policies = PolicySet.Parse(workload.PolicyText, $"agents-{size}.cedar");
            parseWatch.Stop();
            var requests = workload.Requests
                .Select(r => (Request: new AuthorizationRequest(r.Principal, r.Action, r.Resource, CedarContext.FromJson(r.Context.ToJsonString())),
                              Entities: EntityStore.FromJson(r.Entities.ToJsonString())))
                .ToArray();
            var ourDecisions = requests.Select(r => Authorizer.IsAuthorized(r.Request, policies, r.Entities).Decision == Decision.Allow ? "allow" : "deny").ToList();
            var ours = MeasureOurs(requests, policies);
            Figures? wasm = null;
            bool agree = true;
            if (!skipWasm)
            {
                var (wasmFigures, wasmDecisions) = MeasureCedarWasm(repoRoot, workload);
                wasm = wasmFigures;
                agree = wasmDecisions.SequenceEqual(ourDecisions);
            }
            int allowed = ourDecisions.Count(d => d == "allow");
            rows.Add((size, ours, wasm, allowed, agree));
            Console.WriteLine($"  {size,6} policies: parsed in {parseWatch.Elapsed.TotalMilliseconds:F0} ms; ours {ours.PerSecond,12:N0}/s p50 {ours.P50Us:F2} µs" +
                              (wasm is null ? "" : $"; cedar-wasm {wasm.PerSecond,8:N0}/s p50 {wasm.P50Us:F1} µs; decisions agree: {agree}"));
        }

        Console.WriteLine();
        Console.WriteLine(FormatTable(rows));
        var first = rows[0].Ours;
        var thousand = rows.First(r => r.Size == 1_000);
        var last = rows[^1].Ours;
        Console.WriteLine("Targets:");
        Console.WriteLine($"  p50 at 10 policies <= 5 µs: {first.P50Us:F2} µs -> {(first.P50Us <= 5 ? "met" : "MISSED")}");
        if (rows[0].Wasm is { } w10 && thousand.Wasm is { } w1000)
        {
            double r10 = first.PerSecond / w10.PerSecond, r1000 = thousand.Ours.PerSecond / w1000.PerSecond;
            Console.WriteLine($"  >= 40x cedar-wasm at 10 policies: {r10:F0}x -> {(r10 >= 40 ? "met" : "MISSED")}");
            Console.WriteLine($"  >= 200x cedar-wasm at 1,000 policies: {r1000:F0}x -> {(r1000 >= 200 ? "met" : "MISSED")}");
        }
        double growth = last.P50Us / first.P50Us;
        Console.WriteLine($"  p50 at 10,000 within 3x of p50 at 10: {growth:F2}x -> {(growth <= 3 ? "met" : "MISSED")}");
        return rows.All(r => r.Agree) ? 0 : 1;
    }

    private static Figures MeasureOurs((AuthorizationRequest Request, EntityStore Entities)[] requests, PolicySet policies)
    {
        int n = requests.Length;
        long warmupEnd = Stopwatch.GetTimestamp() + (long)(Warmup.TotalSeconds * Stopwatch.Frequency);
        int i = 0;
        while (Stopwatch.GetTimestamp() < warmupEnd)
        {
            for (int k = 0; k < 256; k++, i++) Authorizer.IsAuthorized(requests[i % n].Request, policies, requests[i % n].Entities);
        }
        // Latency: each decision timed on its own into a histogram of Stopwatch ticks, touched before
        // use so page faults do not land in the measurement; rare slow outliers go to a list.
        const int HistogramTicks = 1 << 20;
        var histogram = new long[HistogramTicks];
        Array.Fill(histogram, 0L);
        var outliers = new List<long>();
        long count = 0;
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(Measure.TotalSeconds * Stopwatch.Frequency);
        long t = start;
        while (t < end)
        {
            var (request, entities) = requests[i++ % n];
            Authorizer.IsAuthorized(request, policies, entities);
            long t2 = Stopwatch.GetTimestamp();
            long elapsed = t2 - t;
            if (elapsed < HistogramTicks) histogram[elapsed]++; else outliers.Add(elapsed);
            count++;
            t = t2;
        }
        outliers.Sort();
        double TicksToUs(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
        double Pct(double p)
        {
            long rank = Math.Min(count - 1, (long)(count * p)), seen = 0;
            for (int tick = 0; tick < HistogramTicks; tick++)
            {
                seen += histogram[tick];
                if (seen > rank) return TicksToUs(tick);
            }
            return TicksToUs(outliers[(int)(rank - seen)]);
        }

        // Throughput: a tight loop with the clock read once per 1,024 decisions.
        long decisions = 0;
        long throughputStart = Stopwatch.GetTimestamp();
        long throughputEnd = throughputStart + (long)(Measure.TotalSeconds * Stopwatch.Frequency);
        long now = throughputStart;
        while (now < throughputEnd)
        {
            for (int k = 0; k < 1024; k++, i++) Authorizer.IsAuthorized(requests[i % n].Request, policies, requests[i % n].Entities);
            decisions += 1024;
            now = Stopwatch.GetTimestamp();
        }
        double seconds = (now - throughputStart) / (double)Stopwatch.Frequency;
        return new Figures(decisions, seconds, Pct(0.5), Pct(0.9), Pct(0.99));
    }

    private static (Figures Figures, List<string> Decisions) MeasureCedarWasm(string repoRoot, AgentPolicyWorkload workload)
    {
        var job = new JsonObject
        {
            ["policies"] = workload.PolicyText,
            ["warmupMs"] = (int)Warmup.TotalMilliseconds,
            ["measureMs"] = (int)Measure.TotalMilliseconds,
            ["requests"] = new JsonArray(workload.Requests.Select(r => (JsonNode?)new JsonObject
            {
                ["principal"] = Uid(r.Principal),
                ["action"] = Uid(r.Action),
                ["resource"] = Uid(r.Resource),
                ["context"] = r.Context.DeepClone(),
                ["entities"] = r.Entities.DeepClone(),
            }).ToArray()),
        };
        var start = new ProcessStartInfo("node", [Path.Combine(repoRoot, "bench", "cedar-wasm-bench.cjs")])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start node");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(job.ToJsonString());
        process.StandardInput.Close();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"cedar-wasm-bench.cjs failed ({process.ExitCode}): {stderr.Result}");
        var result = JsonNode.Parse(stdout.Result)!;
        var figures = new Figures(
            result["count"]!.GetValue<long>(), result["seconds"]!.GetValue<double>(),
            result["p50Us"]!.GetValue<double>(), result["p90Us"]!.GetValue<double>(), result["p99Us"]!.GetValue<double>());
        return (figures, result["decisions"]!.AsArray().Select(d => d!.GetValue<string>()).ToList());
    }

    private static JsonObject Uid(EntityUid uid) => new() { ["type"] = uid.Type, ["id"] = uid.Id };

    private static string FormatTable(List<(int Size, Figures Ours, Figures? Wasm, int Allowed, bool Agree)> rows)
    {
        var b = new StringBuilder();
        b.AppendLine("| policies | ours decisions/s | ours p50 µs | p90 µs | p99 µs | cedar-wasm decisions/s | cedar-wasm p50 µs | p90 µs | p99 µs | throughput ratio | allowed / 64 |");
        b.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (size, ours, wasm, allowed, _) in rows)
        {
            string w = wasm is null ? "– | – | – | – | –" :
                string.Create(CultureInfo.InvariantCulture, $"{wasm.PerSecond:N0} | {wasm.P50Us:F1} | {wasm.P90Us:F1} | {wasm.P99Us:F1} | {ours.PerSecond / wasm.PerSecond:F0}×");
            b.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {size:N0} | {ours.PerSecond:N0} | {ours.P50Us:F2} | {ours.P90Us:F2} | {ours.P99Us:F2} | {w} | {allowed} |"));
        }
        return b.ToString();
    }
}
