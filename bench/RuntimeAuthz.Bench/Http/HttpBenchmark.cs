using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;

namespace RuntimeAuthz.Bench.Http;

/// <summary>
/// Decisions over HTTP against a stateless peer in the same run: Azurite and a real silo process
/// (Release build, as ./start runs it), N open sessions of one agent, wrk driving
/// POST /access/v1/evaluation with the requests spread over the sessions; Cerbos 0.55 with the
/// equivalent resource policy, decision log to a file and then off. The systems alternate
/// (ours, Cerbos with log, Cerbos without, ours again, ...); each slot has a warm-up run that is not counted.
/// </summary>
public static class HttpBenchmark
{
    /// <param name="ProcessorTime">CPU used so far by the process answering (and, for ours, its storage: Azurite).</param>
    private sealed record Target(string Name, Uri Address, string Mode, string Bodies, string Token, Func<TimeSpan> ProcessorTime, Func<TimeSpan>? StorageProcessorTime = null);

    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        if (BenchSupport.HasFlag(args, "--history")) return await HistoryAsync(args);
        if (BenchSupport.HasFlag(args, "--opens")) return await OpensAsync(args);
        var seconds = BenchSupport.ArgValue(args, "--seconds", 20);
        var warmup = BenchSupport.ArgValue(args, "--warmup", 3);
        // Once per system before the first round: .NET's tiered JIT keeps recompiling hot methods (instrumented,
        // then optimized) for tens of seconds of load after start; a long-running silo is past that.
        var prime = BenchSupport.ArgValue(args, "--prime", 45);
        var rounds = BenchSupport.ArgValue(args, "--rounds", 2);
        var connections = BenchSupport.ArgValue(args, "--connections", 32);
        var threads = BenchSupport.ArgValue(args, "--threads", 2);
        var sessionCount = BenchSupport.ArgValue(args, "--sessions", 64);
        var evidence = !BenchSupport.HasFlag(args, "--no-evidence");
        var partitions = BenchSupport.ArgValue(args, "--evidence-partitions", RuntimeAuthz.Evidence.AzureTableEvidenceStore.DefaultSessionPartitions);
        var root = RepoPaths.Root;
        var script = Path.Combine(root, "bench", "http-decisions.lua");
        var wrk = Wrk.Ensure();
        var cerbosBinary = CerbosProcess.EnsureBinary(root);
        var work = Directory.CreateTempSubdirectory("bench-http-").FullName;

        await using var azurite = await BenchSupport.StartAzuriteAsync(args);
        // Silo configuration for experiments, e.g. --setting Evidence:RequestsInFlightPerPartition=2 (repeatable).
        var settings = BenchSupport.ArgValues(args, "--setting");
        await using var silo = await SiloProcess.StartAsync(root, azurite, evidence, Path.Combine(work, "silo.log"),
            [$"Evidence:SessionPartitions={partitions.ToString(CultureInfo.InvariantCulture)}", .. settings]);
        string[] sessions;
        using (var client = await silo.ConnectClientAsync())
        {
            var grains = client.Services.GetRequiredService<IGrainFactory>();
            await DecisionWorkload.SetUpAsync(grains);
            sessions = await DecisionWorkload.OpenSessionsAsync(grains, sessionCount);
            await client.StopAsync();
        }
        // A pep token when the silo authenticates (POST /dev/token); none before authentication existed.
        var token = await silo.DevTokenAsync("bench-pep", ["pep"], ["*"]) ?? "";
        var ours = Path.Combine(work, "authzen.jsonl");
        var cerbos = Path.Combine(work, "cerbos.jsonl");
        await File.WriteAllLinesAsync(ours, sessions.Select(AuthZenBody));
        await File.WriteAllLinesAsync(cerbos, sessions.Select((_, i) => CerbosBody(i)));

        await using var cerbosWithLog = await CerbosProcess.StartAsync(cerbosBinary, Path.Combine(root, "bench", "cerbos"), work, decisionLog: true);
        await using var cerbosNoLog = await CerbosProcess.StartAsync(cerbosBinary, Path.Combine(root, "bench", "cerbos"), work, decisionLog: false);
        Target[] targets =
        [
            new("RuntimeAuthz", silo.BaseAddress, "authz", ours, token, () => silo.ProcessorTime, () => azurite.ProcessorTime),
            new("Cerbos, file decision log", cerbosWithLog.BaseAddress, "cerbos", cerbos, "", () => cerbosWithLog.ProcessorTime),
            new("Cerbos, no decision log", cerbosNoLog.BaseAddress, "cerbos", cerbos, "", () => cerbosNoLog.ProcessorTime),
        ];

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(root)}, load average {BenchSupport.LoadAverage()}; evidence {(evidence ? $"on ({partitions} session partitions)" : "off")}, {sessionCount} sessions, " +
            $"wrk -t{threads} -c{connections}, {prime} s priming per system once, then {warmup} s warm-up + {seconds} s timed per slot, {rounds} rounds; bearer token {(token.Length > 0 ? "yes" : "no (silo without authentication)")}; " +
            $"Azurite {(azurite.InMemory ? "in memory" : "on disk")}{(settings.Length > 0 ? "; silo settings " + string.Join(" ", settings) : "")}"));
        Console.WriteLine("| round | system | decisions/s | p50 ms | p90 ms | p99 ms | max ms | not allowed | socket errors | server CPU µs/decision | Azurite CPU µs/decision | wrk CPU µs/decision |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        var results = targets.ToDictionary(t => t.Name, _ => new List<WrkResult>());
        if (prime > 0)
        {
            foreach (var target in targets)
                await Wrk.RunAsync(wrk, script, target.Address, connections, threads, TimeSpan.FromSeconds(prime), [target.Mode, target.Bodies, target.Token]);
        }
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var target in targets)
            {
                string[] scriptArgs = [target.Mode, target.Bodies, target.Token];
                await Wrk.RunAsync(wrk, script, target.Address, connections, threads, TimeSpan.FromSeconds(warmup), scriptArgs);
                var (serverBefore, storageBefore) = (target.ProcessorTime(), target.StorageProcessorTime?.Invoke());
                var result = await Wrk.RunAsync(wrk, script, target.Address, connections, threads, TimeSpan.FromSeconds(seconds), scriptArgs);
                var server = target.ProcessorTime() - serverBefore;
                var storage = target.StorageProcessorTime?.Invoke() - storageBefore;
                results[target.Name].Add(result);
                double PerDecision(TimeSpan cpu) => cpu.TotalMicroseconds / Math.Max(1, result.Requests);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {round} | {target.Name} | {result.PerSecond:0} | {result.P50Ms:0.00} | {result.P90Ms:0.00} | {result.P99Ms:0.00} | {result.MaxMs:0.0} | {result.NotAllowed} | {result.SocketErrors} | " +
                    $"{PerDecision(server):0} | {(storage is { } s ? PerDecision(s).ToString("0", CultureInfo.InvariantCulture) : "-")} | {PerDecision(result.ProcessorTime):0} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine("Means over the rounds:");
        Console.WriteLine("| system | decisions/s | p50 ms | p90 ms | p99 ms |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var (name, runs) in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {runs.Average(r => r.PerSecond):0} | {runs.Average(r => r.P50Ms):0.00} | {runs.Average(r => r.P90Ms):0.00} | {runs.Average(r => r.P99Ms):0.00} |"));
        }
        var us = results[targets[0].Name];
        foreach (var peer in targets.Skip(1))
        {
            var them = results[peer.Name];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RuntimeAuthz vs {peer.Name}: throughput {us.Average(r => r.PerSecond) / them.Average(r => r.PerSecond):0.00}x, " +
                $"p50 {us.Average(r => r.P50Ms) / them.Average(r => r.P50Ms):0.00}x, p99 {us.Average(r => r.P99Ms) / them.Average(r => r.P99Ms):0.00}x (ours / theirs)"));
        }
        if (us.Any(r => r.NotAllowed > 0)) Console.WriteLine($"warning: some of our answers were not Allow (see {silo.LogPath})");
        await silo.DisposeAsync();
        if (evidence) Console.WriteLine($"evidence batching over the whole run (warm-ups included): {EvidenceBatching.FromSiloLog(silo.LogPath)}");
        Console.WriteLine($"silo log: {silo.LogPath}; Cerbos decision log: {cerbosWithLog.DecisionLog} ({new FileInfo(cerbosWithLog.DecisionLog!).Length} bytes)");
        return 0;
    }

    /// <summary>
    /// `http --history`: does a decision's cost depend on how long its session is? Two sessions, one
    /// with 10 earlier decisions and one with N (10,000 by default, made through grain calls first),
    /// then one wrk connection decides in each in turn (short, long, short, long); p50 and p99 per session.
    /// </summary>
    private static async Task<int> HistoryAsync(string[] args)
    {
        var seconds = BenchSupport.ArgValue(args, "--seconds", 10);
        var earlier = BenchSupport.ArgValue(args, "--history-decisions", 10_000);
        var rounds = BenchSupport.ArgValue(args, "--rounds", 2);
        var root = RepoPaths.Root;
        var script = Path.Combine(root, "bench", "http-decisions.lua");
        var wrk = Wrk.Ensure();
        var work = Directory.CreateTempSubdirectory("bench-http-history-").FullName;
        await using var azurite = await BenchSupport.StartAzuriteAsync(args);
        await using var silo = await SiloProcess.StartAsync(root, azurite, evidence: true, Path.Combine(work, "silo.log"));
        string shortSession, longSession;
        using (var client = await silo.ConnectClientAsync())
        {
            var grains = client.Services.GetRequiredService<IGrainFactory>();
            await DecisionWorkload.SetUpAsync(grains);
            (shortSession, longSession) = (await DecisionWorkload.OpenSessionAsync(grains), await DecisionWorkload.OpenSessionAsync(grains));
            await DecideManyAsync(grains, shortSession, 10);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            await DecideManyAsync(grains, longSession, earlier);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{earlier} earlier decisions made in {watch.Elapsed.TotalSeconds:0.0} s"));
            await client.StopAsync();
        }
        var token = await silo.DevTokenAsync("bench-pep", ["pep"], ["*"]) ?? "";
        var bodies = new Dictionary<string, string>
        {
            ["10 earlier"] = Path.Combine(work, "short.jsonl"), [$"{earlier} earlier"] = Path.Combine(work, "long.jsonl"),
        };
        await File.WriteAllTextAsync(bodies["10 earlier"], AuthZenBody(shortSession) + "\n");
        await File.WriteAllTextAsync(bodies[$"{earlier} earlier"], AuthZenBody(longSession) + "\n");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(root)}, load average {BenchSupport.LoadAverage()}; evidence on, one session at a time, wrk -t1 -c1, 2 s warm-up + {seconds} s per slot"));
        Console.WriteLine("| round | session | decisions/s | p50 ms | p99 ms | not allowed |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: |");
        var p50s = bodies.Keys.ToDictionary(k => k, _ => new List<double>());
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var (name, path) in bodies)
            {
                string[] scriptArgs = ["authz", path, token];
                await Wrk.RunAsync(wrk, script, silo.BaseAddress, 1, 1, TimeSpan.FromSeconds(2), scriptArgs);
                var result = await Wrk.RunAsync(wrk, script, silo.BaseAddress, 1, 1, TimeSpan.FromSeconds(seconds), scriptArgs);
                p50s[name].Add(result.P50Ms);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {round} | {name} | {result.PerSecond:0} | {result.P50Ms:0.00} | {result.P99Ms:0.00} | {result.NotAllowed} |"));
            }
        }
        var (shortP50, longP50) = (p50s["10 earlier"].Average(), p50s[$"{earlier} earlier"].Average());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"p50 with {earlier} earlier decisions / p50 with 10: {longP50 / shortP50:0.00}x (target: at most 1.2x)"));
        return 0;
    }

    /// <summary>
    /// `http --opens`: sessions opened per second over HTTP (POST /v1/sessions with a pep token), spread
    /// over `--agents` registered agents, wrk `-c--connections`; CPU per open of the silo, Azurite and wrk.
    /// With `--count-storage` the silo reaches Azurite through <see cref="StorageRequestCounter"/>, and the
    /// storage requests per open of the measured run are printed too (independent of the machine's load).
    /// </summary>
    private static async Task<int> OpensAsync(string[] args)
    {
        var seconds = BenchSupport.ArgValue(args, "--seconds", 10);
        var agents = BenchSupport.ArgValue(args, "--agents", 100);
        var connections = BenchSupport.ArgValue(args, "--connections", 32);
        var warmup = BenchSupport.ArgValue(args, "--warmup", 2);
        var countStorage = BenchSupport.HasFlag(args, "--count-storage");
        var root = RepoPaths.Root;
        var wrk = Wrk.Ensure();
        var work = Directory.CreateTempSubdirectory("bench-http-opens-").FullName;
        await using var azurite = await BenchSupport.StartAzuriteAsync(args);
        await using var counter = countStorage ? StorageRequestCounter.For(azurite) : null;
        await using var silo = await SiloProcess.StartAsync(root, new SiloLaunch
        {
            StorageConnectionString = counter?.ConnectionString(azurite.ConnectionString) ?? azurite.ConnectionString,
            ServiceId = "bench-" + Guid.NewGuid().ToString("N")[..8], Evidence = true,
        }, Path.Combine(work, "silo.log"));
        var ids = Enumerable.Range(0, agents).Select(i => "open-agent-" + i.ToString("D5", CultureInfo.InvariantCulture)).ToArray();
        using (var client = await silo.ConnectClientAsync())
        {
            var grains = client.Services.GetRequiredService<IGrainFactory>();
            foreach (var id in ids)
            {
                var registered = await grains.GetGrain<RuntimeAuthz.Contracts.IAgentGrain>(id).Register(new RuntimeAuthz.Contracts.AgentRegistration { Name = "bench", Owner = "bench", Fleet = DecisionWorkload.Fleet });
                if (!registered.IsSuccess) throw new InvalidOperationException(registered.Message);
            }
            await client.StopAsync();
        }
        var token = await silo.DevTokenAsync("bench-pep", ["pep"], ["*"]) ?? "";
        var bodies = Path.Combine(work, "open-sessions.jsonl");
        await File.WriteAllLinesAsync(bodies, ids.Select(id => new JsonObject { ["agentId"] = id }.ToJsonString()));
        string[] scriptArgs = ["open", bodies, token];
        var script = Path.Combine(root, "bench", "http-decisions.lua");
        await Wrk.RunAsync(wrk, script, silo.BaseAddress, connections, 2, TimeSpan.FromSeconds(warmup), scriptArgs);
        var (siloBefore, azuriteBefore, kindsBefore) = (silo.ProcessorTime, azurite.ProcessorTime, counter?.ByKind());
        var opened = await Wrk.RunAsync(wrk, script, silo.BaseAddress, connections, 2, TimeSpan.FromSeconds(seconds), scriptArgs);
        var (siloCpu, azuriteCpu) = (silo.ProcessorTime - siloBefore, azurite.ProcessorTime - azuriteBefore);
        double PerOpen(TimeSpan cpu) => cpu.TotalMicroseconds / Math.Max(1, opened.Requests);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(root)}, load average {BenchSupport.LoadAverage()}; POST /v1/sessions over {agents} agents, wrk -t2 -c{connections}, {warmup} s warm-up + {seconds} s"));
        Console.WriteLine("| opened/s | p50 ms | p90 ms | p99 ms | refused | socket errors | silo CPU µs/open | Azurite CPU µs/open | wrk CPU µs/open |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {opened.Allowed / opened.Seconds:0} | {opened.P50Ms:0.00} | {opened.P90Ms:0.00} | {opened.P99Ms:0.00} | {opened.NotAllowed} | {opened.SocketErrors} | {PerOpen(siloCpu):0} | {PerOpen(azuriteCpu):0} | {PerOpen(opened.ProcessorTime):0} |"));
        counter?.Print(kindsBefore!, opened.Requests, "open");
        return 0;
    }

    /// <summary>Decisions in one session through grain calls, a few in flight (the grain takes them one at a time); every one must allow.</summary>
    private static async Task DecideManyAsync(IGrainFactory grains, string session, int count)
    {
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(8, count)).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= count)
            {
                var decision = await DecisionWorkload.DecideAsync(grains, session);
                if (decision.Outcome != RuntimeAuthz.Contracts.DecisionOutcome.Allow)
                    throw new InvalidOperationException($"a history decision was {decision.Outcome} ({decision.DenyReason})");
            }
        }));
    }

    private static string AuthZenBody(string session) => new JsonObject
    {
        ["subject"] = new JsonObject { ["type"] = "agent", ["id"] = DecisionWorkload.AgentId },
        ["action"] = new JsonObject { ["name"] = DecisionWorkload.Request.Action },
        ["resource"] = new JsonObject
        {
            ["type"] = DecisionWorkload.Request.ResourceType, ["id"] = DecisionWorkload.Request.ResourceId,
            ["properties"] = JsonNode.Parse(DecisionWorkload.Request.ResourcePropertiesJson!),
        },
        ["context"] = new JsonObject { ["session_id"] = session, ["tool_input"] = JsonNode.Parse(DecisionWorkload.Request.InputJson!) },
    }.ToJsonString();

    /// <summary>The same question for Cerbos: the agent (role agent, its fleet as an attribute) reading a document of its fleet.</summary>
    private static string CerbosBody(int index) => new JsonObject
    {
        ["requestId"] = "bench-" + index.ToString(CultureInfo.InvariantCulture),
        ["principal"] = new JsonObject
        {
            ["id"] = DecisionWorkload.AgentId, ["roles"] = new JsonArray("agent"), ["attr"] = new JsonObject { ["fleet"] = DecisionWorkload.Fleet },
        },
        ["resources"] = new JsonArray(new JsonObject
        {
            ["actions"] = new JsonArray(DecisionWorkload.Request.Action),
            ["resource"] = new JsonObject
            {
                ["kind"] = "document", ["id"] = DecisionWorkload.Request.ResourceId,
                ["attr"] = new JsonObject { ["fleet"] = DecisionWorkload.Fleet, ["path"] = "/reports/q3.pdf" },
            },
        }),
    }.ToJsonString();
}
