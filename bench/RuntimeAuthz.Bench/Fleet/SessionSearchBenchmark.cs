using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Bench.Fleet;

/// <summary>
/// Session search at scale: seeds N sessions' index rows into Azurite (batch transactions of 100,
/// `--parallel` in flight), then times typical searches over HTTP against a real silo process:
/// one agent's recent sessions, the sessions denied in the last hour (fleet-wide and service-wide),
/// high risk in the last day, and pages deep into one fleet's results.
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
        var root = RepoPaths.Root;
        var work = Directory.CreateTempSubdirectory("bench-sessions-search-").FullName;
        await using var azurite = await AzuriteServer.StartAsync();
        await using var silo = await SiloProcess.StartAsync(root, azurite, evidence: false, Path.Combine(work, "silo.log"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(root)}; {count} sessions of {agents} agents in {fleets} fleets, active over the last {days} days"));

        var now = DateTimeOffset.UtcNow;
        var index = new SessionIndex(new TableServiceClient(azurite.ConnectionString), Options.Create(new ClusterOptions { ServiceId = silo.ServiceId }));
        var watch = Stopwatch.StartNew();
        const int chunk = 50_000;
        for (var from = 0; from < count; from += chunk)
        {
            await index.BulkWriteAsync(Enumerable.Range(from, Math.Min(chunk, count - from)).Select(i => Entry(i, agents, fleets, days, now)), parallel);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {Math.Min(from + chunk, count)} sessions seeded, {Math.Min(from + chunk, count) / watch.Elapsed.TotalSeconds:0} sessions/s so far"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"seeded {count} sessions (4 rows each) in {watch.Elapsed.TotalSeconds:0} s: {count / watch.Elapsed.TotalSeconds:0} sessions/s"));

        if (await silo.DevTokenAsync("bench-responder", ["responder"]) is { } token)
            silo.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        string Time(DateTimeOffset at) => Uri.EscapeDataString(at.ToString("O", CultureInfo.InvariantCulture));
        var hourAgo = Time(now.AddHours(-1));
        await TimeAsync(silo.Http, "one agent's 20 most recent sessions", $"agent={AgentId(4242 % agents)}&limit=20", repeats);
        await TimeAsync(silo.Http, "one fleet's sessions with denies, active in the last hour", $"fleet={FleetOf(7 % fleets)}&hasDenies=true&activeAfter={hourAgo}&limit=50", repeats);
        await TimeAsync(silo.Http, "service-wide sessions with denies, active in the last hour", $"hasDenies=true&activeAfter={hourAgo}&limit=50", repeats);
        await TimeAsync(silo.Http, "service-wide open sessions with risk >= 95, last day", $"status=open&minRisk=95&activeAfter={Time(now.AddDays(-1))}&limit=50", repeats);
        await DeepAsync(silo.Http, $"fleet={FleetOf(3 % fleets)}&limit=100", deepPages);
        return 0;
    }

    private static string AgentId(int i) => "search-agent-" + i.ToString("D6", CultureInfo.InvariantCulture);
    private static string FleetOf(int i) => "fleet-" + i.ToString("D2", CultureInfo.InvariantCulture);

    /// <summary>Session <paramref name="i"/>: activity spread evenly over the window, 10% with denies, risk 0..99, 5% closed.</summary>
    private static SessionIndexEntry Entry(int i, int agents, int fleets, int days, DateTimeOffset now)
    {
        var hash = (uint)HashCode.Combine(i, 17);
        var lastActivity = now.AddSeconds(-(hash % (uint)(days * 86_400)));
        var agent = (int)(hash / 7 % (uint)agents);
        return new SessionIndexEntry
        {
            SessionId = "s" + i.ToString("D8", CultureInfo.InvariantCulture), AgentId = AgentId(agent), Fleet = FleetOf(agent % fleets),
            Status = i % 20 == 0 ? SessionStatus.Closed : SessionStatus.Open,
            OpenedAt = lastActivity.AddMinutes(-(i % 60)), LastActivityAt = lastActivity, UsableUntil = lastActivity.AddMinutes(15 + i % 120),
            CumulativeRisk = i % 100, Decisions = 1 + i % 40, Denies = i % 10 == 0 ? 1 + i % 3 : 0, LastPolicyVersion = 1 + i % 3,
        };
    }

    private static async Task<JsonNode> GetAsync(HttpClient http, string query)
    {
        using var reply = await http.GetAsync("v1/sessions?" + query);
        var body = await reply.Content.ReadAsStringAsync();
        if (!reply.IsSuccessStatusCode) throw new InvalidOperationException($"GET /v1/sessions?{query}: {(int)reply.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    private static async Task TimeAsync(HttpClient http, string what, string query, int repeats)
    {
        await GetAsync(http, query); // warm-up
        var times = new double[repeats];
        var found = 0;
        for (var i = 0; i < repeats; i++)
        {
            var start = Stopwatch.GetTimestamp();
            found = (await GetAsync(http, query))["items"]!.AsArray().Count;
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: {found} found, p50 {BenchSupport.Percentile(times, 0.5):0.0} ms, p90 {BenchSupport.Percentile(times, 0.9):0.0} ms, max {times[^1]:0.0} ms ({repeats} runs)"));
    }

    /// <summary>Pages through one fleet's results and times each page: the last pages are as cheap as the first.</summary>
    private static async Task DeepAsync(HttpClient http, string query, int pages)
    {
        var times = new List<double>();
        string? continuation = null;
        var seen = 0;
        do
        {
            var start = Stopwatch.GetTimestamp();
            var page = await GetAsync(http, query + (continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation)));
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            seen += page["items"]!.AsArray().Count;
            continuation = page["continuation"]?.GetValue<string>();
        }
        while (continuation is not null && times.Count < pages);
        var sorted = times.Order().ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"one fleet, pages of 100 newest first: {times.Count} pages ({seen} sessions), first {times[0]:0.0} ms, page {times.Count} {times[^1]:0.0} ms, p50 {BenchSupport.Percentile(sorted, 0.5):0.0} ms, max {sorted[^1]:0.0} ms"));
    }
}
