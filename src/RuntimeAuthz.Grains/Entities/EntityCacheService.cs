using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Entities;

/// <summary>Keeps this silo's <see cref="EntityCache"/> current: pushes from the entity store grain plus a repair poll.</summary>
public sealed class EntityCacheService(EntityCache cache, IGrainFactory grains, TimeProvider hostTime, ILogger<EntityCacheService> logger)
    : PushPollRefresher<IEntityStoreObserver>(grains, hostTime, logger)
{
    protected override long CopyVersion => cache.Version;

    protected override IEntityStoreObserver CreateObserver(Action<long> pushed) => new EntityStoreObserver(pushed);

    protected override Task SubscribeAsync(IEntityStoreObserver reference) => Grains.GetGrain<IEntityStoreGrain>(0).Subscribe(reference);

    protected override Task UnsubscribeAsync(IEntityStoreObserver reference) => Grains.GetGrain<IEntityStoreGrain>(0).Unsubscribe(reference);

    protected override Task RefreshAsync(long? pushed, CancellationToken cancellationToken) => cache.RefreshAsync(pushed, cancellationToken);

    private sealed class EntityStoreObserver(Action<long> changed) : IEntityStoreObserver
    {
        public Task EntitiesChanged(long version)
        {
            changed(version);
            return Task.CompletedTask;
        }
    }
}
