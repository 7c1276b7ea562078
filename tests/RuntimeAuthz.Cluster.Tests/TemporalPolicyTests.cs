using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Cluster.Tests;

/// <summary>
/// The operators and AgentCore's temporal patterns through a live session grain: each case of
/// tests/data/dogwood (the same policy, trace and expected verdicts the replay tests use) is
/// published to a 1-silo cluster and its trace is played as grain calls — requests as decisions,
/// responses and errors as outcome reports — with time moved by a fake clock.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class TemporalPolicyTests(ClusterEnvironment env)
{
    private static readonly string CasesRoot = Path.Combine(RepoPaths.Root, "tests", "data", "dogwood");

    /// <summary>Every case: the operators (op_*) and AgentCore's patterns (agentcore_*).</summary>
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var directory in Directory.EnumerateDirectories(CasesRoot).Where(d => File.Exists(Path.Combine(d, "trace_1.log"))).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(directory));
        return data;
    }

    private sealed record TraceLine(long Seconds, string Tool, string Kind, string InputJson, string? OutputJson, string Session);

    [GeneratedRegex("""^@(?<ts>\d+) scope\([^)]*\) request_context\(.*?\) (\w+::)*Action::"(?<tool>[^"]+)"::(?<kind>\w+)\(input: (?<input>\{[^}]*\})(, output: (?<output>\{[^}]*\}))?(.*sessionId: "(?<session>[^"]+)")?.*\)$""")]
    private static partial Regex TraceLinePattern();

    [GeneratedRegex("\\b[A-Za-z_]\\w*::Action::\"")]
    private static partial Regex ActionNamespace();

    [GeneratedRegex("""(?<=[{,]\s*)(?<key>[A-Za-z_][A-Za-z0-9_]*)\s*:""")]
    private static partial Regex BareKey();

    private static string ToJson(string traceRecord) => BareKey().Replace(traceRecord, "\"${key}\":");

    private static List<TraceLine> ReadTrace(string path) =>
        [.. File.ReadAllLines(path).Where(l => l.Trim().Length > 0).Select(l =>
        {
            var m = TraceLinePattern().Match(l.Trim());
            Assert.True(m.Success, $"unreadable trace line: {l}");
            return new TraceLine(long.Parse(m.Groups["ts"].Value), m.Groups["tool"].Value, m.Groups["kind"].Value,
                ToJson(m.Groups["input"].Value), m.Groups["output"].Success ? ToJson(m.Groups["output"].Value) : null,
                m.Groups["session"].Success ? m.Groups["session"].Value : "s1");
        })];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Pattern_decides_in_a_live_session_grain_as_in_replay(string name)
    {
        var directory = Path.Combine(CasesRoot, name);
        var clock = new FakeTimeProvider(new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var cluster = await env.StartClusterAsync(1, clock);
        // Our cluster names actions Action::"tool" (no namespace); the policy is otherwise unchanged.
        var policy = ActionNamespace().Replace(File.ReadAllText(Path.Combine(directory, "policy_1.dw")), "Action::\"");
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest { Policies = policy, Author = "temporal-tests" });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);

        var tracePath = Path.Combine(directory, "trace_1.log");
        var trace = ReadTrace(tracePath);
        var (actual, refused) = await PlayAsync(cluster, clock, trace);
        // A trace may report outcomes of denied decisions, or twice; the grain refuses those (outcomes
        // are facts about allowed calls), so it must decide as the replay of the trace without them.
        var expected = refused.Count == 0
            ? File.ReadAllLines(Path.Combine(directory, "expected_1.out")).Where(l => l.Trim().Length > 0).ToList()
            : ReplayWithout(directory, tracePath, refused);
        Assert.Equal(expected.Select(l => l.Trim().EndsWith("true", StringComparison.Ordinal)), actual);
    }

    private static List<string> ReplayWithout(string directory, string tracePath, IReadOnlySet<int> dropped)
    {
        var eventPath = Path.Combine(directory, "event.dwschema");
        var events = File.Exists(eventPath) ? RuntimeAuthz.Policy.Temporal.EventSchema.Parse(File.ReadAllText(eventPath), eventPath) : RuntimeAuthz.Policy.Temporal.EventSchema.DogwoodDefault;
        var policies = RuntimeAuthz.Policy.Temporal.TemporalPolicySet.Parse(File.ReadAllText(Path.Combine(directory, "policy_1.dw")), "policy_1.dw", events);
        var kept = File.ReadAllLines(tracePath).Where(l => l.Trim().Length > 0).Where((_, i) => !dropped.Contains(i));
        return [.. RuntimeAuthz.Policy.Temporal.TemporalReplay.Run(policies, string.Join("\n", kept))];
    }

    /// <summary>Plays the trace; returns the verdicts and the outcome lines the grain refused (denied or already reported decision).</summary>
    private static async Task<(List<bool> Verdicts, IReadOnlySet<int> Refused)> PlayAsync(InProcessTestCluster cluster, FakeTimeProvider clock, List<TraceLine> trace)
    {
        var scenario = new Scenario(cluster.Client, clock.GetUtcNow);
        var tools = trace.Select(t => t.Tool).Distinct().ToArray();
        var agent = await scenario.NewAgentAsync(actions: tools, resources: ["Gateway::*"]);
        var sessions = new Dictionary<string, string>();
        var lastDecision = new Dictionary<(string, string), Guid>();
        var reportable = new HashSet<Guid>();
        var refused = new HashSet<int>();
        var start = clock.GetUtcNow();
        var verdicts = new List<bool>();
        foreach (var (line, index) in trace.Select((l, i) => (l, i)))
        {
            clock.SetUtcNow(start.AddSeconds(line.Seconds));
            if (!sessions.TryGetValue(line.Session, out var session))
                sessions[line.Session] = session = await scenario.OpenSessionAsync(agent, TimeSpan.FromDays(7), TimeSpan.FromDays(7));
            if (line.Kind == "request")
            {
                var decision = await scenario.DecideAsync(session, line.Tool, "Gateway", "gw1", input: line.InputJson);
                Assert.True(decision.DenyReason is null or DenyReasons.NotPermitted, $"@{line.Seconds} {line.Tool}: {decision.DenyReason}");
                verdicts.Add(decision.Outcome == DecisionOutcome.Allow);
                lastDecision[(line.Session, line.Tool)] = decision.DecisionId;
                if (decision.Outcome == DecisionOutcome.Allow) reportable.Add(decision.DecisionId);
            }
            else
            {
                var decisionId = lastDecision[(line.Session, line.Tool)];
                var reported = await cluster.Client.GetGrain<IAgentSessionGrain>(session).ReportOutcome(new OutcomeReport
                {
                    DecisionId = decisionId,
                    Kind = line.Kind == "error" ? SessionEventKind.Error : SessionEventKind.Response,
                    OutputJson = line.OutputJson,
                    Error = line.Kind == "error" ? "failed" : null,
                });
                if (reportable.Remove(decisionId))
                {
                    Assert.True(reported.IsSuccess, reported.Message);
                }
                else
                {
                    Assert.Equal(CommandError.Conflict, reported.Error);
                    refused.Add(index);
                }
            }
        }
        return (verdicts, refused);
    }

    [Fact]
    public async Task Temporal_history_survives_deactivation_of_the_session_grain()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var cluster = await env.StartClusterAsync(1, clock);
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = """
                permit ( principal, action == Action::"lookup", resource );
                permit ( principal, action == Action::"transfer", resource )
                when temporal { formerly within 10m Action::"lookup"::response{ output.accountId: context.input.to } };
                """,
            Author = "temporal-tests",
        });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
        var scenario = new Scenario(cluster.Client, clock.GetUtcNow);
        var agent = await scenario.NewAgentAsync(actions: ["lookup", "transfer"], resources: ["Gateway::*"]);
        var session = await scenario.OpenSessionAsync(agent);
        var lookup = await scenario.DecideAsync(session, "lookup", "Gateway", "gw1", input: """{"name":"bob"}""");
        Assert.Equal(DecisionOutcome.Allow, lookup.Outcome);
        var reported = await cluster.Client.GetGrain<IAgentSessionGrain>(session).ReportOutcome(new OutcomeReport
        {
            DecisionId = lookup.DecisionId, Kind = SessionEventKind.Response, OutputJson = """{"accountId":"ACC-7"}""",
        });
        Assert.True(reported.IsSuccess, reported.Message);

        // Every activation goes away; the next call activates the grain from storage.
        var management = cluster.Client.GetGrain<IManagementGrain>(0);
        await management.ForceActivationCollection(TimeSpan.Zero);
        clock.Advance(TimeSpan.FromMinutes(1));

        var allowed = await scenario.DecideAsync(session, "transfer", "Gateway", "gw1", input: """{"to":"ACC-7"}""");
        var denied = await scenario.DecideAsync(session, "transfer", "Gateway", "gw1", input: """{"to":"ACC-9"}""");
        Assert.Equal(DecisionOutcome.Allow, allowed.Outcome);
        Assert.Equal(DecisionOutcome.Deny, denied.Outcome);
        clock.Advance(TimeSpan.FromMinutes(10));
        var stale = await scenario.DecideAsync(session, "transfer", "Gateway", "gw1", input: """{"to":"ACC-7"}""");
        Assert.Equal(DecisionOutcome.Deny, stale.Outcome);
    }

    [Fact]
    public async Task Temporal_history_survives_the_failure_of_the_silo_hosting_the_session()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var cluster = await env.StartClusterAsync(2, clock);
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = """
                permit ( principal, action == Action::"approve_claim", resource );
                permit ( principal, action == Action::"disburse", resource )
                when temporal {
                    !Action::"disburse"::response{ input.claimId: context.input.claimId }
                    since within 1h Action::"approve_claim"::response{ output.claimId: context.input.claimId }
                };
                """,
            Author = "temporal-tests",
        });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
        var scenario = new Scenario(cluster.Client, clock.GetUtcNow);
        var agent = await scenario.NewAgentAsync(actions: ["approve_claim", "disburse"], resources: ["Gateway::*"]);
        var session = await scenario.OpenSessionAsync(agent);
        var grain = cluster.Client.GetGrain<IAgentSessionGrain>(session);
        var approve = await scenario.DecideAsync(session, "approve_claim", "Gateway", "gw1", input: """{"claimId":"C1"}""");
        Assert.True((await grain.ReportOutcome(new OutcomeReport { DecisionId = approve.DecisionId, OutputJson = """{"claimId":"C1"}""" })).IsSuccess);
        clock.Advance(TimeSpan.FromSeconds(5));
        var disburse = await scenario.DecideAsync(session, "disburse", "Gateway", "gw1", input: """{"claimId":"C1"}""");
        Assert.Equal(DecisionOutcome.Allow, disburse.Outcome);
        Assert.True((await grain.ReportOutcome(new OutcomeReport { DecisionId = disburse.DecisionId, OutputJson = """{"paid":true}""" })).IsSuccess);
        var approveOther = await scenario.DecideAsync(session, "approve_claim", "Gateway", "gw1", input: """{"claimId":"C2"}""");
        Assert.True((await grain.ReportOutcome(new OutcomeReport { DecisionId = approveOther.DecisionId, OutputJson = """{"claimId":"C2"}""" })).IsSuccess);

        await cluster.StartAdditionalSiloAsync();
        var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(grain);
        Assert.NotNull(host);
        await cluster.KillSiloAsync(cluster.Silos.Single(s => s.SiloAddress.Equals(host)));
        clock.Advance(TimeSpan.FromSeconds(5));

        var again = await Eventually.UntilAsync("the session to decide again after its silo was killed",
            () => scenario.DecideAsync(session, "disburse", "Gateway", "gw1", input: """{"claimId":"C1"}"""),
            d => d.DenyReason != DenyReasons.InternalError && d.DenyReason != DenyReasons.NoPolicy,
            timeout: TimeSpan.FromSeconds(90), interval: TimeSpan.FromMilliseconds(200), retryExceptions: true, attemptTimeout: TimeSpan.FromSeconds(10),
            describe: d => $"{d.Outcome} {d.DenyReason}");
        // The C1 approval was used before the crash, the C2 approval was not: the restored history knows both.
        Assert.Equal(DecisionOutcome.Deny, again.Outcome);
        Assert.Equal(DenyReasons.NotPermitted, again.DenyReason);
        var other = await scenario.DecideAsync(session, "disburse", "Gateway", "gw1", input: """{"claimId":"C2"}""");
        Assert.Equal(DecisionOutcome.Allow, other.Outcome);
    }

    [Fact]
    public async Task Over_http_a_reported_output_feeds_the_next_decision()
    {
        var host = await env.StartHostAsync("temporal-http-" + Guid.NewGuid().ToString("N")[..8], seed: false);
        var http = host.Http;
        Assert.Equal(System.Net.HttpStatusCode.Created, (await http.PostJsonAsync("/v1/agents", """{"id":"temporal-agent","name":"T","owner":"o@example.com","fleet":"research"}""")).Status);
        Assert.Equal(System.Net.HttpStatusCode.Created, (await http.PostJsonAsync("/v1/agents/temporal-agent/delegations",
            """{"actions":["lookup","transfer"],"resources":["Gateway::*"],"expiresAt":"2099-01-01T00:00:00Z"}""")).Status);
        var session = (await http.PostJsonAsync("/v1/sessions", """{"agentId":"temporal-agent"}""")).Json["id"]!.GetValue<string>();
        var policies = """
            permit ( principal, action == Action::"lookup", resource );
            permit ( principal, action == Action::"transfer", resource )
            when temporal { formerly within 10m Action::"lookup"::response{ output.accountId: context.input.to } };
            """;
        Assert.Equal(System.Net.HttpStatusCode.Created,
            (await http.PostJsonAsync("/v1/policies", new System.Text.Json.Nodes.JsonObject { ["policies"] = policies }.ToJsonString())).Status);

        var lookup = await Eventually.UntilAsync("an allowed lookup once the published policy reaches the cache",
            async () => (await http.PostJsonAsync($"/v1/sessions/{session}/decisions", """{"action":"lookup","resource":{"type":"Gateway","id":"gw1"},"input":{"name":"bob"}}""")).Json,
            json => json["outcome"]!.GetValue<string>() == "Allow", describe: json => json.ToJsonString());
        var lookupId = lookup["decisionId"]!.GetValue<string>();
        var transfer = $"/v1/sessions/{session}/decisions";
        const string toAcc7 = """{"action":"transfer","resource":{"type":"Gateway","id":"gw1"},"input":{"to":"ACC-7"}}""";
        Assert.Equal("Deny", (await http.PostJsonAsync(transfer, toAcc7)).Json["outcome"]!.GetValue<string>());
        var outcome = await http.PostJsonAsync($"/v1/sessions/{session}/outcomes", $$$"""{"decisionId":"{{{lookupId}}}","kind":"response","output":{"accountId":"ACC-7"}}""");
        Assert.Equal(System.Net.HttpStatusCode.Accepted, outcome.Status);
        Assert.Equal("Allow", (await http.PostJsonAsync(transfer, toAcc7)).Json["outcome"]!.GetValue<string>());
        Assert.Equal("Deny", (await http.PostJsonAsync(transfer, toAcc7.Replace("ACC-7", "ACC-9", StringComparison.Ordinal))).Json["outcome"]!.GetValue<string>());
        await host.StopAsync();
    }

    [Fact]
    public async Task Publishing_a_temporal_policy_that_breaks_an_acceptance_rule_is_refused_with_its_position()
    {
        var cluster = await env.GetSharedClusterAsync();
        var refused = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = "permit ( principal, action, resource )\nwhen temporal { formerly within 1h Action::\"lookup\"::response{ output.id: x } };",
            Author = "temporal-tests",
        });
        Assert.False(refused.IsSuccess);
        Assert.Contains("WF-Closed", JsonSerializer.Serialize(refused), StringComparison.Ordinal);
    }
}
