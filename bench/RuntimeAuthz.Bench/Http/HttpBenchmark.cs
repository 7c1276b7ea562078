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
    private sealed record Target(string Name, Uri Address, string Mode, string Bodies, string Token);

    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        var seconds = BenchSupport.ArgValue(args, "--seconds", 20);
        var warmup = BenchSupport.ArgValue(args, "--warmup", 3);
        var rounds = BenchSupport.ArgValue(args, "--rounds", 2);
        var connections = BenchSupport.ArgValue(args, "--connections", 32);
        var threads = BenchSupport.ArgValue(args, "--threads", 2);
        var sessionCount = BenchSupport.ArgValue(args, "--sessions", 64);
        var evidence = !BenchSupport.HasFlag(args, "--no-evidence");
        var root = RepoPaths.Root;
        var script = Path.Combine(root, "bench", "http-decisions.lua");
        var wrk = Wrk.Ensure();
        var cerbosBinary = CerbosProcess.EnsureBinary(root);
        var work = Directory.CreateTempSubdirectory("bench-http-").FullName;

        await using var azurite = await AzuriteServer.StartAsync();
        await using var silo = await SiloProcess.StartAsync(root, azurite, evidence, Path.Combine(work, "silo.log"));
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
            new("RuntimeAuthz", silo.BaseAddress, "authz", ours, token),
            new("Cerbos, file decision log", cerbosWithLog.BaseAddress, "cerbos", cerbos, ""),
            new("Cerbos, no decision log", cerbosNoLog.BaseAddress, "cerbos", cerbos, ""),
        ];

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {BenchSupport.GitCommit(root)}; evidence {(evidence ? "on" : "off")}, {sessionCount} sessions, " +
            $"wrk -t{threads} -c{connections}, {warmup} s warm-up + {seconds} s timed per slot, {rounds} rounds; bearer token {(token.Length > 0 ? "yes" : "no (silo without authentication)")}"));
        Console.WriteLine("| round | system | decisions/s | p50 ms | p90 ms | p99 ms | max ms | not allowed | socket errors |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        var results = targets.ToDictionary(t => t.Name, _ => new List<WrkResult>());
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var target in targets)
            {
                string[] scriptArgs = [target.Mode, target.Bodies, target.Token];
                await Wrk.RunAsync(wrk, script, target.Address, connections, threads, TimeSpan.FromSeconds(warmup), scriptArgs);
                var result = await Wrk.RunAsync(wrk, script, target.Address, connections, threads, TimeSpan.FromSeconds(seconds), scriptArgs);
                results[target.Name].Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {round} | {target.Name} | {result.PerSecond:0} | {result.P50Ms:0.00} | {result.P90Ms:0.00} | {result.P99Ms:0.00} | {result.MaxMs:0.0} | {result.NotAllowed} | {result.SocketErrors} |"));
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
        Console.WriteLine($"silo log: {silo.LogPath}; Cerbos decision log: {cerbosWithLog.DecisionLog} ({new FileInfo(cerbosWithLog.DecisionLog!).Length} bytes)");
        return 0;
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
