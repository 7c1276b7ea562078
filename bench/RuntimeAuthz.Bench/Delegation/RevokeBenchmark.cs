using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo;

namespace RuntimeAuthz.Bench.Delegation;

/// <summary>
/// Latency of the revoke call while one agent has many open, active sessions: a real silo host
/// (Localhost clustering, one silo) on Azurite, grain calls from inside the silo. Each cycle
/// grants a delegation, lets the sessions decide on it, then times
/// <see cref="IGovernanceGrain.RevokeGrant"/> (persist + governance event + one-way notices to
/// every open session) while background deciders keep running; after each revoke returns, a
/// decision in one of the sessions is checked to deny.
/// </summary>
public static class RevokeBenchmark
{
    public static int Run(string[] args)
    {
        var sessionCount = BenchSupport.ArgValue(args, "--sessions", 1000);
        var cycles = BenchSupport.ArgValue(args, "--cycles", 60);
        var deciders = BenchSupport.ArgValue(args, "--deciders", 16);
        var evidence = !args.Contains("--no-evidence");
        RunAsync(sessionCount, cycles, deciders, evidence).GetAwaiter().GetResult();
        return 0;
    }

    private static async Task RunAsync(int sessionCount, int cycles, int deciderCount, bool evidence)
    {
        await using var azurite = await AzuriteServer.StartAsync();
        var connection = azurite.ConnectionString;
        var service = "bench-revoke-" + Guid.NewGuid().ToString("N")[..8];
        var app = SiloHost.Build(
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Production",
            // Required to start; never contacted: the benchmark calls grains, not the HTTP API.
            "--Authentication:Authority=https://issuer.bench.invalid",
            $"--Storage:ConnectionString={connection}",
            $"--Orleans:ServiceId={service}", $"--Orleans:ClusterId={service}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}",
            $"--Evidence:Enabled={evidence}",
        ], builder => builder.Logging.SetMinimumLevel(LogLevel.Error));
        await app.StartAsync();
        try
        {
            Console.WriteLine($"evidence {(evidence ? "on" : "off")}");
            await MeasureAsync(app.Services.GetRequiredService<IGrainFactory>(), sessionCount, cycles, deciderCount);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task MeasureAsync(IGrainFactory grains, int sessionCount, int cycles, int deciderCount)
    {
        var published = await grains.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = """permit (principal is Agent, action == Action::"read_file", resource is Document);""", Author = "bench",
        });
        if (!published.IsSuccess) throw new InvalidOperationException(published.Message);
        const string agentId = "bench-revoke-agent";
        var agent = grains.GetGrain<IAgentGrain>(agentId);
        await agent.Register(new AgentRegistration { Name = "bench", Owner = "bench", Fleet = "bench" });
        var grantId = await GrantAsync(agent);

        var setup = Stopwatch.StartNew();
        var sessions = new string[sessionCount];
        for (var i = 0; i < sessionCount; i += 50)
        {
            await Task.WhenAll(Enumerable.Range(i, Math.Min(50, sessionCount - i)).Select(async n =>
            {
                sessions[n] = "bench-session-" + n.ToString(CultureInfo.InvariantCulture);
                var opened = await grains.GetGrain<IAgentSessionGrain>(sessions[n]).Open(new SessionOpenRequest
                {
                    AgentId = agentId, Lifetime = TimeSpan.FromDays(1), IdleTimeout = TimeSpan.FromDays(1),
                });
                if (!opened.IsSuccess) throw new InvalidOperationException(opened.Message);
            }));
        }
        // Every session decides once so all 1,000 are active (activated, allowed on the grant).
        await Eventually.UntilAsync("an Allow on the grant once the policy reaches the silo", () => DecideAsync(grains, sessions[0]), d => d.Outcome == DecisionOutcome.Allow,
            timeout: TimeSpan.FromSeconds(10), describe: d => $"{d.Outcome} {d.DenyReason}");
        for (var i = 0; i < sessionCount; i += 100)
            await Task.WhenAll(sessions.Skip(i).Take(100).Select(s => DecideAsync(grains, s)));
        Console.WriteLine($"{sessionCount} sessions opened and active in {setup.Elapsed.TotalSeconds:0.0} s; {deciderCount} background deciders; {cycles} grant/revoke cycles");

        using var stop = new CancellationTokenSource();
        var decisions = 0L;
        var background = Enumerable.Range(0, deciderCount).Select(d => Task.Run(async () =>
        {
            var random = new Random(d);
            while (!stop.IsCancellationRequested)
            {
                await DecideAsync(grains, sessions[random.Next(sessions.Length)]);
                Interlocked.Increment(ref decisions);
            }
        })).ToArray();

        var latencies = new List<double>(cycles);
        var afterChecks = 0;
        for (var cycle = 0; cycle < cycles + 5; cycle++)
        {
            if (cycle > 0) grantId = await GrantAsync(agent);
            await Task.Delay(20);
            var watch = Stopwatch.StartNew();
            var revoked = await grains.GetGrain<IGovernanceGrain>(0).RevokeGrant(agentId, grantId,
                new GovernanceActor { Actor = "bench", Reason = "cycle " + cycle.ToString(CultureInfo.InvariantCulture) });
            watch.Stop();
            if (!revoked.IsSuccess) throw new InvalidOperationException(revoked.Message);
            if (cycle >= 5) latencies.Add(watch.Elapsed.TotalMilliseconds); // first 5 are warm-up
            var check = await DecideAsync(grains, sessions[cycle % sessions.Length]);
            if (check.Outcome != DecisionOutcome.Deny) throw new InvalidOperationException("a decision after the revoke returned was not denied");
            afterChecks++;
        }
        stop.Cancel();
        await Task.WhenAll(background);

        latencies.Sort();
        Console.WriteLine("| sessions open | cycles | revoke p50 ms | revoke p90 ms | revoke p99 ms | max ms | background decisions | checked denies after revoke |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {sessionCount} | {latencies.Count} | {Percentile(latencies, 0.50):0.00} | {Percentile(latencies, 0.90):0.00} | {Percentile(latencies, 0.99):0.00} | {latencies[^1]:0.00} | {decisions} | {afterChecks} |"));
    }

    private static async Task<string> GrantAsync(IAgentGrain agent)
    {
        var granted = await agent.AddDelegation(new DelegationGrant
        {
            Actions = ["read_file"], Resources = ["Document::*"], GrantedBy = "bench", ExpiresAt = DateTimeOffset.UtcNow.AddDays(1),
        });
        if (!granted.IsSuccess) throw new InvalidOperationException(granted.Message);
        return granted.Value!.Id;
    }

    private static Task<AuthzDecision> DecideAsync(IGrainFactory grains, string session) =>
        grains.GetGrain<IAgentSessionGrain>(session).Decide(new DecisionRequest { Action = "read_file", ResourceType = "Document", ResourceId = "d" });

    private static double Percentile(List<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
