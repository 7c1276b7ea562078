using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Replay.PolicyTests;
using RuntimeAuthz.Replay.WhatIf;

namespace RuntimeAuthz.Replay.Tests;

/// <summary>The replay rules over hand-made records: what is re-decided, what stays, and what is never guessed.</summary>
public sealed class WhatIfReplayerTests
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly AgentInfo Agent = new() { Id = "a1", Fleet = "f", Status = AgentStatus.Suspended };

    private static EvidenceBody Decision(int seq, string action, string outcome, string? denyReason = null, string? input = null) => new()
    {
        Chain = "session:s1", Sequence = seq, Time = EvidenceSealer.FormatTime(Start.AddSeconds(seq * 10)), Kind = EvidenceKinds.Decision,
        DecisionId = Guid.NewGuid().ToString(), AgentId = "a1", SessionId = "s1", Action = action, Resource = "T::\"1\"",
        Input = input ?? new EvidenceRedactor().Prepare(DecisionEvidence.InputOf(new DecisionRequest { Action = action, ResourceType = "T", ResourceId = "1", InputJson = "{}" })).Stored,
        Outcome = outcome, DenyReason = denyReason, PolicyVersion = 1,
    };

    private static IReadOnlyList<ReplayedDecision> Replay(string candidate, AgentInfo? agent, params EvidenceBody[] records) =>
        WhatIfReplayer.Run(PolicySuiteRunner.Compile(candidate, null, null, s => s), [new RecordedSession("s1", agent, Start, records)],
            new WhatIfOptions { KeepDecisions = true }, CancellationToken.None).All!;

    [Fact]
    public void Decisions_are_re_decided_with_the_status_they_had_and_denials_before_the_policies_stay()
    {
        var decisions = Replay("@id(\"only-a\") permit (principal, action == Action::\"a\", resource) unless { principal.status != \"active\" };", Agent,
            Decision(1, "a", "Deny", DenyReasons.NotPermitted), Decision(2, "b", "Allow"), Decision(3, "a", "Deny", DenyReasons.NoDelegation));

        // The agent is suspended now, but was active when these reached the policies.
        Assert.Equal(("Allow", ReplayStatus.Replayed), (decisions[0].CandidateOutcome, decisions[0].Status));
        Assert.Equal(["only-a"], decisions[0].CandidatePolicies);
        Assert.Equal(("Deny", DenyReasons.NotPermitted), (decisions[1].CandidateOutcome, decisions[1].CandidateDenyReason));
        Assert.Equal((ReplayStatus.DecidedBeforePolicy, DenyReasons.NoDelegation), (decisions[2].Status, decisions[2].CandidateDenyReason));
        Assert.True(decisions[0].Changed && decisions[1].Changed && !decisions[2].Changed);
    }

    [Theory]
    [InlineData("""{"action":"a","agentId":null,"context":null,"input":{"key":"[redacted]"},"resource":{"id":"1","properties":null,"type":"T"}}""", false, NotReplayableReasons.Redacted)]
    [InlineData("""{"action":"a","agentId":null,"context":null,"input":{"x":1},"resource":{"id":"1","prop""", true, NotReplayableReasons.Truncated)]
    [InlineData("""{"action":"a","agentId":null,"context":{"unparsed":"{not json"},"input":{},"resource":{"id":"1","properties":null,"type":"T"}}""", false, NotReplayableReasons.Unparsed)]
    public void An_input_not_fully_recorded_is_not_replayable_nor_is_the_rest_of_its_session(string input, bool truncated, string reason)
    {
        var decisions = Replay("permit (principal, action, resource);", Agent,
            Decision(1, "a", "Allow"), Decision(2, "a", "Allow", input: input) with { InputTruncated = truncated ? true : null }, Decision(3, "a", "Allow"));

        Assert.Equal(ReplayStatus.Replayed, decisions[0].Status);
        Assert.Equal((ReplayStatus.NotReplayable, reason), (decisions[1].Status, decisions[1].NotReplayableReason));
        Assert.Equal((ReplayStatus.NotReplayable, NotReplayableReasons.AfterUnreplayable), (decisions[2].Status, decisions[2].NotReplayableReason));
    }

    [Fact]
    public void Approvals_used_superseded_answers_and_vanished_agents_are_not_replayable()
    {
        var first = Decision(1, "a", "Allow");
        var decisions = Replay("permit (principal, action, resource);", Agent,
            first, Decision(2, "a", "Deny", DenyReasons.InternalError) with { DecisionId = first.DecisionId, Supersedes = 1 });
        Assert.Equal(NotReplayableReasons.Superseded, Assert.Single(decisions).NotReplayableReason);

        var used = Replay("permit (principal, action, resource);", Agent,
            Decision(1, "a", "Allow") with { Approval = new ApprovalEvidence { Id = "ap1", Act = ApprovalActs.Consumed } });
        Assert.Equal(NotReplayableReasons.UsesApproval, Assert.Single(used).NotReplayableReason);

        var gone = Replay("permit (principal, action, resource);", null, Decision(1, "a", "Allow"));
        Assert.Equal(NotReplayableReasons.UnknownAgent, Assert.Single(gone).NotReplayableReason);
    }

    [Fact]
    public void A_newly_allowed_call_makes_the_rest_unknown_only_when_temporal_rules_read_its_outcome()
    {
        var reads = """
            permit (principal, action == Action::"lookup", resource);
            permit (principal, action == Action::"pay", resource) when temporal { formerly within 10m Action::"lookup"::response{} };
            """;
        var decisions = Replay(reads, Agent, Decision(1, "lookup", "Deny", DenyReasons.NotPermitted), Decision(2, "pay", "Deny", DenyReasons.NotPermitted));
        Assert.Equal("Allow", decisions[0].CandidateOutcome);
        Assert.Equal(NotReplayableReasons.AfterNewlyAllowed, decisions[1].NotReplayableReason);

        var ignores = reads.Replace("Action::\"lookup\"::response", "Action::\"other\"::response", StringComparison.Ordinal);
        var unaffected = Replay(ignores, Agent, Decision(1, "lookup", "Deny", DenyReasons.NotPermitted), Decision(2, "pay", "Deny", DenyReasons.NotPermitted));
        Assert.Equal((ReplayStatus.Replayed, "Deny"), (unaffected[1].Status, unaffected[1].CandidateOutcome));
    }

    [Fact]
    public void Filters_limits_and_since_bound_what_is_reported()
    {
        var records = Enumerable.Range(1, 10).Select(i => Decision(i, "a", "Allow")).ToArray();
        var candidate = PolicySuiteRunner.Compile("permit (principal, action, resource);", null, null, s => s);
        RecordedSession[] sessions = [new("s1", Agent, Start, records)];

        var limited = WhatIfReplayer.Run(candidate, sessions, new WhatIfOptions { MaxDecisions = 4 }, CancellationToken.None);
        Assert.Equal((4, true), (limited.Decisions, limited.Truncated));
        var recent = WhatIfReplayer.Run(candidate, sessions, new WhatIfOptions { Since = Start.AddSeconds(75) }, CancellationToken.None);
        Assert.Equal(3, recent.Decisions);
        Assert.Equal(0, WhatIfReplayer.Run(candidate, sessions, new WhatIfOptions { Fleet = "other" }, CancellationToken.None).Decisions);
        Assert.Equal(10, WhatIfReplayer.Run(candidate, sessions, new WhatIfOptions { AgentId = "a1" }, CancellationToken.None).Decisions);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => WhatIfReplayer.Run(candidate, sessions, new WhatIfOptions(), cancelled.Token));
    }
}
