using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Sessions;

/// <summary>
/// The session's last <see cref="SessionLimits.MaxRecentDecisions"/> decisions, 40 bytes each (id, record,
/// time, outcome, reported, risk added): what outcome reports, their at-most-once check and superseding records
/// need. Action and resource are kept for the last <see cref="LabelledCount"/> only (an approval request's
/// timeline summary); the others' are in their evidence records, read when an outcome is reported.
/// </summary>
internal sealed class RecentDecisions
{
    public const int LabelledCount = Approvals.ApprovalStage.TimelineSummaryLength;

    private Mark[] marks = [];
    /// <summary>Where the oldest is once the ring is full (before that, at 0).</summary>
    private int oldest;
    private (string Action, string Resource)[]? labels;
    /// <summary>Decisions ever added: the labels' ring is indexed by it.</summary>
    private long added;

    public int Count { get; private set; }

    public void Add(RecentDecision decision)
    {
        var mark = new Mark(decision.DecisionId, decision.Sequence, decision.RiskAdded, Mark.Pack(decision.At, decision.Outcome, decision.Reported));
        if (Count < SessionLimits.MaxRecentDecisions)
        {
            // Grown by doubling, so that a session that decides little keeps a small array.
            if (Count == marks.Length) Array.Resize(ref marks, Math.Min(SessionLimits.MaxRecentDecisions, Math.Max(4, marks.Length * 2)));
            marks[Count++] = mark;
        }
        else
        {
            marks[oldest] = mark;
            oldest = (oldest + 1) % marks.Length;
        }
        labels ??= new (string, string)[LabelledCount];
        var previous = added == 0 ? default : labels[(int)((added - 1) % LabelledCount)];
        // Consecutive calls usually name the same action (and often the same resource): share the strings.
        labels[(int)(added % LabelledCount)] = (decision.Action == previous.Action ? previous.Action : decision.Action,
            decision.Resource == previous.Resource ? previous.Resource : decision.Resource);
        added++;
    }

    /// <summary>The <paramref name="index"/>-th decision, oldest first; action and resource are empty unless it is among the labelled.</summary>
    public RecentDecision this[int index]
    {
        get
        {
            var mark = marks[Slot(index)];
            var (outcome, reported) = mark.State;
            var number = added - Count + index;
            var (action, resource) = number >= added - LabelledCount ? labels![(int)(number % LabelledCount)] : ("", "");
            return new RecentDecision
            {
                DecisionId = mark.Id, Sequence = mark.Sequence, At = mark.At, Outcome = outcome, RiskAdded = mark.RiskAdded, Reported = reported,
                Action = action ?? "", Resource = resource ?? "",
            };
        }
    }

    /// <summary>The newest decision with this id (and record, when given), or -1.</summary>
    public int FindLast(Guid decisionId, long? sequence = null)
    {
        for (var i = Count - 1; i >= 0; i--)
        {
            ref readonly var mark = ref marks[Slot(i)];
            if (mark.Id == decisionId && (sequence is null || mark.Sequence == sequence)) return i;
        }
        return -1;
    }

    public void MarkReported(int index)
    {
        ref var mark = ref marks[Slot(index)];
        mark = mark with { TicksAndState = Mark.Pack(mark.At, mark.State.Outcome, reported: true) };
    }

    /// <summary>A record superseding the decision's: it now says <paramref name="outcome"/>, adding <paramref name="riskAdded"/>.</summary>
    public void Supersede(int index, long sequence, DecisionOutcome outcome, long riskAdded)
    {
        ref var mark = ref marks[Slot(index)];
        mark = mark with { Sequence = sequence, RiskAdded = riskAdded, TicksAndState = Mark.Pack(mark.At, outcome, mark.State.Reported) };
    }

    public IEnumerable<RecentDecision> All() => Enumerable.Range(0, Count).Select(i => this[i]);

    private int Slot(int index) => (oldest + index) % Math.Max(1, marks.Length);

    /// <param name="TicksAndState">The decision's UTC ticks shifted left by 2 (ticks stay below 2^62), and its state in the low 2 bits.</param>
    private readonly record struct Mark(Guid Id, long Sequence, long RiskAdded, ulong TicksAndState)
    {
        private const ulong AllowedUnreported = 0, AllowedReported = 1, Denied = 2, ApprovalRequired = 3;

        public DateTimeOffset At => new((long)(TicksAndState >> 2), TimeSpan.Zero);

        /// <summary>Reported matters only for an allowed decision (only those have outcomes), so four states fit in 2 bits.</summary>
        public (DecisionOutcome Outcome, bool Reported) State => (TicksAndState & 3) switch
        {
            AllowedUnreported => (DecisionOutcome.Allow, false),
            AllowedReported => (DecisionOutcome.Allow, true),
            Denied => (DecisionOutcome.Deny, false),
            _ => (DecisionOutcome.ApprovalRequired, false),
        };

        public static ulong Pack(DateTimeOffset at, DecisionOutcome outcome, bool reported) =>
            ((ulong)at.UtcTicks << 2) | outcome switch
            {
                DecisionOutcome.Allow => reported ? AllowedReported : AllowedUnreported,
                DecisionOutcome.Deny => Denied,
                _ => ApprovalRequired,
            };
    }
}
