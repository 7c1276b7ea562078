using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Entities;

/// <summary>
/// This silo's copy of the entity store; it only ever moves to a higher version. Fed by
/// <see cref="EntityCacheService"/> (push from the entity store grain plus a repair poll).
/// </summary>
public sealed class EntityCache(IGrainFactory grains, ILogger<EntityCache> logger)
{
    private const int SnapshotPage = 500;
    private readonly SemaphoreSlim refreshLock = new(1, 1);
    private volatile EntitySnapshot current = EntitySnapshot.Empty;

    /// <summary>The entities decisions read now (empty at version 0 until the first refresh).</summary>
    public EntitySnapshot Current => current;

    public long Version => current.Version;

    /// <summary>
    /// Asks the store for its version (or takes the pushed one) and, when newer, copies it (a consistent copy:
    /// a change meanwhile starts it again).
    /// </summary>
    public async Task RefreshAsync(long? pushed = null, CancellationToken cancellationToken = default)
    {
        await refreshLock.WaitAsync(cancellationToken);
        try
        {
            var store = grains.GetGrain<IEntityStoreGrain>(0);
            for (var attempt = 0; attempt < 5; attempt++)
            {
                // A pushed version saves a round trip; if the store has moved past it, the next attempt asks.
                var latest = attempt == 0 && pushed is { } version ? version : await store.CurrentVersion();
                if (latest <= current.Version) return;
                var documents = new List<EntityDocument>();
                int? from = 0;
                while (from is { } index)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var page = await store.ReadSnapshot(latest, index, SnapshotPage);
                    if (page is null) break;
                    documents.AddRange(page.Entities);
                    from = page.Next;
                }
                if (from is not null) continue; // the store moved on while copying
                current = new EntitySnapshot(latest, documents);
                logger.LogInformation("Entity cache moved to version {Version} ({Count} entities)", latest, documents.Count);
                return;
            }
        }
        finally
        {
            refreshLock.Release();
        }
    }
}
