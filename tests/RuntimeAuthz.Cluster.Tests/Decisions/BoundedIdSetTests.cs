using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Cluster.Tests.Decisions;

public sealed class BoundedIdSetTests
{
    [Fact]
    public void Keeps_only_the_newest_ids_and_removes_each_once()
    {
        var set = new BoundedIdSet(capacity: 3);
        var ids = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in ids) set.Add(id);

        Assert.Equal(3, set.Count);
        Assert.False(set.Remove(ids[0]));
        Assert.False(set.Remove(ids[1]));
        Assert.True(set.Remove(ids[4]));
        Assert.False(set.Remove(ids[4]));
    }

    [Fact]
    public void An_id_added_twice_counts_once_and_a_removed_one_does_not_evict_a_newer_one()
    {
        var set = new BoundedIdSet(capacity: 2);
        var (a, b, c) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        set.Add(a);
        set.Add(a);
        Assert.Equal(1, set.Count);
        Assert.True(set.Remove(a));
        set.Add(b);
        set.Add(c);
        Assert.True(set.Remove(b));
        Assert.True(set.Remove(c));
    }
}
