using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Replay.PolicyTests;
using RuntimeAuthz.Replay.WhatIf;
using RuntimeAuthz.Silo.Http;
using Xunit.Abstractions;

namespace RuntimeAuthz.Cluster.Tests;

/// <summary>
/// What-if over recorded traffic against what the candidate then decides live: 10,000 decisions (temporal
/// policies, risk, outcomes, approvals, denials before the policies, redacted inputs) through a 2-silo
/// cluster with evidence on Azurite and a fake clock; the same calls are then made live under the candidate.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class WhatIfTests(ClusterEnvironment env, ITestOutputHelper output)
{
    private const int SessionCount = 100;
    private const int Rounds = 100;
    private static readonly TimeSpan RoundGap = TimeSpan.FromSeconds(20);
    /// <summary>Sessions whose call in <see cref="RedactedRound"/> carries a field the silos redact.</summary>
    private static bool HasRedactedCall(int session) => session % 20 == 7;
    private const int RedactedRound = 30;

    private const string Live = """
        @id("read-own-fleet") @risk("1")
        permit (principal, action == Action::"read_file", resource) when { resource has fleet && resource.fleet == principal.fleet };
        @id("search") @risk("5")
        permit (principal, action == Action::"search_web", resource);
        @id("lookup") @risk("2")
        permit (principal, action == Action::"lookup_account", resource);
        @id("transfer-after-lookup") @risk("10")
        permit (principal, action == Action::"transfer", resource)
        when temporal { formerly within 10m Action::"lookup_account"::response{ output.accountId: context.input.toAccount } };
        @id("pay") @approval("required") @risk("20")
        permit (principal, action == Action::"send_payment", resource);
        @id("no-deletes")
        forbid (principal, action == Action::"delete_database", resource);
        @id("risk-budget")
        forbid (principal, action, resource) when { context.session.risk > 300 };
        """;

    /// <summary>Reads any fleet's documents, searches cost more and stop after 60 decisions, lookups count for 5 minutes only, a lower budget.</summary>
    private const string Candidate = """
        @id("read-any-document") @risk("1")
        permit (principal, action == Action::"read_file", resource);
        @id("search") @risk("8")
        permit (principal, action == Action::"search_web", resource);
        @id("search-early-only")
        forbid (principal, action == Action::"search_web", resource) when { context.session.decisions >= 60 };
        @id("lookup") @risk("2")
        permit (principal, action == Action::"lookup_account", resource);
        @id("transfer-after-recent-lookup") @risk("10")
        permit (principal, action == Action::"transfer", resource)
        when temporal { formerly within 5m Action::"lookup_account"::response{ output.accountId: context.input.toAccount } };
        @id("pay") @approval("required") @risk("20")
        permit (principal, action == Action::"send_payment", resource);
        @id("no-deletes")
        forbid (principal, action == Action::"delete_database", resource);
        @id("risk-budget")
        forbid (principal, action, resource) when { context.session.risk > 250 };
        """;

    private static readonly string[] GrantedActions = ["read_file", "search_web", "lookup_account", "transfer", "send_payment", "delete_database"];

    /// <param name="Output">What the call returns when it runs (a lookup: the account it found).</param>
    private sealed record Call(string Action, string ResourceType, string ResourceId, string? Properties, string? Input, string Output = """{"ok": true}""");

    /// <summary>The call session <paramref name="session"/> makes in <paramref name="round"/>: the same in both runs.</summary>
    private static Call CallOf(int session, int round, string fleet)
    {
        var random = new Random(session * 7919 + round);
        var secret = HasRedactedCall(session) && round == RedactedRound ? ", \"secret\": \"s3cr3t\"" : "";
        return random.Next(100) switch
        {
            < 30 => new Call("read_file", "Document", $"doc-{random.Next(50)}",
                $$"""{"fleet": "{{(random.Next(2) == 0 ? fleet : "elsewhere")}}"}""", $$"""{"path": "/d/{{round}}"{{secret}}}"""),
            < 55 => new Call("search_web", "WebSearch", "web", null, $$"""{"query": "q{{random.Next(1000)}}"{{secret}}}"""),
            < 70 => Lookup(random.Next(5), secret),
            < 85 => new Call("transfer", "Ledger", "main", null, $$"""{"toAccount": "AC-{{random.Next(7)}}", "amount": {{random.Next(1, 500)}}{{secret}}}"""),
            < 90 => new Call("delete_database", "Database", "prod", null, $$"""{"why": "cleanup"{{secret}}}"""),
            < 95 => new Call("send_payment", "Account", "acme", null, $$"""{"amount": {{random.Next(1, 900)}}{{secret}}}"""),
            _ => new Call("format_disk", "Disk", "d1", null, $$"""{"force": true{{secret}}}"""), // granted to nobody: denied before the policies
        };
    }

    private static Call Lookup(int account, string secret) =>
        new("lookup_account", "Ledger", "main", null, $$"""{"name": "acct-{{account}}"{{secret}}}""", $$"""{"accountId": "AC-{{account}}"}""");

    [Fact]
    public async Task What_if_over_10000_recorded_decisions_agrees_exactly_with_the_candidate_live_and_never_guesses_redacted_inputs()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2032, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var table = "WhatIf" + Guid.NewGuid().ToString("N")[..10];
        var cluster = await env.StartClusterAsync(2, clock, silo => silo.Services.Configure<EvidenceOptions>(o =>
        {
            o.Table = table;
            o.Redact = ["/input/secret"];
            // Under the full suite's load an append sometimes outlasted the 8 s default: the caller is then denied
            // (no-evidence) and the record superseded, so the recorded and live runs no longer hold the same calls.
            // What-if agreement is the subject here; answers under a storage timeout are AnswerEqualsRecordTests'.
            o.AppendTimeout = EvidenceOptions.MaxAppendTimeout;
        }));
        var grains = cluster.Client;
        await PublishAsync(cluster, Live);
        var scenario = new Scenario(grains, clock.GetUtcNow);
        var fleets = new[] { "research", "finance" };
        var agents = new List<(string Id, string Fleet)>();
        for (var i = 0; i < 4; i++)
        {
            var fleet = fleets[i % 2];
            agents.Add((await scenario.NewAgentAsync(fleet, GrantedActions, ["*"], TimeSpan.FromDays(7)), fleet));
        }

        var recorded = await RunTrafficAsync(scenario, clock, agents);
        Assert.Equal(SessionCount * Rounds, recorded.Sum(s => s.Decisions.Count));

        // What-if over what the evidence recorded, before the candidate is published.
        var store = cluster.Silos[0].ServiceProvider.GetRequiredService<EvidenceRecorder>().Store;
        var options = new WhatIfOptions { KeepDecisions = true, MaxDecisions = WhatIfOptions.MaxMaxDecisions };
        var candidate = PolicySuiteRunner.Compile(Candidate, null, null, s => s);
        var sessions = await WhatIfEndpoints.LoadSessionsAsync(grains, store, options, CancellationToken.None);
        var report = WhatIfReplayer.Run(candidate, sessions, options, CancellationToken.None);

        // The same calls, live under the candidate, in new sessions at the same offsets.
        await PublishAsync(cluster, Candidate);
        var live = await RunTrafficAsync(scenario, clock, agents);

        output.WriteLine($"decisions {report.Decisions}, replayed {report.Replayed} (changed {report.Changed}), before policy {report.DecidedBeforePolicy}, not replayable {report.NotReplayable}: "
            + string.Join(", ", report.NotReplayableByReason.Select(r => $"{r.Key} {r.Value}")));
        output.WriteLine("changes: " + string.Join(", ", report.Changes.Select(c => $"{c.From}->{c.To} {c.Count}")));
        output.WriteLine("by policy: " + string.Join(", ", report.ByPolicy.Select(g => $"{g.Key} {g.Changed} (a->d {g.AllowToDeny}, d->a {g.DenyToAllow}, other {g.Other})")));
        Assert.Equal(SessionCount * Rounds, report.Decisions);
        Assert.Equal(SessionCount, report.Sessions);
        var replayed = report.All!.ToDictionary(d => d.DecisionId);
        var compared = 0;
        // A call denied because storage failed (fail closed: no-evidence, internal-error) was not decided by either policy,
        // and the session's later calls meet another history in the two runs: from there on the session is not compared.
        var cutFrom = Enumerable.Range(0, SessionCount).Select(s => Enumerable.Range(0, Rounds)
            .FirstOrDefault(r => StorageFailed(recorded[s].Decisions[r]) || StorageFailed(live[s].Decisions[r]), Rounds)).ToArray();
        var cutButReplayable = 0;
        for (var s = 0; s < SessionCount; s++)
        {
            for (var r = 0; r < Rounds; r++)
            {
                var before = recorded[s].Decisions[r];
                var after = live[s].Decisions[r];
                var whatIf = replayed[before.DecisionId.ToString()];
                Assert.Equal(before.Outcome.ToString(), whatIf.RecordedOutcome);
                if (HasRedactedCall(s) && r >= RedactedRound)
                {
                    Assert.Equal(ReplayStatus.NotReplayable, whatIf.Status);
                    Assert.Equal(r == RedactedRound ? NotReplayableReasons.Redacted : NotReplayableReasons.AfterUnreplayable, whatIf.NotReplayableReason);
                    continue;
                }
                if (r >= cutFrom[s])
                {
                    if (whatIf.Status != ReplayStatus.NotReplayable) cutButReplayable++;
                    continue;
                }
                if (whatIf.Status == ReplayStatus.NotReplayable)
                {
                    // Only after a call the candidate newly allows whose outcome the candidate's temporal rules read (lookups).
                    Assert.Equal(NotReplayableReasons.AfterNewlyAllowed, whatIf.NotReplayableReason);
                    continue;
                }
                var where = $"session {s} round {r} ({before.Action}): recorded {before.Outcome} {before.DenyReason}";
                Assert.True(after.Outcome.ToString() == whatIf.CandidateOutcome, $"{where}; what-if {whatIf.CandidateOutcome} {whatIf.CandidateDenyReason}, live {after.Outcome} {after.DenyReason}");
                Assert.Equal(after.DenyReason, whatIf.CandidateDenyReason);
                if (whatIf.Status == ReplayStatus.Replayed)
                    Assert.Equal(after.Reasons.Select(p => PolicySuiteRunner.NameOf(candidate, p)).Order(), whatIf.CandidatePolicies.Order());
                compared++;
            }
        }
        var redactedSessions = Enumerable.Range(0, SessionCount).Count(HasRedactedCall);
        Assert.Equal(redactedSessions, report.NotReplayableByReason[NotReplayableReasons.Redacted]);
        var cutSessions = cutFrom.Count(r => r < Rounds);
        output.WriteLine($"sessions cut short by a storage failure in either run: {cutSessions}");
        Assert.True(cutSessions <= SessionCount / 10, $"{cutSessions} sessions met a storage failure");
        Assert.Equal(SessionCount * Rounds - compared - cutButReplayable, report.NotReplayable);
        Assert.True(compared >= 8_000, $"only {compared} decisions were compared");
        // The candidate changes outcomes both ways, and the report says so per policy and agent.
        Assert.Equal(report.All!.Count(d => d.Changed), report.Changed);
        Assert.Contains(report.Changes, c => c.From == "Allow" && c.To == "Deny");
        Assert.Contains(report.Changes, c => c.From == "Deny" && c.To == "Allow");
        Assert.Contains(report.ByPolicy, g => g.Key == "search-early-only" && g.AllowToDeny > 0);
        Assert.Contains(report.ByPolicy, g => g.Key == "read-any-document" && g.DenyToAllow > 0);
        Assert.Equal(report.Changed, report.ByAgent.Sum(g => g.Changed));
        Assert.True(report.DecidedBeforePolicy > 0);
    }

    private static async Task PublishAsync(InProcessTestCluster cluster, string policies)
    {
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest { Policies = policies, Author = "what-if-tests" });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
    }

    private static bool StorageFailed(Made made) => made.DenyReason is EvidenceDenyReasons.NoEvidence or DenyReasons.InternalError;

    private sealed record Made(AuthzDecision Decision, string Action)
    {
        public Guid DecisionId => Decision.DecisionId;
        public DecisionOutcome Outcome => Decision.Outcome;
        public string? DenyReason => Decision.DenyReason;
        public IReadOnlyList<string> Reasons => Decision.Reasons;
    }

    private sealed record SessionRun(string SessionId, List<Made> Decisions);

    /// <summary>
    /// About 30 s of retries: in a full CI run (2026-12-03) five attempts over 2 s all met a decision record that
    /// could not be read yet, so a reporter keeps doing as told for longer than a loaded storage stalls.
    /// </summary>
    private const int MaxReportAttempts = 20;

    /// <summary>Opens one session per index, then plays the rounds: every session makes its call, then time moves on.</summary>
    private static async Task<List<SessionRun>> RunTrafficAsync(Scenario scenario, FakeTimeProvider clock, List<(string Id, string Fleet)> agents)
    {
        var runs = new List<SessionRun>();
        for (var s = 0; s < SessionCount; s++)
            runs.Add(new SessionRun(await scenario.OpenSessionAsync(agents[s % agents.Count].Id, TimeSpan.FromDays(2), TimeSpan.FromDays(1)), []));
        for (var r = 0; r < Rounds; r++)
        {
            clock.Advance(RoundGap);
            await Task.WhenAll(runs.Select(async (run, s) =>
            {
                var call = CallOf(s, r, agents[s % agents.Count].Fleet);
                var decision = await scenario.DecideAsync(run.SessionId, call.Action, call.ResourceType, call.ResourceId, call.Properties, call.Input);
                run.Decisions.Add(new Made(decision, call.Action));
                if (decision.Outcome != DecisionOutcome.Allow) return;
                var report = new OutcomeReport
                {
                    DecisionId = decision.DecisionId, Kind = SessionEventKind.Response, OutputJson = call.Output, ReportedBy = "what-if-tests",
                };
                // Under the full suite's load a report is sometimes refused as Unavailable, "report again shortly" (its decision's
                // record could not be read, or its own record was not confirmed in time), or storage does not answer
                // within its timeout while the session loads (over HTTP a 503 with Retry-After); a reporter does as told.
                // A record that was not confirmed may still land: the repeated report is then refused as already
                // reported, and the outcome is in the chain all the same.
                var retried = false;
                CommandResult<SessionEvent> reported = null!;
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        reported = await scenario.Grains.GetGrain<IAgentSessionGrain>(run.SessionId).ReportOutcome(report);
                        if (reported.Error != CommandError.Unavailable || attempt == MaxReportAttempts) break;
                    }
                    catch (Exception ex) when (attempt < MaxReportAttempts && TransientFailures.Classify(ex, CancellationToken.None) is not null)
                    {
                    }
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(200 * attempt, 2_000)));
                    retried = true;
                }
                var landedEarlier = retried && reported.ProblemType == ProblemTypes.OutcomeAlreadyReported;
                Assert.True(reported.IsSuccess || landedEarlier, reported.Message);
            }));
        }
        return runs;
    }
}
