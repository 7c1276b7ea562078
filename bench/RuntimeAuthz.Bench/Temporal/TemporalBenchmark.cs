using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RuntimeAuthz.Policy;
using RuntimeAuthz.Policy.Temporal;

namespace RuntimeAuthz.Bench.Temporal;

/// <summary>
/// Decision latency of a session with 10 temporal policies (AgentCore's patterns) at 10, 1,000 and
/// 100,000 past events, and the size of the session's persisted temporal state. Events arrive one
/// per second, so with windows of at most 1h a session keeps at most 3,601 of them.
/// </summary>
public static class TemporalBenchmark
{
    private const string Policies = """
        permit ( principal, action, resource );

        // 1. session rate limit
        forbid ( principal, action == AgentCore::Action::"Tools___search", resource )
        when temporal { exists (n: Long). ((count for (t: Timepoint). where formerly within 1m (
            AgentCore::Action::"Tools___search"::request{ eventPrincipal: principal } && tp(t))) == n && n > 120) };

        // 2. cumulative amount cap
        forbid ( principal, action == AgentCore::Action::"Bank___transfer", resource )
        when temporal { exists (total: Long). ((sum a for (a: Long), (t: Timepoint). where formerly within 1h (
            AgentCore::Action::"Bank___transfer"::response{ input.amount: a } && tp(t))) == total && total >= 100000000) };

        // 3. output-to-input integrity with freshness
        forbid ( principal, action == AgentCore::Action::"Bank___transfer", resource )
        unless temporal { formerly within 10m AgentCore::Action::"Bank___lookup_account"::response{ output.accountId: context.input.toAccount } };

        // 4. one-time-use approval
        forbid ( principal, action == AgentCore::Action::"Pay___disburse", resource )
        unless temporal { !AgentCore::Action::"Pay___disburse"::response{ input.claimId: context.input.claimId }
            since within 1h AgentCore::Action::"Pay___approve_claim"::response{ output.claimId: context.input.claimId } };

        // 5. mutual exclusion
        forbid ( principal, action == AgentCore::Action::"Broker___sell", resource )
        when temporal { formerly within 1h AgentCore::Action::"Broker___buy"::response{ input.ticker: context.input.ticker } };

        // 6. workflow sequencing
        forbid ( principal, action == AgentCore::Action::"Shop___submit_order", resource )
        unless temporal { formerly within 30m AgentCore::Action::"Shop___validate_cart"::response{ input.cartId: context.input.cartId } };

        // 7. progressive trust decay
        forbid ( principal, action == AgentCore::Action::"Bank___transfer", resource )
        when { context.input.amount > 1000 }
        unless temporal { formerly within 10m AgentCore::Action::"Human___review"::response{ output.approved: true } };

        // 8. too many failures
        forbid ( principal, action == AgentCore::Action::"Files___delete", resource )
        when temporal { exists (n: Long). ((count for (t: Timepoint). where formerly within 5m (
            AgentCore::Action::"Files___delete"::error{ eventPrincipal: principal } && tp(t))) == n && n >= 3) };

        // 9. back-off right after a failed search
        forbid ( principal, action == AgentCore::Action::"Tools___search", resource )
        when temporal { previous within 5s AgentCore::Action::"Tools___search"::error{} };

        // 10. no export of a dataset classified secret within the hour
        forbid ( principal, action == AgentCore::Action::"Data___export", resource )
        when temporal { formerly within 1h AgentCore::Action::"Data___classify"::response{ input.dataset: context.input.dataset, output.level: "secret" } };
        """;

    private static readonly EntityUid Agent = new("AgentCore::OAuthUser", "agent-1");
    private static readonly EntityUid Gateway = new("AgentCore::Gateway", "gw");
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private sealed record Step(AuthorizationRequest Request, string Kind, CedarContext? Output);

    public static int Run(string[] args)
    {
        var set = TemporalPolicySet.Parse(Policies, "bench.dw");
        var blocks = set.Policies.Policies.Count(p => p.Text.Contains("temporal", StringComparison.Ordinal));
        Console.WriteLine($"temporal benchmark: {blocks} temporal policies + 1 permit; horizon {set.Horizon}; one event per second");
        var steps = Workload();
        Console.WriteLine("| past events | retained | p50 µs | p90 µs | p99 µs | state bytes (JSON) | allowed % |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        var p50s = new Dictionary<int, double>();
        foreach (var past in new[] { 10, 1_000, 100_000 })
        {
            var session = new TemporalSession(set);
            for (var i = 0; i < past; i++) Apply(session, steps[i % steps.Length], i);
            var state = session.ExportState();
            var stateJson = JsonSerializer.Serialize(state);
            var (p50, p90, p99, allowed) = Measure(set, state, steps, past);
            p50s[past] = p50;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {past:N0} | {session.RetainedEvents:N0} | {p50:F1} | {p90:F1} | {p99:F1} | {stateJson.Length:N0} | {allowed:F0} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"p50 at 100,000 / p50 at 10 = {p50s[100_000] / p50s[10]:F2}×"));
        return 0;
    }

    private static void Apply(TemporalSession session, Step step, long second)
    {
        var time = Start.AddSeconds(second);
        var id = "r" + second.ToString(CultureInfo.InvariantCulture);
        if (step.Kind == "request") session.Decide(step.Request, EntityStore.Empty, time, id, "s1");
        else session.RecordOutcome(step.Kind, step.Request, time, id, "s1", step.Output);
    }

    /// <summary>
    /// Times decisions on the session restored from <paramref name="state"/>; every past/10 decisions
    /// (at least 10) it is restored again (untimed), so the history stays within 10% of <paramref name="past"/>.
    /// </summary>
    private static (double P50, double P90, double P99, double AllowedPercent) Measure(TemporalPolicySet set, TemporalSessionState state, Step[] steps, int past)
    {
        var decisions = steps.Where(s => s.Kind == "request").ToArray();
        var samples = new List<double>();
        var allowed = 0;
        var total = 0;
        var clock = Stopwatch.StartNew();
        var warmUp = true;
        while (true)
        {
            if (warmUp && clock.Elapsed > TimeSpan.FromSeconds(1)) { warmUp = false; samples.Clear(); allowed = 0; total = 0; clock.Restart(); }
            if (!warmUp && clock.Elapsed > TimeSpan.FromSeconds(3)) break;
            var session = new TemporalSession(set, state);
            var round = Math.Max(10, past / 10);
            for (var k = 0; k < round; k++)
            {
                var step = decisions[(total + k) % decisions.Length];
                var time = Start.AddSeconds(past + k);
                var started = Stopwatch.GetTimestamp();
                var response = session.Decide(step.Request, EntityStore.Empty, time, "m" + k.ToString(CultureInfo.InvariantCulture), "s1");
                samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                if (response.Decision == Decision.Allow) allowed++;
            }
            total += round;
        }
        samples.Sort();
        double At(double q) => samples[Math.Min(samples.Count - 1, (int)(q * samples.Count))];
        return (At(0.50), At(0.90), At(0.99), 100.0 * allowed / Math.Max(1, total));
    }

    /// <summary>A repeating agent session: lookups before transfers, approvals before payouts, some errors.</summary>
    private static Step[] Workload()
    {
        AuthorizationRequest R(string tool, string input) =>
            new(Agent, new EntityUid("AgentCore::Action", tool), Gateway, CedarContext.FromJson($"{{\"input\": {input}}}"));
        CedarContext O(string json) => CedarContext.FromJson(json);
        var steps = new List<Step>();
        for (var i = 0; i < 20; i++)
        {
            var account = $"\"ACC-{i % 7}\"";
            var claim = $"\"C{i % 5}\"";
            steps.Add(new Step(R("Tools___search", "{\"query\": \"q\"}"), "request", null));
            steps.Add(new Step(R("Bank___lookup_account", "{\"name\": \"n\"}"), "request", null));
            steps.Add(new Step(R("Bank___lookup_account", "{\"name\": \"n\"}"), "response", O($"{{\"accountId\": {account}}}")));
            steps.Add(new Step(R("Bank___transfer", $"{{\"toAccount\": {account}, \"amount\": {100 + i}}}"), "request", null));
            steps.Add(new Step(R("Bank___transfer", $"{{\"toAccount\": {account}, \"amount\": {100 + i}}}"), "response", O("{\"ok\": true}")));
            steps.Add(new Step(R("Pay___approve_claim", $"{{\"claimId\": {claim}}}"), "response", O($"{{\"claimId\": {claim}}}")));
            steps.Add(new Step(R("Pay___disburse", $"{{\"claimId\": {claim}}}"), "request", null));
            steps.Add(new Step(R("Broker___sell", $"{{\"ticker\": \"T{i % 3}\"}}"), "request", null));
            steps.Add(new Step(R("Broker___buy", $"{{\"ticker\": \"T{i % 4}\"}}"), "response", O("{\"filled\": 1}")));
            steps.Add(new Step(R("Shop___validate_cart", $"{{\"cartId\": \"cart{i}\"}}"), "response", O("{\"valid\": true}")));
            steps.Add(new Step(R("Shop___submit_order", $"{{\"cartId\": \"cart{i}\"}}"), "request", null));
            steps.Add(new Step(R("Files___delete", "{\"path\": \"/tmp/x\"}"), i % 4 == 0 ? "error" : "request", null));
            steps.Add(new Step(R("Human___review", "{\"topic\": \"t\"}"), "response", O($"{{\"approved\": {(i % 2 == 0 ? "true" : "false")}}}")));
            steps.Add(new Step(R("Data___classify", $"{{\"dataset\": \"d{i % 6}\"}}"), "response", O($"{{\"level\": \"{(i % 3 == 0 ? "secret" : "public")}\"}}")));
            steps.Add(new Step(R("Data___export", $"{{\"dataset\": \"d{i % 5}\"}}"), "request", null));
        }
        return [.. steps];
    }
}
