using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Sessions;
using RuntimeAuthz.Silo.Http;

namespace RuntimeAuthz.Bench.Fleet;

/// <summary>
/// Session search at scale: seeds N sessions' index rows into Azurite (in memory unless `--on-disk`)
/// with <see cref="SessionIndex.BulkWriteAsync"/>, the rows the sessions' grains write, then times typical
/// searches over HTTP against a real silo process: one agent's recent sessions, the sessions denied in the
/// last hour (fleet-wide and service-wide), high risk in the last day, and pages deep into one fleet's
/// results. Each search is also run once in the bench through the silo's own <see cref="SessionIndex"/>
/// code with a counting table client, to show what storage returned for it (requests, entities).
/// </summary>
public static class SessionSearchBenchmark
{
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var count = BenchSupport.ArgValue(args, "--sessions", 1_000_000);
        var agents = BenchSupport.ArgValue(args, "--agents", 10_000);
        var fleets = BenchSupport.ArgValue(args, "--fleets", 20);
        var days = BenchSupport.ArgValue(args, "--days", 7);
        var parallel = BenchSupport.ArgValue(args, "--parallel", 16);
        var repeats = BenchSupport.ArgValue(args, "--repeats", 20);
        var deepPages = BenchSupport.ArgValue(args, "--deep-pages", 50);
        // Seeding stops after this many minutes (0: none) and the searches run over what was seeded.
        var minutes = BenchSupport.ArgValue(args, "--minutes", 0);
        // Sessions per BulkWriteAsync call; the time budget is checked between calls. 10,000 is 100 agents' sessions at
        // the defaults, still about 88 rows per batch transaction, and a call short enough to stop near the budget.
        var chunk = BenchSupport.ArgValue(args, "--chunk", 10_000);
        await using var host = await FleetBenchHost.StartAsync(args, "sessions-search", evidence: false);
        host.PrintHeader($"{count} sessions of {agents} agents in {fleets} fleets, active over the last {days} days");

        var now = DateTimeOffset.UtcNow;
        var reads = new StorageReadCounter();
        var index = new SessionIndex(host.CountingTables(reads), host.Cluster);
        var seeded = await SeedAsync(host.Azurite, index, reads, count, chunk, parallel, minutes, i => Entry(i, count, agents, fleets, days, now));

        await host.AuthorizeAsync("bench-responder", "responder");
        string Time(DateTimeOffset at) => Uri.EscapeDataString(at.ToString("O", CultureInfo.InvariantCulture));
        var hourAgo = Time(now.AddHours(-1));
        var search = new Searcher(host.Silo.Http, index, reads, repeats);
        // An agent and a fleet that have sessions among those seeded (seeding may have stopped early).
        var sample = Entry(seeded / 2, count, agents, fleets, days, now);
        Console.WriteLine($"searches over {seeded} sessions ({seeded * 4} rows), agent {sample.AgentId}, fleet {sample.Fleet}; entities = what storage returned to the silo for one search; load average {BenchSupport.LoadAverage()}");
        await search.TimeAsync("one agent's 20 most recent sessions", $"agent={sample.AgentId}&limit=20");
        await search.TimeAsync("one fleet's sessions with denies, active in the last hour", $"fleet={sample.Fleet}&hasDenies=true&activeAfter={hourAgo}&limit=50");
        await search.TimeAsync("service-wide sessions with denies, active in the last hour", $"hasDenies=true&activeAfter={hourAgo}&limit=50");
        await search.TimeAsync("service-wide open sessions with risk >= 95, last day", $"status=open&minRisk=95&activeAfter={Time(now.AddDays(-1))}&limit=50");
        await search.DeepAsync($"fleet={sample.Fleet}&limit=100", deepPages);
        Console.WriteLine($"done; load average {BenchSupport.LoadAverage()}");
        return 0;
    }

    /// <summary>
    /// Seeds sessions 0..count-1 in chunks, until done or the time budget is spent; returns how many were seeded. Each
    /// progress line shows the CPU time Azurite spent on the chunk: on one Node thread, that is what limits the rate.
    /// </summary>
    private static async Task<int> SeedAsync(AzuriteServer azurite, SessionIndex index, StorageReadCounter requests, int count, int chunk, int parallel, int minutes,
        Func<int, SessionIndexEntry> entry)
    {
        var watch = Stopwatch.StartNew();
        var seeded = 0;
        requests.Reset();
        var azuriteCpu = azurite.ProcessorTime;
        while (seeded < count && (minutes == 0 || watch.Elapsed < TimeSpan.FromMinutes(minutes)))
        {
            var chunkStart = Stopwatch.GetTimestamp();
            var size = Math.Min(chunk, count - seeded);
            await index.BulkWriteAsync(Enumerable.Range(seeded, size).Select(entry), parallel);
            seeded += size;
            var elapsed = Stopwatch.GetElapsedTime(chunkStart).TotalSeconds;
            var cpu = azurite.ProcessorTime;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {DateTime.UtcNow:HH:mm:ss} {seeded} sessions seeded in {watch.Elapsed.TotalSeconds:0} s, {seeded / watch.Elapsed.TotalSeconds:0} sessions/s so far, " +
                $"{size / elapsed:0}/s for the last {size} ({elapsed:0.0} s, Azurite CPU {(cpu - azuriteCpu).TotalSeconds:0.0} s); " +
                $"{seeded * 4.0 / requests.Requests:0.0} rows per storage request; load average {BenchSupport.LoadAverage()}"));
            azuriteCpu = cpu;
        }
        var stopped = seeded < count ? $" (stopped after {minutes} minutes)" : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"seeded {seeded} of {count} sessions (4 rows each, {requests.Requests} storage requests) in {watch.Elapsed.TotalSeconds:0} s: {seeded / watch.Elapsed.TotalSeconds:0} sessions/s{stopped}; " +
            $"Azurite CPU {azurite.ProcessorTime.TotalSeconds:0} s in all"));
        return seeded;
    }

    private static string AgentId(int i) => "search-agent-" + i.ToString("D6", CultureInfo.InvariantCulture);
    private static string FleetOf(int i) => "fleet-" + i.ToString("D2", CultureInfo.InvariantCulture);

    /// <summary>
    /// Session <paramref name="i"/> of <paramref name="count"/>: activity spread evenly over the window, 10% with denies,
    /// risk 0..99, 5% closed. Consecutive sessions belong to the same agent and consecutive agents to the same fleet,
    /// so a chunk of sessions fills whole batch transactions in its agents' and its fleet's partitions (the rows are
    /// the same as in any order; only the number of requests to write them changes).
    /// </summary>
    private static SessionIndexEntry Entry(int i, int count, int agents, int fleets, int days, DateTimeOffset now)
    {
        var hash = (uint)HashCode.Combine(i, 17);
        var lastActivity = now.AddSeconds(-(hash % (uint)(days * 86_400)));
        var agent = (int)((long)i * agents / count);
        return new SessionIndexEntry
        {
            SessionId = "s" + i.ToString("D8", CultureInfo.InvariantCulture), AgentId = AgentId(agent), Fleet = FleetOf((int)((long)agent * fleets / agents)),
            Status = i % 20 == 0 ? SessionStatus.Closed : SessionStatus.Open,
            OpenedAt = lastActivity.AddMinutes(-(i % 60)), LastActivityAt = lastActivity, UsableUntil = lastActivity.AddMinutes(15 + i % 120),
            CumulativeRisk = i % 100, Decisions = 1 + i % 40, Denies = i % 10 == 0 ? 1 + i % 3 : 0, LastPolicyVersion = 1 + i % 3,
        };
    }

    /// <summary>Times searches over HTTP, and runs each once more through <see cref="SessionIndex"/> in the bench to count what storage returned.</summary>
    private sealed class Searcher(HttpClient http, SessionIndex index, StorageReadCounter reads, int repeats)
    {
        private async Task<JsonNode> GetAsync(string query)
        {
            using var reply = await http.GetAsync("v1/sessions?" + query);
            var body = await reply.Content.ReadAsStringAsync();
            if (!reply.IsSuccessStatusCode) throw new InvalidOperationException($"GET /v1/sessions?{query}: {(int)reply.StatusCode} {body}");
            return JsonNode.Parse(body)!;
        }

        /// <summary>The storage requests and entities returned for one search, read as the silo reads <c>GET /v1/sessions?query</c>.</summary>
        private async Task<string> CountAsync(string query)
        {
            var parsed = SessionSearchEndpoints.ReadQuery(new QueryCollection(QueryHelpers.ParseQuery(query)));
            reads.Reset();
            var page = await index.SearchAsync(parsed, DateTimeOffset.UtcNow);
            if (!page.IsSuccess) throw new InvalidOperationException($"search {query}: {page.Message}");
            return string.Create(CultureInfo.InvariantCulture, $"{reads.Requests} storage requests returning {reads.Entities} entities for {page.Value!.Items.Count} listed");
        }

        public async Task TimeAsync(string what, string query)
        {
            await GetAsync(query); // warm-up
            var times = new double[repeats];
            var found = 0;
            for (var i = 0; i < repeats; i++)
            {
                var start = Stopwatch.GetTimestamp();
                found = (await GetAsync(query))["items"]!.AsArray().Count;
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Array.Sort(times);
            var returned = await CountAsync(query);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{what}: {found} found, p50 {BenchSupport.Percentile(times, 0.5):0.0} ms, p90 {BenchSupport.Percentile(times, 0.9):0.0} ms, max {times[^1]:0.0} ms ({repeats} runs); " +
                $"{returned}; load average {BenchSupport.LoadAverage()}"));
        }

        /// <summary>Pages through one fleet's results and times each page: the last pages are as cheap as the first.</summary>
        public async Task DeepAsync(string query, int pages)
        {
            var times = new List<double>();
            string? continuation = null, last = null;
            var seen = 0;
            do
            {
                last = continuation;
                var start = Stopwatch.GetTimestamp();
                var page = await GetAsync(PageQuery(query, continuation));
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                seen += page["items"]!.AsArray().Count;
                continuation = page["continuation"]?.GetValue<string>();
            }
            while (continuation is not null && times.Count < pages);
            var sorted = times.Order().ToArray();
            var first = await CountAsync(query);
            var deep = await CountAsync(PageQuery(query, last));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"one fleet, pages of 100 newest first: {times.Count} pages ({seen} sessions), first {times[0]:0.0} ms, page {times.Count} {times[^1]:0.0} ms, " +
                $"p50 {BenchSupport.Percentile(sorted, 0.5):0.0} ms, max {sorted[^1]:0.0} ms; first page: {first}; page {times.Count}: {deep}; load average {BenchSupport.LoadAverage()}"));
        }

        private static string PageQuery(string query, string? continuation) =>
            query + (continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation));
    }
}
