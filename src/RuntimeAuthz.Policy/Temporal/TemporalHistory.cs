namespace RuntimeAuthz.Policy.Temporal;

/// <summary>
/// One retained event. <see cref="Fields"/> is null for an event no predicate of the policy set can
/// match: it is kept only as a timepoint (for <c>previous</c> and <c>since</c>), without its data.
/// </summary>
internal sealed class HistoryEvent(long index, long timeMs, string? actionType, string? actionId, string? kind, RecordValue? fields)
{
    public long Index { get; } = index;
    public long TimeMs { get; } = timeMs;
    public string? ActionType { get; } = actionType;
    public string? ActionId { get; } = actionId;
    public string? Kind { get; } = kind;
    public RecordValue? Fields { get; } = fields;
    public bool IsStub => Fields is null;
}

/// <summary>
/// Per-predicate index over the retained history for a predicate whose fields are all compared with
/// request values, literals or wildcards: matching events grouped by those field values, in time
/// order, with running sums of one field. It answers "latest match", "matches in a window" and "sum
/// in a window" by binary search, whatever the history's length.
/// </summary>
internal sealed class PredicateIndex
{
    public sealed class Entries
    {
        public readonly List<long> Index = [];
        public readonly List<long> Time = [];
        // Prefix[k] = sum of the summed field over entries [0, k); the sum of a range is a difference.
        public readonly List<Int128> Prefix = [0];
        public int Start;

        public int Count => Index.Count - Start;
    }

    private readonly Dictionary<ValueKey, Entries> byKey = [];

    public PredicateIndex(PredicateCond predicate, string? sumPath)
    {
        Predicate = predicate;
        SumPath = sumPath;
        KeyArgs = [.. predicate.Args.Where(a => a.Term is not WildcardTerm && a.Path != sumPath)];
        WildcardPaths = [.. predicate.Args.Where(a => a.Term is WildcardTerm).Select(a => a.Path)];
    }

    public PredicateCond Predicate { get; }
    public string? SumPath { get; }
    public PredicateArg[] KeyArgs { get; }
    public string[] WildcardPaths { get; }

    public void Add(HistoryEvent e)
    {
        if (e.Fields is null || e.Kind != Predicate.Kind || e.ActionId != Predicate.ActionId || e.ActionType != Predicate.ActionType) return;
        var parts = new Value[KeyArgs.Length];
        for (var i = 0; i < KeyArgs.Length; i++)
        {
            var v = TemporalValueOps.Lookup(e.Fields, KeyArgs[i].Path);
            if (v is null) return;
            parts[i] = v;
        }
        foreach (var path in WildcardPaths)
            if (TemporalValueOps.Lookup(e.Fields, path) is null) return;
        long summand = 0;
        if (SumPath is not null)
        {
            var v = TemporalValueOps.Lookup(e.Fields, SumPath);
            if (v is null) return;
            if (v is LongValue l) summand = l.Value;
        }
        var key = new ValueKey(parts);
        if (!byKey.TryGetValue(key, out var entries)) byKey[key] = entries = new Entries();
        entries.Index.Add(e.Index);
        entries.Time.Add(e.TimeMs);
        entries.Prefix.Add(entries.Prefix[^1] + summand);
    }

    public Entries? Get(ValueKey key) => byKey.GetValueOrDefault(key);

    /// <summary>Drops entries before <paramref name="firstRetained"/> and keys left empty.</summary>
    public void Expire(long firstRetained)
    {
        List<ValueKey>? empty = null;
        foreach (var (key, entries) in byKey)
        {
            while (entries.Start < entries.Index.Count && entries.Index[entries.Start] < firstRetained) entries.Start++;
            if (entries.Start == entries.Index.Count) (empty ??= []).Add(key);
            else if (entries.Start > 64 && entries.Start * 2 > entries.Index.Count)
            {
                entries.Index.RemoveRange(0, entries.Start);
                entries.Time.RemoveRange(0, entries.Start);
                entries.Prefix.RemoveRange(0, entries.Start);
                entries.Start = 0;
            }
        }
        if (empty is not null) foreach (var key in empty) byKey.Remove(key);
    }

    /// <summary>Entries with index ≤ <paramref name="last"/> and time ≥ <paramref name="fromTime"/>: [lo, hi).</summary>
    public static (int Lo, int Hi) Range(Entries entries, long last, long fromTime)
    {
        var hi = UpperBound(entries.Index, entries.Start, last);
        var lo = LowerBound(entries.Time, entries.Start, hi, fromTime);
        return (lo, hi);
    }

    private static int UpperBound(List<long> list, int start, long value)
    {
        int lo = start, hi = list.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (list[mid] <= value) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    private static int LowerBound(List<long> list, int start, int end, long value)
    {
        int lo = start, hi = end;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (list[mid] < value) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}

/// <summary>
/// The history one temporal monitor can still see: events newer than the longest nested window of
/// any temporal block (older ones can no longer change a verdict), plus the indexes built on them.
/// </summary>
internal sealed class TemporalHistory
{
    private readonly List<HistoryEvent> events = [];
    private int start;
    private int expiredSinceSweep;
    private readonly long horizonMs;
    private readonly Dictionary<PredicateCond, PredicateIndex> indexes;
    private readonly HashSet<string> signatures;
    private readonly Dictionary<string, HashSet<string>> keptPaths;

    public TemporalHistory(long horizonMs, IEnumerable<PredicateIndex> indexes, IEnumerable<PredicateCond> predicates)
    {
        this.horizonMs = horizonMs;
        this.indexes = [];
        foreach (var index in indexes) this.indexes.TryAdd(index.Predicate, index);
        signatures = [];
        keptPaths = [];
        foreach (var p in predicates)
        {
            var sig = Sig(p.ActionType, p.ActionId, p.Kind);
            signatures.Add(sig);
            if (!keptPaths.TryGetValue(sig, out var paths)) keptPaths[sig] = paths = new HashSet<string>(StringComparer.Ordinal);
            foreach (var arg in p.Args) paths.Add(arg.Path);
        }
    }

    private static string Sig(string? type, string? id, string? kind) => $"{type}\u0001{id}\u0001{kind}";

    public long NextIndex { get; private set; }
    public long LastTimeMs { get; private set; } = long.MinValue;
    public int RetainedCount => events.Count - start;
    public long FirstRetainedIndex => RetainedCount == 0 ? NextIndex : events[start].Index;

    public HistoryEvent? At(long index)
    {
        if (RetainedCount == 0) return null;
        var offset = index - events[start].Index;
        if (offset < 0 || offset >= RetainedCount) return null;
        return events[start + (int)offset];
    }

    public IEnumerable<HistoryEvent> Retained()
    {
        for (var i = start; i < events.Count; i++) yield return events[i];
    }

    public PredicateIndex? IndexFor(PredicateCond predicate) => indexes.GetValueOrDefault(predicate);

    /// <summary>Appends an event (its index is the next timepoint) keeping only the fields some predicate reads.</summary>
    public HistoryEvent Append(long timeMs, string actionType, string actionId, string kind, RecordValue fields)
    {
        var sig = Sig(actionType, actionId, kind);
        RecordValue? kept = null;
        if (signatures.Contains(sig)) kept = Project(fields, keptPaths[sig]);
        var e = new HistoryEvent(NextIndex, timeMs, kept is null ? null : actionType, kept is null ? null : actionId, kept is null ? null : kind, kept);
        Add(e);
        return e;
    }

    /// <summary>Continues numbering at <paramref name="next"/> (events before it were dropped).</summary>
    public void SkipTo(long next) => NextIndex = Math.Max(NextIndex, next);

    /// <summary>Restores a persisted event (already projected).</summary>
    public void Add(HistoryEvent e)
    {
        events.Add(e);
        NextIndex = e.Index + 1;
        LastTimeMs = Math.Max(LastTimeMs, e.TimeMs);
        foreach (var index in indexes.Values) index.Add(e);
        Expire();
    }

    private void Expire()
    {
        var cutoff = LastTimeMs - horizonMs;
        var before = start;
        // Always keep the newest event: it is the decision point (and the predecessor of the next one).
        while (events.Count - start > 1 && events[start].TimeMs < cutoff) start++;
        if (start == before) return;
        // Index entries are found by time, so expired ones only cost memory: sweep them in batches.
        expiredSinceSweep += start - before;
        if (expiredSinceSweep >= Math.Max(64, (events.Count - start) / 2))
        {
            expiredSinceSweep = 0;
            var first = events[start].Index;
            foreach (var index in indexes.Values) index.Expire(first);
        }
        if (start > 256 && start * 2 > events.Count)
        {
            events.RemoveRange(0, start);
            start = 0;
        }
    }

    private static RecordValue Project(RecordValue fields, HashSet<string> paths)
    {
        var result = new Dictionary<string, Value>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            var value = TemporalValueOps.Lookup(fields, path);
            if (value is null) continue;
            Insert(result, path.Split('.'), 0, value);
        }
        return new RecordValue(result);
    }

    private static void Insert(Dictionary<string, Value> into, string[] segments, int i, Value value)
    {
        if (i == segments.Length - 1) { into[segments[i]] = value; return; }
        var child = into.TryGetValue(segments[i], out var existing) && existing is RecordValue r
            ? new Dictionary<string, Value>(r.Attributes, StringComparer.Ordinal)
            : new Dictionary<string, Value>(StringComparer.Ordinal);
        Insert(child, segments, i + 1, value);
        into[segments[i]] = new RecordValue(child);
    }
}
