using System.Threading.Channels;
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

internal sealed class EntityStoreObserver(ChannelWriter<long> wakeUp) : IEntityStoreObserver
{
    public Task EntitiesChanged(long version)
    {
        wakeUp.TryWrite(version);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Keeps this silo's <see cref="EntityCache"/> current: an observer registered with the entity store
/// grain (re-registered periodically, registrations expire) wakes the refresh, and a poll every
/// <see cref="PollInterval"/> repairs missed pushes. Host time, so tests that freeze authorization time do not freeze it.
/// </summary>
public sealed class EntityCacheService(EntityCache cache, IGrainFactory grains, TimeProvider hostTime, ILogger<EntityCacheService> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ResubscribeInterval = TimeSpan.FromSeconds(30);

    private readonly Channel<long> wakeUp = Channel.CreateBounded<long>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly CancellationTokenSource stopping = new();
    private EntityStoreObserver? observer; // Orleans holds observers weakly
    private IEntityStoreObserver? reference;
    private Task? loop;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(EntityCacheService), ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken cancellationToken)
    {
        observer = new EntityStoreObserver(wakeUp.Writer);
        reference = grains.CreateObjectReference<IEntityStoreObserver>(observer);
        loop = Task.Run(() => RunAsync(stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        await stopping.CancelAsync();
        if (loop is not null)
        {
            try { await loop.WaitAsync(cancellationToken); }
            catch (OperationCanceledException) { }
        }
        if (reference is null) return;
        try
        {
            await grains.GetGrain<IEntityStoreGrain>(0).Unsubscribe(reference).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogDebug(ex, "Could not unsubscribe the entity store observer during shutdown");
        }
        grains.DeleteObjectReference<IEntityStoreObserver>(reference);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var nextSubscribe = DateTimeOffset.MinValue;
        long? pushed = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (hostTime.GetUtcNow() >= nextSubscribe && reference is not null)
                {
                    await grains.GetGrain<IEntityStoreGrain>(0).Subscribe(reference);
                    nextSubscribe = hostTime.GetUtcNow() + ResubscribeInterval;
                }
                await cache.RefreshAsync(pushed, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Entity cache refresh failed; keeping version {Version}", cache.Version);
                nextSubscribe = DateTimeOffset.MinValue;
            }
            using var poll = new CancellationTokenSource(PollInterval, hostTime);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, poll.Token);
            try
            {
                pushed = null;
                await wakeUp.Reader.WaitToReadAsync(wait.Token);
                if (wakeUp.Reader.TryRead(out var version)) pushed = version;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Poll interval elapsed without a push.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
