using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Sessions;

/// <summary>
/// The session's last <see cref="SessionLimits.MaxRecentDecisions"/> decisions, 32 bytes each (id, record,
/// time, outcome, reported, risk added): what outcome reports, their at-most-once check and superseding records
/// need. Record sequence and risk added share one word (40 and 24 bits); a decision whose values do not fit
/// keeps them in a small side table instead (a chain past a trillion records, or one call adding 16 million risk).
/// Action and resource are kept for the last <see cref="LabelledCount"/> only (an approval request's timeline
/// summary); the others' are in their evidence records, read when an outcome is reported.
/// </summary>
internal sealed class RecentDecisions
{
    public const int LabelledCount = Approvals.ApprovalStage.TimelineSummaryLength;

    private Mark[] marks = [];
    /// <summary>Sequence and risk of the slots whose values do not fit their mark (made on first need).</summary>
    private Dictionary<int, (long Sequence, long RiskAdded)>? wide;
    /// <summary>Where the oldest is once the ring is full (before that, at 0).</summary>
    private int oldest;
    private (string Action, string Resource)[]? labels;
    /// <summary>Decisions ever added: the labels' ring is indexed by it.</summary>
    private long added;

    public int Count { get; private set; }

    public void Add(RecentDecision decision)
    {
        int slot;
        if (Count < SessionLimits.MaxRecentDecisions)
        {
            // Grown by doubling, so that a session that decides little keeps a small array.
            if (Count == marks.Length) Array.Resize(ref marks, Math.Min(SessionLimits.MaxRecentDecisions, Math.Max(4, marks.Length * 2)));
            slot = Count++;
        }
        else
        {
            slot = oldest;
            oldest = (oldest + 1) % marks.Length;
        }
        marks[slot] = new Mark(decision.DecisionId, PackRecord(slot, decision.Sequence, decision.RiskAdded), Mark.Pack(decision.At, decision.Outcome, decision.Reported));
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
            var slot = Slot(index);
            var mark = marks[slot];
            var (outcome, reported) = mark.State;
            var (sequence, riskAdded) = RecordOf(slot);
            var number = added - Count + index;
            var (action, resource) = number >= added - LabelledCount ? labels![(int)(number % LabelledCount)] : ("", "");
            return new RecentDecision
            {
                DecisionId = mark.Id, Sequence = sequence, At = mark.At, Outcome = outcome, RiskAdded = riskAdded, Reported = reported,
                Action = action ?? "", Resource = resource ?? "",
            };
        }
    }

    /// <summary>The newest decision with this id (and record, when given), or -1.</summary>
    public int FindLast(Guid decisionId, long? sequence = null)
    {
        for (var i = Count - 1; i >= 0; i--)
        {
            var slot = Slot(i);
            if (marks[slot].Id == decisionId && (sequence is null || RecordOf(slot).Sequence == sequence)) return i;
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
        var slot = Slot(index);
        ref var mark = ref marks[slot];
        mark = mark with { SequenceAndRisk = PackRecord(slot, sequence, riskAdded), TicksAndState = Mark.Pack(mark.At, outcome, mark.State.Reported) };
    }

    private const int SequenceBits = 40;
    private const ulong SequenceMask = (1UL << SequenceBits) - 1;
    /// <summary>The risk field's largest value marks a slot whose values are in <see cref="wide"/>.</summary>
    private const ulong InSideTable = (1UL << (64 - SequenceBits)) - 1;

    /// <summary>The slot's word for sequence and risk, putting values that do not fit in the side table (and clearing a stale entry).</summary>
    private ulong PackRecord(int slot, long sequence, long riskAdded)
    {
        wide?.Remove(slot);
        if (sequence is >= 0 and <= (long)SequenceMask && riskAdded >= 0 && (ulong)riskAdded < InSideTable)
            return ((ulong)riskAdded << SequenceBits) | (ulong)sequence;
        (wide ??= [])[slot] = (sequence, riskAdded);
        return InSideTable << SequenceBits;
    }

    private (long Sequence, long RiskAdded) RecordOf(int slot)
    {
        var word = marks[slot].SequenceAndRisk;
        var risk = word >> SequenceBits;
        return risk == InSideTable ? wide![slot] : ((long)(word & SequenceMask), (long)risk);
    }

    public IEnumerable<RecentDecision> All() => Enumerable.Range(0, Count).Select(i => this[i]);

    private int Slot(int index) => (oldest + index) % Math.Max(1, marks.Length);

    /// <param name="TicksAndState">The decision's UTC ticks shifted left by 2 (ticks stay below 2^62), and its state in the low 2 bits.</param>
    /// <param name="SequenceAndRisk">See <see cref="PackRecord"/>.</param>
    private readonly record struct Mark(Guid Id, ulong SequenceAndRisk, ulong TicksAndState)
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
