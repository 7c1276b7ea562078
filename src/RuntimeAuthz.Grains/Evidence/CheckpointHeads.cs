using RuntimeAuthz.Evidence;
using RuntimeAuthz.Evidence.Checkpoints;

namespace RuntimeAuthz.Grains.Evidence;

/// <summary>
/// What this silo's <see cref="EvidenceRecorder"/> tells the checkpoints: the heads of chains it
/// appended durably since the last checkpoint, and which chains it must not append to any more
/// (found behind their checkpoint: continuing them would hide the loss).
/// </summary>
public sealed class EvidenceCheckpointHeads
{
    private readonly Lock gate = new();
    private Dictionary<string, ChainHead> advanced = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> refused = new(StringComparer.Ordinal);
    private volatile bool anyRefused;

    /// <summary>Set by the checkpointer when checkpoints are written; until then nothing is collected.</summary>
    public bool Tracking { get; internal set; }

    /// <summary>A durable record: its chain's head for the next checkpoint (only ever moves forward).</summary>
    public void Appended(EvidenceEntry entry)
    {
        if (!Tracking) return;
        lock (gate)
        {
            if (!advanced.TryGetValue(entry.Chain, out var known) || known.Sequence < entry.Sequence)
                advanced[entry.Chain] = new ChainHead(entry.Chain, entry.Sequence, entry.Hash);
        }
    }

    /// <summary>Takes the heads collected so far (the next appends start a new set).</summary>
    internal IReadOnlyList<ChainHead> Take()
    {
        lock (gate)
        {
            var taken = advanced;
            advanced = new Dictionary<string, ChainHead>(StringComparer.Ordinal);
            return [.. taken.Values];
        }
    }

    /// <summary>Puts heads back that could not be sealed (a newer head collected meanwhile wins).</summary>
    internal void Return(IEnumerable<ChainHead> heads)
    {
        lock (gate)
        {
            foreach (var head in heads)
                if (!advanced.TryGetValue(head.Chain, out var known) || known.Sequence < head.Sequence) advanced[head.Chain] = head;
        }
    }

    internal int Pending
    {
        get { lock (gate) return advanced.Count; }
    }

    /// <summary>From now on this silo writes nothing more to <paramref name="chain"/>.</summary>
    public void Refuse(string chain, string why)
    {
        lock (gate) refused[chain] = why;
        anyRefused = true;
    }

    public bool Refuses(string chain)
    {
        if (!anyRefused) return false;
        lock (gate) return refused.ContainsKey(chain);
    }
}
