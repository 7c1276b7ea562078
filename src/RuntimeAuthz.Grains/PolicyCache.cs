using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains;

/// <summary>
/// The silo-local compiled policy. One per silo; it only ever moves to a higher version.
/// Fed by <see cref="PolicyCacheService"/> (push from the policy grain plus a repair poll).
/// </summary>
public sealed partial class PolicyCache(IGrainFactory grainFactory, ILogger<PolicyCache> logger)
{
    private readonly SemaphoreSlim refreshLock = new(1, 1);
    private volatile CompiledPolicy? current;
    private volatile IReadOnlyList<CompiledPolicy> shadows = [];
    private volatile bool synchronized;

    /// <summary>The active shadow versions, compiled: evaluated beside each decision, never deciding.</summary>
    public IReadOnlyList<CompiledPolicy> Shadows => shadows;

    /// <summary>The compiled policy, or null when none is loaded (none published, or not fetched yet).</summary>
    public CompiledPolicy? Current => current;

    /// <summary>The loaded version; 0 when none.</summary>
    public long Version => current?.Version ?? 0;

    /// <summary>True once the cache has asked the policy grain at least once (so an empty cache means "nothing published").</summary>
    public bool IsSynchronized => synchronized;

    /// <summary>When (host time) the refresh loop last heard the policy grain's current version; null before the first time.</summary>
    public DateTimeOffset? ConfirmedAt { get; private set; }

    public void MarkConfirmed(DateTimeOffset at) => ConfirmedAt = at;

    /// <summary>Installs a compiled policy if it is newer than the current one.</summary>
    public bool TryInstall(CompiledPolicy policy)
    {
        while (true)
        {
            var existing = current;
            if (existing is not null && existing.Version >= policy.Version) return false;
            if (Interlocked.CompareExchange(ref current, policy, existing) == existing)
            {
                logger.LogInformation("Policy cache moved to version {Version} (from {Previous})", policy.Version, existing?.Version ?? 0);
                return true;
            }
        }
    }

    /// <summary>The current policy; when none is loaded yet, asks the policy grain once (first use on a new silo).</summary>
    public async Task<CompiledPolicy?> GetAsync(CancellationToken cancellationToken = default)
    {
        if (current is { } loaded) return loaded;
        await RefreshAsync(cancellationToken);
        return current;
    }

    /// <summary>Fetches the policy grain's current version and installs it if newer.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        await refreshLock.WaitAsync(cancellationToken);
        try
        {
            var policyGrain = grainFactory.GetGrain<IPolicyGrain>(0);
            var latest = await policyGrain.CurrentVersion();
            if (latest > Version)
            {
                var record = await grainFactory.GetGrain<IPolicyVersionGrain>(latest).Get()
                    ?? throw new InvalidOperationException($"policy version {latest} is current but its texts are missing");
                TryInstall(CompiledPolicy.FromRecord(record));
            }
            synchronized = true;
            await RefreshShadowsAsync(await policyGrain.ActiveShadows());
        }
        finally
        {
            refreshLock.Release();
        }
    }
}

public sealed partial class PolicyCache
{
    /// <summary>Installs exactly the active shadow versions (compiling only the new ones). A shadow that fails to load is left out, never the live policy.</summary>
    private async Task RefreshShadowsAsync(IReadOnlyList<long> active)
    {
        var installed = shadows;
        if (installed.Select(s => s.Version).SequenceEqual(active)) return;
        var next = new List<CompiledPolicy>(active.Count);
        foreach (var version in active)
        {
            if (installed.FirstOrDefault(s => s.Version == version) is { } kept)
            {
                next.Add(kept);
                continue;
            }
            try
            {
                var record = await grainFactory.GetGrain<IPolicyVersionGrain>(version).Get()
                    ?? throw new InvalidOperationException($"shadow version {version} is active but its texts are missing");
                next.Add(CompiledPolicy.FromRecord(record));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Shadow policy version {Version} could not be loaded; it is not evaluated on this silo", version);
            }
        }
        shadows = next;
        logger.LogInformation("Shadow policy versions on this silo: {Versions}", string.Join(", ", next.Select(s => s.Version)));
    }
}

/// <summary>Receives publish notifications for this silo and wakes the refresh loop.</summary>
internal sealed class PolicyObserver(ChannelWriter<long> wakeUp) : IPolicyObserver
{
    public Task PolicyPublished(long version)
    {
        wakeUp.TryWrite(version);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Keeps this silo's <see cref="PolicyCache"/> current: subscribes an observer with the policy
/// grain (re-subscribing periodically, because observer registrations expire and are lost when
/// the policy grain moves) and polls the current version every few seconds to repair missed pushes.
/// Uses the host's TimeProvider (not <see cref="AuthzClock"/>) so tests that freeze authorization
/// time do not freeze distribution.
/// </summary>
public sealed class PolicyCacheService(
    PolicyCache cache,
    IGrainFactory grainFactory,
    TimeProvider hostTime,
    ILogger<PolicyCacheService> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan ResubscribeInterval = TimeSpan.FromSeconds(30);

    private readonly Channel<long> wakeUp = Channel.CreateBounded<long>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly CancellationTokenSource stopping = new();
    private PolicyObserver? observer; // Orleans holds observers weakly: keep it alive here.
    private IPolicyObserver? observerReference;
    private Task? loop;

    /// <summary>This silo's observer as registered with the policy grain (null before start).</summary>
    internal IPolicyObserver? ObserverReference => observerReference;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PolicyCacheService), ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken cancellationToken)
    {
        observer = new PolicyObserver(wakeUp.Writer);
        observerReference = grainFactory.CreateObjectReference<IPolicyObserver>(observer);
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
        if (observerReference is not null)
        {
            try
            {
                await grainFactory.GetGrain<IPolicyGrain>(0).Unsubscribe(observerReference).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                logger.LogDebug(ex, "Could not unsubscribe the policy observer during shutdown");
            }
            grainFactory.DeleteObjectReference<IPolicyObserver>(observerReference);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var nextSubscribe = DateTimeOffset.MinValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (hostTime.GetUtcNow() >= nextSubscribe && observerReference is not null)
                {
                    await grainFactory.GetGrain<IPolicyGrain>(0).Subscribe(observerReference);
                    nextSubscribe = hostTime.GetUtcNow() + ResubscribeInterval;
                }
                await cache.RefreshAsync(cancellationToken);
                cache.MarkConfirmed(hostTime.GetUtcNow());
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Policy cache refresh failed; keeping version {Version}", cache.Version);
                nextSubscribe = DateTimeOffset.MinValue;
            }

            using var pollTimer = new CancellationTokenSource(PollInterval, hostTime);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, pollTimer.Token);
            try
            {
                await wakeUp.Reader.WaitToReadAsync(wait.Token);
                wakeUp.Reader.TryRead(out _);
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
