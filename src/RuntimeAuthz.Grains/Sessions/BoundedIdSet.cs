namespace RuntimeAuthz.Grains.Sessions;

/// <summary>A set of ids that keeps only the newest <c>capacity</c> additions; membership and removal take constant time.</summary>
internal sealed class BoundedIdSet(int capacity)
{
    private readonly HashSet<Guid> members = [];
    private readonly Queue<Guid> arrivals = new();

    public int Count => members.Count;

    public void Add(Guid id)
    {
        if (!members.Add(id)) return;
        arrivals.Enqueue(id);
        // Removed ids stay queued until they come up here; only the queue's length bounds memory.
        while (arrivals.Count > capacity) members.Remove(arrivals.Dequeue());
    }

    public bool Remove(Guid id) => members.Remove(id);
}
