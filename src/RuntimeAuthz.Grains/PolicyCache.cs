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
