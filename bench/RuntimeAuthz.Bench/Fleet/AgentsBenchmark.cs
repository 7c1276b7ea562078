using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Bench.Http;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Bench.Fleet;

/// <summary>
/// Fleet scale: registers N agents through the agent grains from a cluster client (a real silo
/// process on Azurite), `--parallel` registrations in flight, then pages through GET /v1/agents
/// and checks every agent is listed exactly once, then opens sessions over HTTP with wrk
/// (POST /v1/sessions, spread over the agents).
/// </summary>
public static class AgentsBenchmark
{
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        // --agents is the issue's name for it (1,000,000 must work); --count stays for existing scripts.
        var count = BenchSupport.ArgValue(args, "--agents", BenchSupport.ArgValue(args, "--count", 10_000));
        var parallel = BenchSupport.ArgValue(args, "--parallel", 256);
        var pageSize = BenchSupport.ArgValue(args, "--page", AgentDirectoryLimits.MaxPageSize);
        var openSeconds = BenchSupport.ArgValue(args, "--open-seconds", 5);
        var openConnections = BenchSupport.ArgValue(args, "--open-connections", 16);
        var root = RepoPaths.Root;
        var work = Directory.CreateTempSubdirectory("bench-agents-").FullName;
        await using var azurite = await AzuriteServer.StartAsync();
        await using var silo = await SiloProcess.StartAsync(root, azurite, evidence: true, Path.Combine(work, "silo.log"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(root)}; registering {count} agents, {parallel} in flight"));

        using (var client = await silo.ConnectClientAsync())
        {
            await RegisterAsync(client.Services.GetRequiredService<IGrainFactory>(), count, parallel);
            await client.StopAsync();
        }

        if (await silo.DevTokenAsync("bench-admin", ["admin"]) is { } token)
            silo.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        await ListAsync(silo.Http, count, pageSize);

        var wrk = Wrk.Ensure();
        var bodies = Path.Combine(work, "open-sessions.jsonl");
        await File.WriteAllLinesAsync(bodies, Enumerable.Range(0, Math.Min(count, 1000)).Select(i => new JsonObject { ["agentId"] = AgentId(i) }.ToJsonString()));
        var opened = await Wrk.RunAsync(wrk, Path.Combine(root, "bench", "http-decisions.lua"), silo.BaseAddress, openConnections, 2, TimeSpan.FromSeconds(openSeconds),
            "open", bodies, silo.Http.DefaultRequestHeaders.Authorization?.Parameter ?? "");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"opening sessions over HTTP (wrk -c{openConnections}, {openSeconds} s, spread over {Math.Min(count, 1000)} agents): {opened.Allowed / opened.Seconds:0} opened/s, " +
            $"p50 {opened.P50Ms:0.00} ms, p99 {opened.P99Ms:0.00} ms, {opened.NotAllowed} refused, {opened.SocketErrors} socket errors"));
        return 0;
    }

    private static string AgentId(int index) => "fleet-agent-" + index.ToString("D7", CultureInfo.InvariantCulture);

    private static async Task RegisterAsync(IGrainFactory grains, int count, int parallel)
    {
        var next = -1;
        long failed = 0;
        var latencies = new List<double>[parallel];
        var watch = Stopwatch.StartNew();
        var report = Math.Max(1, count / 10);
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(async worker =>
        {
            var mine = latencies[worker] = [];
            int index;
            while ((index = Interlocked.Increment(ref next)) < count)
            {
                var start = Stopwatch.GetTimestamp();
                if (!await RegisterOneAsync(grains, index)) Interlocked.Increment(ref failed);
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if ((index + 1) % report == 0)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {index + 1} registered, {(index + 1) / watch.Elapsed.TotalSeconds:0} agents/s so far"));
            }
        }));
        var all = latencies.SelectMany(l => l).Order().ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"registered {count - failed} agents in {watch.Elapsed.TotalSeconds:0.0} s: {count / watch.Elapsed.TotalSeconds:0} agents/s, " +
            $"p50 {BenchSupport.Percentile(all, 0.5):0.00} ms, p99 {BenchSupport.Percentile(all, 0.99):0.00} ms per registration, {failed} failed"));
    }

    /// <summary>
    /// One registration, tried up to three times: a long run on a loaded machine must not end at
    /// one call timeout (three timeouts count as failed). A retry answered Conflict found the agent
    /// registered by the try before.
    /// </summary>
    private static async Task<bool> RegisterOneAsync(IGrainFactory grains, int index)
    {
        var registration = new AgentRegistration { Name = "fleet agent", Owner = "bench", Fleet = "fleet-" + (index % 100).ToString(CultureInfo.InvariantCulture) };
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await grains.GetGrain<IAgentGrain>(AgentId(index)).Register(registration);
                return result.IsSuccess || (attempt > 1 && result.Error == CommandError.Conflict);
            }
            catch (TimeoutException)
            {
                if (attempt == 3) return false;
            }
        }
    }

    private static async Task ListAsync(HttpClient http, int count, int pageSize)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var duplicates = 0;
        var pageTimes = new List<double>();
        string? continuation = null;
        var watch = Stopwatch.StartNew();
        do
        {
            var start = Stopwatch.GetTimestamp();
            var reply = await http.GetAsync($"v1/agents?limit={pageSize}" + (continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation)));
            reply.EnsureSuccessStatusCode();
            var page = JsonNode.Parse(await reply.Content.ReadAsStringAsync())!;
            pageTimes.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            foreach (var agent in page["agents"]!.AsArray())
                if (!seen.Add(agent!["id"]!.GetValue<string>())) duplicates++;
            continuation = page["continuation"]?.GetValue<string>();
        }
        while (continuation is not null);
        var sorted = pageTimes.Order().ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"listed {seen.Count} agents ({(seen.Count == count && duplicates == 0 ? "every agent exactly once" : $"EXPECTED {count}, {duplicates} duplicates")}) in {pageTimes.Count} pages of up to {pageSize} " +
            $"in {watch.Elapsed.TotalSeconds:0.0} s: page p50 {BenchSupport.Percentile(sorted, 0.5):0.0} ms, max {sorted[^1]:0.0} ms"));
    }
}
