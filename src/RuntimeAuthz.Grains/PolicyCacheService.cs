using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains;

/// <summary>Keeps this silo's <see cref="PolicyCache"/> current: pushes from the policy grain plus a repair poll.</summary>
public sealed class PolicyCacheService(PolicyCache cache, IGrainFactory grains, TimeProvider hostTime, ILogger<PolicyCacheService> logger)
    : PushPollRefresher<IPolicyObserver>(grains, hostTime, logger)
{
    protected override long CopyVersion => cache.Version;

    protected override IPolicyObserver CreateObserver(Action<long> pushed) => new PolicyObserver(pushed);

    protected override Task SubscribeAsync(IPolicyObserver reference) => Grains.GetGrain<IPolicyGrain>(0).Subscribe(reference);

    protected override Task UnsubscribeAsync(IPolicyObserver reference) => Grains.GetGrain<IPolicyGrain>(0).Unsubscribe(reference);

    /// <summary>Asks the policy grain (a push only wakes it: shadows change without a new live version) and notes when it answered.</summary>
    protected override async Task RefreshAsync(long? pushed, CancellationToken cancellationToken)
    {
        await cache.RefreshAsync(cancellationToken);
        cache.MarkConfirmed(HostTime.GetUtcNow());
    }

    private sealed class PolicyObserver(Action<long> published) : IPolicyObserver
    {
        public Task PolicyPublished(long version)
        {
            published(version);
            return Task.CompletedTask;
        }
    }
}
