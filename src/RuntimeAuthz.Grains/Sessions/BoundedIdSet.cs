namespace RuntimeAuthz.Grains.Sessions;

/// <summary>
/// A set of ids that keeps only the newest <c>capacity</c> additions; membership and removal take constant time.
/// Nothing is allocated until the first addition (most sessions never add one).
/// </summary>
internal sealed class BoundedIdSet(int capacity)
{
    private HashSet<Guid>? members;
    private Queue<Guid>? arrivals;

    public int Count => members?.Count ?? 0;

    public void Add(Guid id)
    {
        members ??= [];
        arrivals ??= new();
        if (!members.Add(id)) return;
        arrivals.Enqueue(id);
        // Removed ids stay queued until they come up here; only the queue's length bounds memory.
        while (arrivals.Count > capacity) members.Remove(arrivals.Dequeue());
    }

    public bool Remove(Guid id) => members?.Remove(id) ?? false;
}
