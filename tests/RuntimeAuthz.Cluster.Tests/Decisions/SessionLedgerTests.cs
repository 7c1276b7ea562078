using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Cluster.Tests.Decisions;

/// <summary>The session state as its chain's records make it, without a cluster.</summary>
public sealed class SessionLedgerTests
{
    private static readonly DateTimeOffset Opened = new(2030, 1, 1, 8, 0, 0, TimeSpan.Zero);

    private static SessionLedger NewLedger() => SessionLedger.Open(new SessionInfo
    {
        Id = "s1", AgentId = "a1", Status = SessionStatus.Open, OpenedAt = Opened, ExpiresAt = Opened.AddHours(1),
        IdleTimeout = TimeSpan.FromMinutes(15), LastActivityAt = Opened,
    });

    private static EvidenceBody Decision(Guid id, string outcome, long risk, int second, long? supersedes = null) => new()
    {
        Chain = EvidenceChains.ForSession("s1"), Kind = EvidenceKinds.Decision, DecisionId = id.ToString(), Outcome = outcome,
        RiskAdded = risk == 0 ? null : risk, Time = EvidenceSealer.FormatTime(Opened.AddSeconds(second)), Action = "read_file",
        Resource = "Document::\"d\"", Supersedes = supersedes,
    };

    private static EvidenceBody Outcome(Guid id, int second) => new()
    {
        Chain = EvidenceChains.ForSession("s1"), Kind = EvidenceKinds.Outcome, DecisionId = id.ToString(), Report = "response",
        Time = EvidenceSealer.FormatTime(Opened.AddSeconds(second)),
    };

    private static readonly SessionReplay Active = new() { CountsAsActivity = true };

    /// <summary>A chain: allow (risk 5), deny, a late allow (risk 40) superseded by its Deny, an outcome, an expiring gate deny.</summary>
    private static List<(EvidenceBody Body, SessionReplay? Replay)> Chain(Guid allowed, Guid late) =>
    [
        (Decision(allowed, "Allow", 5, 1), Active),
        (Decision(Guid.NewGuid(), "Deny", 0, 2), Active),
        (Decision(late, "Allow", 40, 3), Active),
        (Decision(late, "Deny", 0, 4, supersedes: 3), new SessionReplay()),
        (Outcome(allowed, 5), null),
        (Decision(Guid.NewGuid(), "Deny", 0, 6), new SessionReplay { ExpiresSession = true }),
    ];

    private static void ApplyAll(SessionLedger ledger, IEnumerable<(EvidenceBody Body, SessionReplay? Replay)> records, long from = 1)
    {
        var seq = from;
        foreach (var (body, replay) in records)
        {
            ledger.Apply(body with { Sequence = seq }, replay, new EvidenceHead(seq, $"h{seq}"), policy: null, replayTemporal: true);
            seq++;
        }
    }

    [Fact]
    public void A_superseded_allow_adds_no_risk_and_counts_once_and_the_outcome_is_remembered_as_reported()
    {
        var (allowed, late) = (Guid.NewGuid(), Guid.NewGuid());
        var ledger = NewLedger();
        ApplyAll(ledger, Chain(allowed, late));

        var session = ledger.Session;
        Assert.Equal(5, session.CumulativeRisk);
        Assert.Equal(4, session.DecisionCount);
        Assert.Equal(SessionStatus.Expired, session.Status);
        Assert.Equal(Opened.AddSeconds(3), session.LastActivityAt);
        Assert.Equal((6L, 5L, 1L), (session.TotalEvents, session.RequestEvents, session.ResponseEvents));
        Assert.Equal(new EvidenceHead(6, "h6"), ledger.Head);
        Assert.True(ledger.FindDecision(allowed)!.Reported);
        Assert.Equal((DecisionOutcome.Deny, 0L, 4L), (ledger.FindDecision(late)!.Outcome, ledger.FindDecision(late)!.RiskAdded, ledger.FindDecision(late)!.Sequence));
    }

    [Fact]
    public void A_snapshot_plus_the_records_after_it_rebuilds_the_same_state_as_all_records()
    {
        var (allowed, late) = (Guid.NewGuid(), Guid.NewGuid());
        var records = Chain(allowed, late);
        var whole = NewLedger();
        ApplyAll(whole, records);

        for (var cut = 0; cut <= records.Count; cut++)
        {
            var partial = NewLedger();
            ApplyAll(partial, records.Take(cut));
            var rebuilt = SessionLedger.FromSnapshot(partial.ToSnapshot())!;
            ApplyAll(rebuilt, records.Skip(cut), from: cut + 1);

            Assert.Equal(whole.Session, rebuilt.Session);
            Assert.Equal(whole.Head, rebuilt.Head);
            Assert.Equal(whole.ToSnapshot().Recent, rebuilt.ToSnapshot().Recent);
        }
    }

    [Fact]
    public void A_long_session_remembers_its_last_decisions_for_outcomes_and_names_only_the_last_few()
    {
        var ledger = NewLedger();
        var ids = Enumerable.Range(0, 1000).Select(_ => Guid.NewGuid()).ToArray();
        ApplyAll(ledger, ids.Select((id, i) => (Decision(id, i % 3 == 0 ? "Deny" : "Allow", i % 5, i) with { Resource = $"Document::\"d{i}\"" }, (SessionReplay?)Active)));
        var firstKept = ids.Length - SessionLimits.MaxRecentDecisions;

        Assert.All(ids.Skip(firstKept), id => Assert.NotNull(ledger.FindDecision(id)));
        Assert.Null(ledger.FindDecision(ids[firstKept - 1]));
        var oldest = ledger.FindDecision(ids[firstKept])!;
        Assert.Equal((firstKept + 1L, Opened.AddSeconds(firstKept), firstKept % 5L, firstKept % 3 == 0 ? DecisionOutcome.Deny : DecisionOutcome.Allow, ""),
            (oldest.Sequence, oldest.At, oldest.RiskAdded, oldest.Outcome, oldest.Resource));
        Assert.Equal(ids.TakeLast(RecentDecisions.LabelledCount), ledger.Recent.Select(d => d.DecisionId));
        Assert.Equal("Document::\"d999\"", ledger.Recent[^1].Resource);
        Assert.Equal(1000, ledger.Session.DecisionCount);
        var rebuilt = SessionLedger.FromSnapshot(ledger.ToSnapshot())!;
        Assert.Equal(ledger.ToSnapshot().Recent, rebuilt.ToSnapshot().Recent);
        Assert.Equal(ledger.Recent, rebuilt.Recent);
    }

    [Fact]
    public void Records_map_to_timeline_events_and_refused_reports_are_not_events()
    {
        var id = Guid.NewGuid();
        SessionEvent? Event(EvidenceBody body) => SessionLedger.TimelineEvent(new EvidenceEntry(body.Chain, 7, EvidenceSealer.CanonicalBody(body with { Sequence = 7 }), "h", "s", "k"));

        var decision = Event(Decision(id, "Deny", 0, 1) with { DenyReason = "not-permitted", Detail = "no policy permits", PolicyVersion = 3 })!;
        var response = Event(Outcome(id, 2) with { Input = """{"decisionId":"x","output":{"bytes":42}}""" })!;
        var error = Event(Outcome(id, 2) with { Report = "error", Input = """{"decisionId":"x","error":"timeout"}""" })!;

        Assert.Equal((7L, SessionEventKind.Request, DecisionOutcome.Deny, 3L), (decision.Seq, decision.Kind, decision.Outcome!.Value, decision.PolicyVersion!.Value));
        Assert.Equal("not-permitted: no policy permits", decision.Detail);
        Assert.Equal((SessionEventKind.Response, """{"bytes":42}"""), (response.Kind, response.Detail));
        Assert.Equal((SessionEventKind.Error, "timeout"), (error.Kind, error.Detail));
        Assert.Null(Event(Outcome(id, 3) with { Kind = EvidenceKinds.OutcomeRefused }));
    }
}
