using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Replay;
using RuntimeAuthz.Replay.PolicyTests;
using RuntimeAuthz.Replay.WhatIf;

namespace RuntimeAuthz.Bench.WhatIf;

/// <summary>
/// What-if throughput: recorded decisions re-decided per second by <see cref="WhatIfReplayer"/>, in memory
/// (the cost of reading the evidence table is the evidence benchmarks'). The records are made by deciding
/// synthetic sessions under the live version (requests, outcomes of allowed calls), exactly as a session
/// grain would record them; the candidate differs in a temporal window, risk and a new forbid.
/// </summary>
public static class WhatIfBenchmark
{
    private const string Live = """
        @id("read") @risk("1") permit (principal, action == Action::"read_file", resource);
        @id("search") @risk("5") permit (principal, action == Action::"search_web", resource);
        @id("lookup") @risk("2") permit (principal, action == Action::"lookup_account", resource);
        @id("transfer-after-lookup") @risk("10") permit (principal, action == Action::"transfer", resource)
        when temporal { formerly within 10m Action::"lookup_account"::response{ output.accountId: context.input.toAccount } };
        @id("risk-budget") forbid (principal, action, resource) when { context.session.risk > 400 };
        """;

    private const string Candidate = """
        @id("read") @risk("1") permit (principal, action == Action::"read_file", resource);
        @id("search") @risk("8") permit (principal, action == Action::"search_web", resource);
        @id("search-early-only") forbid (principal, action == Action::"search_web", resource) when { context.session.decisions >= 60 };
        @id("lookup") @risk("2") permit (principal, action == Action::"lookup_account", resource);
        @id("transfer-after-recent-lookup") @risk("10") permit (principal, action == Action::"transfer", resource)
        when temporal { formerly within 5m Action::"lookup_account"::response{ output.accountId: context.input.toAccount } };
        @id("risk-budget") forbid (principal, action, resource) when { context.session.risk > 300 };
        """;

    public static int Run(string[] args)
    {
        var decisionsPerSession = BenchSupport.ArgValue(args, "--per-session", 100);
        var sessionCount = Math.Max(1, BenchSupport.ArgValue(args, "--decisions", 100_000) / decisionsPerSession);
        var live = PolicySuiteRunner.Compile(Live, null, null, s => s);
        var candidate = PolicySuiteRunner.Compile(Candidate, null, null, s => s);
        var start = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var agent = new AgentInfo
        {
            Id = "bench-agent", Name = "bench", Owner = "o", Fleet = "f", Status = AgentStatus.Active,
            Delegations = [new global::RuntimeAuthz.Contracts.Delegation { Id = "g", Actions = ["*"], Resources = ["*"], GrantedAt = start, ExpiresAt = DateTimeOffset.MaxValue }],
        };
        var recording = Stopwatch.StartNew();
        var sessions = Enumerable.Range(0, sessionCount).Select(s => Record(live, agent, s, decisionsPerSession, start)).ToList();
        var recorded = sessions.Sum(s => s.Records.Count(r => r.Kind == EvidenceKinds.Decision));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"what-if: {recorded:N0} recorded decisions in {sessionCount:N0} sessions (+ their outcomes), made in {recording.Elapsed.TotalSeconds:0.0} s"));

        var options = new WhatIfOptions { MaxDecisions = WhatIfOptions.MaxMaxDecisions };
        WhatIfReplayer.Run(candidate, sessions.Take(Math.Max(1, sessionCount / 20)), options, CancellationToken.None); // warm-up
        foreach (var round in Enumerable.Range(1, 3))
        {
            var timer = Stopwatch.StartNew();
            var report = WhatIfReplayer.Run(candidate, sessions, options, CancellationToken.None);
            var seconds = timer.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  round {round}: {report.Decisions:N0} re-decided in {seconds:0.00} s = {report.Decisions / seconds:N0} decisions/s; {report.Changed:N0} change ({string.Join(", ", report.Changes.Select(c => $"{c.From}->{c.To} {c.Count:N0}"))}), {report.NotReplayable:N0} not replayable ({string.Join(", ", report.NotReplayableByReason.Select(r => $"{r.Key} {r.Value:N0}"))})"));
        }
        return 0;
    }

    /// <summary>One session decided under the live version, recorded as the session grain records it.</summary>
    private static RecordedSession Record(CompiledPolicy live, AgentInfo agent, int index, int decisions, DateTimeOffset start)
    {
        var sessionId = $"bench-{index}";
        var session = new OfflineSession(live, agent, sessionId, start);
        var random = new Random(index);
        var records = new List<EvidenceBody>();
        var redactor = new EvidenceRedactor();
        for (var i = 0; i < decisions; i++)
        {
            var at = start + TimeSpan.FromSeconds(20 * (i + 1));
            var account = random.Next(6);
            var (action, input) = random.Next(4) switch
            {
                0 => ("read_file", $$"""{"path": "/d/{{i}}"}"""),
                1 => ("search_web", $$"""{"query": "q{{random.Next(1000)}}"}"""),
                2 => ("lookup_account", $$"""{"name": "acct-{{account}}"}"""),
                _ => ("transfer", $$"""{"toAccount": "AC-{{account}}", "amount": {{random.Next(1, 500)}}}"""),
            };
            var request = new DecisionRequest { Action = action, ResourceType = "Tool", ResourceId = action, InputJson = input };
            var decisionId = Guid.NewGuid();
            var verdict = session.Decide(request, decisionId, at);
            records.Add(new EvidenceBody
            {
                Chain = EvidenceChains.ForSession(sessionId), Sequence = records.Count + 1, Time = EvidenceSealer.FormatTime(at), Kind = EvidenceKinds.Decision,
                DecisionId = decisionId.ToString(), AgentId = agent.Id, SessionId = sessionId, Action = action, Resource = $"Tool::\"{action}\"",
                Input = redactor.Prepare(DecisionEvidence.InputOf(request)).Stored, Outcome = verdict.Outcome.ToString(), DenyReason = verdict.DenyReason,
                DeterminingPolicies = verdict.Reasons, PolicyVersion = 1, RiskAdded = verdict.RiskAdded == 0 ? null : verdict.RiskAdded,
            });
            if (verdict.Outcome != DecisionOutcome.Allow) continue;
            var output = action == "lookup_account" ? $$"""{"accountId": "AC-{{account}}"}""" : """{"ok": true}""";
            session.ReportOutcome(decisionId, false, output, ReporterKinds.Agent, at + TimeSpan.FromSeconds(1));
            records.Add(new EvidenceBody
            {
                Chain = EvidenceChains.ForSession(sessionId), Sequence = records.Count + 1, Time = EvidenceSealer.FormatTime(at + TimeSpan.FromSeconds(1)),
                Kind = EvidenceKinds.Outcome, DecisionId = decisionId.ToString(), SessionId = sessionId, Action = action, Report = "response",
                ReporterKind = ReporterKinds.Agent,
                Input = redactor.Prepare(new JsonObject { ["decisionId"] = decisionId.ToString(), ["output"] = JsonNode.Parse(output), ["error"] = null }).Stored,
            });
        }
        return new RecordedSession(sessionId, agent, start, records);
    }
}
