using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Bench.Http;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Fleet;

namespace RuntimeAuthz.Bench.Fleet;

/// <summary>
/// Fleet scale: registers N agents through the agent grains from a cluster client (a real silo
/// process on Azurite, in memory unless `--on-disk`), `--parallel` registrations in flight, then pages
/// through GET /v1/agents and checks every agent is listed exactly once, counts what storage returns
/// for one listing page, then opens sessions over HTTP with wrk (POST /v1/sessions, spread over the agents).
/// </summary>
public static class AgentsBenchmark
{
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        // --agents is the name for it (1,000,000 must work); --count stays for existing scripts.
        var count = BenchSupport.ArgValue(args, "--agents", BenchSupport.ArgValue(args, "--count", 10_000));
        // More in flight only queues in Azurite (one Node thread): at 256 on a loaded machine calls passed Orleans' 30 s
        // timeout, were retried and dropped, and the rate fell from 45/s to 6/s; 32 keeps Azurite busy without that.
        var parallel = BenchSupport.ArgValue(args, "--parallel", 32);
        var pageSize = BenchSupport.ArgValue(args, "--page", AgentDirectoryLimits.MaxPageSize);
        var openSeconds = BenchSupport.ArgValue(args, "--open-seconds", 5);
        var openConnections = BenchSupport.ArgValue(args, "--open-connections", 16);
        // Time budgets (0: none): registration stops taking new agents, listing stops paging, and the bench goes on with what it has.
        var minutes = BenchSupport.ArgValue(args, "--minutes", 0);
        var listMinutes = BenchSupport.ArgValue(args, "--list-minutes", 0);
        await using var host = await FleetBenchHost.StartAsync(args, "agents", evidence: true);
        var silo = host.Silo;
        host.PrintHeader($"registering {count} agents through the agent grains, {parallel} in flight");

        int registered;
        using (var client = await silo.ConnectClientAsync())
        {
            registered = await RegisterAsync(client.Services.GetRequiredService<IGrainFactory>(), count, parallel, minutes);
            await client.StopAsync();
        }

        await host.AuthorizeAsync("bench-admin", "admin");
        await ListAsync(silo.Http, registered, pageSize, listMinutes);
        await CountListingReadsAsync(host, pageSize);

        var wrk = Wrk.Ensure();
        var bodies = Path.Combine(host.Work, "open-sessions.jsonl");
        var openAgents = Math.Min(registered, 1000);
        await File.WriteAllLinesAsync(bodies, Enumerable.Range(0, openAgents).Select(i => new JsonObject { ["agentId"] = AgentId(i) }.ToJsonString()));
        var opened = await Wrk.RunAsync(wrk, Path.Combine(host.Root, "bench", "http-decisions.lua"), silo.BaseAddress, openConnections, 2, TimeSpan.FromSeconds(openSeconds),
            "open", bodies, silo.Http.DefaultRequestHeaders.Authorization?.Parameter ?? "");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"opening sessions over HTTP (wrk -c{openConnections}, {openSeconds} s, spread over {openAgents} agents): {opened.Allowed / opened.Seconds:0} opened/s, " +
            $"p50 {opened.P50Ms:0.00} ms, p99 {opened.P99Ms:0.00} ms, {opened.NotAllowed} refused, {opened.SocketErrors} socket errors; load average {BenchSupport.LoadAverage()}"));
        return 0;
    }

    private static string AgentId(int index) => "fleet-agent-" + index.ToString("D7", CultureInfo.InvariantCulture);

    /// <summary>Registers agents 0, 1, ... until <paramref name="count"/> or the time budget; returns how many were taken (registered or failed).</summary>
    private static async Task<int> RegisterAsync(IGrainFactory grains, int count, int parallel, int minutes)
    {
        var next = -1;
        long done = 0, failed = 0;
        var latencies = new List<double>[parallel];
        var watch = Stopwatch.StartNew();
        var until = minutes == 0 ? TimeSpan.MaxValue : TimeSpan.FromMinutes(minutes);
        var report = Math.Clamp(count / 20, 1, 25_000);
        var lastReport = (Done: 0L, At: TimeSpan.Zero);
        var reporting = new Lock();
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(async worker =>
        {
            var mine = latencies[worker] = [];
            int index;
            while (watch.Elapsed < until && (index = Interlocked.Increment(ref next)) < count)
            {
                var start = Stopwatch.GetTimestamp();
                if (!await RegisterOneAsync(grains, index)) Interlocked.Increment(ref failed);
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                var finished = Interlocked.Increment(ref done);
                if (finished % report != 0) continue;
                lock (reporting)
                {
                    var at = watch.Elapsed;
                    var since = lastReport;
                    lastReport = (finished, at);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {finished} registered at {DateTime.UtcNow:HH:mm:ss} UTC, {finished / at.TotalSeconds:0} agents/s so far, {(finished - since.Done) / (at - since.At).TotalSeconds:0}/s for the last {finished - since.Done}; " +
                        $"{Interlocked.Read(ref failed)} failed; load average {BenchSupport.LoadAverage()}"));
                }
            }
        }));
        var taken = (int)done;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        var stopped = taken < count ? $" (stopped after {minutes} minutes)" : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"registered {taken - failed} of {count} agents in {watch.Elapsed.TotalSeconds:0.0} s{stopped}: {taken / watch.Elapsed.TotalSeconds:0} agents/s, " +
            $"p50 {BenchSupport.Percentile(all, 0.5):0.00} ms, p99 {BenchSupport.Percentile(all, 0.99):0.00} ms per registration, {failed} failed; load average {BenchSupport.LoadAverage()}"));
        return taken;
    }

    /// <summary>
    /// One registration, tried up to three times: a long run on a loaded machine must not end at one call
    /// timeout or one storage failure the grain passes on (three of them count as failed). A retry answered
    /// Conflict found the agent registered by the try before.
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
            catch (Exception ex) when (ex is TimeoutException or AggregateException or Azure.RequestFailedException or OperationCanceledException)
            {
                if (attempt == 3) return false;
            }
        }
    }

    /// <summary>Pages through GET /v1/agents (every agent exactly once), until the last page or the time budget.</summary>
    private static async Task ListAsync(HttpClient http, int count, int pageSize, int minutes)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var duplicates = 0;
        var pageTimes = new List<double>();
        string? continuation = null;
        var watch = Stopwatch.StartNew();
        var until = minutes == 0 ? TimeSpan.MaxValue : TimeSpan.FromMinutes(minutes);
        var report = Math.Max(1, count / pageSize / 10);
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
            if (pageTimes.Count % report == 0)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {pageTimes.Count} pages, {seen.Count} agents listed, last page {pageTimes[^1]:0} ms; load average {BenchSupport.LoadAverage()}"));
        }
        while (continuation is not null && watch.Elapsed < until);
        var sorted = pageTimes.Order().ToArray();
        var outcome = continuation is not null ? $"stopped after {minutes} minutes, {duplicates} duplicates so far"
            : seen.Count == count && duplicates == 0 ? "every agent exactly once" : $"EXPECTED {count}, {duplicates} duplicates";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"listed {seen.Count} agents ({outcome}) in {pageTimes.Count} pages of up to {pageSize} " +
            $"in {watch.Elapsed.TotalSeconds:0.0} s: page p50 {BenchSupport.Percentile(sorted, 0.5):0.0} ms, max {sorted[^1]:0.0} ms; load average {BenchSupport.LoadAverage()}"));
    }

    /// <summary>
    /// What storage returns for one page of the agent listing (the index query the directory grain makes, run here through
    /// the silo's own <see cref="FleetIndex"/> code with a counting client): about a page of entities, whatever the fleet's size.
    /// Each listed agent's identity is then read by its grain (one point read per agent not active).
    /// </summary>
    private static async Task CountListingReadsAsync(FleetBenchHost host, int pageSize)
    {
        var reads = new StorageReadCounter();
        var index = new FleetIndex(host.CountingTables(reads), host.Cluster);
        var first = await index.ListAgentsAsync(pageSize, null);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"one listing page from the fleet index: {reads.Requests} storage requests returning {reads.Entities} entities for {first.Value?.AgentIds.Count ?? 0} agents"));
    }
}
