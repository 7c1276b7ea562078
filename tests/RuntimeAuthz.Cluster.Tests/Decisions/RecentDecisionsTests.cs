using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Cluster.Tests.Decisions;

/// <summary>
/// The ring of recent decisions keeps record sequence and risk in one word; values too large for it go to a side
/// table. Either way a decision reads back exactly as added, also once its slot is reused or superseded.
/// </summary>
public sealed class RecentDecisionsTests
{
    private static readonly DateTimeOffset At = new(2030, 1, 1, 8, 0, 0, TimeSpan.Zero);

    private static RecentDecision Made(int i, long sequence, long risk, DecisionOutcome outcome = DecisionOutcome.Allow) => new()
    {
        DecisionId = new Guid(i, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1]), Sequence = sequence, RiskAdded = risk, Outcome = outcome,
        At = At.AddTicks(i * 7_919), Action = "read_file", Resource = $"Document::\"{i}\"",
    };

    public static TheoryData<long, long> Values => new()
    {
        { 0, 0 },
        { 1, 5 },
        { (1L << 40) - 1, (1L << 24) - 2 },  // the largest that fit the word
        { 1L << 40, 0 },                      // a sequence past 40 bits
        { 7, (1L << 24) - 1 },                // the risk field's marker value itself
        { 7, long.MaxValue },
        { long.MaxValue, long.MaxValue },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void A_decision_reads_back_exactly_as_added(long sequence, long risk)
    {
        var recent = new RecentDecisions();
        recent.Add(Made(1, 3, 2));
        recent.Add(Made(2, sequence, risk, DecisionOutcome.Deny));
        recent.Add(Made(3, 9, 4));
        var read = recent[1];
        Assert.Equal((sequence, risk, DecisionOutcome.Deny, At.AddTicks(2 * 7_919)), (read.Sequence, read.RiskAdded, read.Outcome, read.At));
        Assert.Equal(1, recent.FindLast(read.DecisionId, sequence));
        Assert.Equal(-1, recent.FindLast(read.DecisionId, sequence - 1));
        Assert.Equal((3L, 2L), (recent[0].Sequence, recent[0].RiskAdded));
        Assert.Equal((9L, 4L), (recent[2].Sequence, recent[2].RiskAdded));
    }

    [Fact]
    public void A_reused_slot_forgets_the_large_values_of_the_decision_it_held()
    {
        var recent = new RecentDecisions();
        for (var i = 0; i < SessionLimits.MaxRecentDecisions; i++) recent.Add(Made(i, 1L << 45 | (uint)i, long.MaxValue - i));
        Assert.Equal(long.MaxValue - 5, recent[5].RiskAdded);
        // The ring is full: each new decision takes the oldest slot, with values that fit the word.
        for (var i = 0; i < SessionLimits.MaxRecentDecisions; i++) recent.Add(Made(1_000 + i, 10 + i, i));
        Assert.Equal(SessionLimits.MaxRecentDecisions, recent.Count);
        for (var i = 0; i < recent.Count; i++) Assert.Equal((10L + i, (long)i), (recent[i].Sequence, recent[i].RiskAdded));
        Assert.Equal(-1, recent.FindLast(Made(5, 0, 0).DecisionId));
    }

    [Fact]
    public void A_superseded_decision_takes_its_new_record_and_risk_in_either_form()
    {
        var recent = new RecentDecisions();
        recent.Add(Made(1, 4, 40));
        recent.Supersede(0, 1L << 50, DecisionOutcome.Deny, 1L << 33);
        Assert.Equal((1L << 50, 1L << 33, DecisionOutcome.Deny), (recent[0].Sequence, recent[0].RiskAdded, recent[0].Outcome));
        recent.Supersede(0, 6, DecisionOutcome.Allow, 0);
        Assert.Equal((6L, 0L, DecisionOutcome.Allow), (recent[0].Sequence, recent[0].RiskAdded, recent[0].Outcome));
        recent.MarkReported(0);
        Assert.True(recent[0].Reported);
        Assert.Equal(6L, recent[0].Sequence);
    }
}
