using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime.Services;
using Orleans.Services;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Governance;

/// <summary>
/// This silo's copy of what a decision reads about authority: agent identities (status, fleet, labels, grants,
/// which chain walks read too) and fleet/label suspensions, so a decision makes no grain call for them.
/// Every persisted change drops the changed entries on every silo before the changing call returns
/// (<see cref="AuthorityPush"/>). Fail closed for a silo the push did not reach: an entry is used for at most
/// <see cref="EntryLifetime"/> after its read started, and the changing call waits that long before it returns
/// when a silo did not confirm. A read that was under way when its entry was dropped is not kept (it may have
/// seen the state before the change), so a stale answer never replaces a newer state.
/// Concurrent misses for one key share one read (a burst of decisions after a drop makes one grain call, not one
/// each); a shared read that was dropped while under way answers none of its callers: they read again.
/// </summary>
public sealed class AuthorityView(IGrainFactory grains, TimeProvider hostTime)
{
    /// <summary>Longest use of one read; also how long a change waits when a silo did not confirm it.</summary>
    public static readonly TimeSpan EntryLifetime = TimeSpan.FromSeconds(10);

    /// <summary>Beyond this many keys, expired entries are dropped (and everything, if that is not enough).</summary>
    public const int MaxEntries = 50_000;

    private readonly ConcurrentDictionary<string, Slot> slots = new(StringComparer.Ordinal);

    /// <summary>
    /// Reads one caller makes at most when each is dropped while under way (a key changed faster than it can be read):
    /// the last one's answer is then used, as a read that was never shared would have been before.
    /// </summary>
    internal const int MaxReadsPerCall = 3;

    /// <summary>
    /// One key: its current entry, the read under way for it, and how often it was dropped (a read keeps its answer,
    /// and hands it to its callers, only if that did not change meanwhile).
    /// </summary>
    private sealed class Slot
    {
        public long Generation;
        public Entry? Entry;
        public SharedRead? Read;
    }

    private sealed record Entry(object Value, long Generation, long ReadStartedAt);

    /// <summary>A read under way that every miss of the same generation waits for.</summary>
    private sealed class SharedRead(long generation)
    {
        public long Generation { get; } = generation;

        // Continuations run on each waiter's own context (its grain's scheduler), not inside the reader's completion.
        public TaskCompletionSource<object?> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public static string AgentKey(string agentId) => "agent/" + agentId;

    /// <summary>The agent as its grain holds it (null when not registered; an unknown agent is not kept).</summary>
    public ValueTask<AgentInfo?> AgentAsync(string agentId) =>
        ReadAsync(AgentKey(agentId), (grains, agentId), static s => s.grains.GetGrain<IAgentGrain>(s.agentId).Get());

    /// <summary>A suspension scope (<see cref="SuspensionScopes"/>) as its grain holds it.</summary>
    public async ValueTask<SuspensionInfo> SuspensionAsync(string scope) =>
        await ReadAsync(scope, (grains, scope), static async s => (SuspensionInfo?)await s.grains.GetGrain<ISuspensionGrain>(s.scope).Get())
        ?? throw new InvalidOperationException($"suspension scope {scope} answered nothing");

    /// <summary>Drops the entries of changed keys (their changes are persisted already); reads under way for them are not kept.</summary>
    public void Invalidate(IEnumerable<string> keys)
    {
        foreach (var key in keys)
        {
            // No slot: nothing is kept for the key and no read of it is under way (a read creates its slot first).
            if (!slots.TryGetValue(key, out var slot)) continue;
            Interlocked.Increment(ref slot.Generation);
            Volatile.Write(ref slot.Entry, null);
        }
    }

    /// <summary>Whether a usable entry is kept for the key now.</summary>
    internal bool Holds(string key) => slots.TryGetValue(key, out var slot) && Usable(slot) is not null;

    internal ValueTask<T?> ReadAsync<T, TState>(string key, TState state, Func<TState, Task<T?>> read) where T : class
    {
        var slot = SlotOf(key);
        return Usable(slot) is { } entry ? new((T)entry.Value) : new(ReadThroughAsync(key, slot, state, read));
    }

    private Slot SlotOf(string key)
    {
        if (slots.TryGetValue(key, out var slot)) return slot;
        if (slots.Count >= MaxEntries) Prune();
        return slots.GetOrAdd(key, static _ => new Slot());
    }

    private Entry? Usable(Slot slot) =>
        Volatile.Read(ref slot.Entry) is { } entry && entry.Generation == Volatile.Read(ref slot.Generation)
            && hostTime.GetElapsedTime(entry.ReadStartedAt) < EntryLifetime
            ? entry : null;

    private async Task<T?> ReadThroughAsync<T, TState>(string key, Slot slot, TState state, Func<TState, Task<T?>> read) where T : class
    {
        for (var reads = 1; ; reads++)
        {
            var shared = JoinOrStart(slot, state, read);
            var value = (T?)await shared.Answer.Task;
            // Dropped while under way: the answer may be the state before the change, so nobody gets it; a read that
            // starts after the drop sees the change.
            if (Volatile.Read(ref slot.Generation) == shared.Generation || reads >= MaxReadsPerCall) return value;
            slot = SlotOf(key);
            if (Usable(slot) is { } entry) return (T)entry.Value;
        }
    }

    /// <summary>The read under way for the slot's current generation, or a new one started for it.</summary>
    private SharedRead JoinOrStart<T, TState>(Slot slot, TState state, Func<TState, Task<T?>> read) where T : class
    {
        while (true)
        {
            var generation = Volatile.Read(ref slot.Generation);
            var current = Volatile.Read(ref slot.Read);
            if (current is not null && current.Generation == generation) return current;
            // None, or one of an older generation (its entry was dropped while it ran): start one; if another miss
            // started one first, join that.
            var started = new SharedRead(generation);
            if (Interlocked.CompareExchange(ref slot.Read, started, current) != current) continue;
            _ = RunAsync(slot, started, state, read);
            return started;
        }
    }

    private async Task RunAsync<T, TState>(Slot slot, SharedRead shared, TState state, Func<TState, Task<T?>> read) where T : class
    {
        var started = hostTime.GetTimestamp();
        try
        {
            // The call is made from the first caller's context; its answer is handed on from any thread.
            var value = await read(state).ConfigureAwait(false);
            // Kept only when no change arrived while reading; an entry stored after a concurrent drop carries the
            // old generation and is never used.
            if (value is not null && Volatile.Read(ref slot.Generation) == shared.Generation)
                Volatile.Write(ref slot.Entry, new Entry(value, shared.Generation, started));
            Interlocked.CompareExchange(ref slot.Read, null, shared);
            shared.Answer.SetResult(value);
        }
        catch (Exception ex)
        {
            // Every waiter fails as the read did (a decision fails closed); the next miss reads again.
            Interlocked.CompareExchange(ref slot.Read, null, shared);
            shared.Answer.SetException(ex);
        }
    }

    private void Prune()
    {
        // A slot with a read under way stays: Invalidate must find it to drop that read.
        foreach (var (key, slot) in slots)
            if (Usable(slot) is null && Volatile.Read(ref slot.Read) is null) slots.TryRemove(new KeyValuePair<string, Slot>(key, slot));
        if (slots.Count < MaxEntries) return;
        // Still full: everything goes, and reads under way count as dropped (their callers read again into new slots).
        foreach (var slot in slots.Values) Interlocked.Increment(ref slot.Generation);
        slots.Clear();
    }
}

/// <summary>Drops authority entries on the silo it runs on; called by <see cref="AuthorityPush"/> of the silo where a change was made.</summary>
[Alias("authz.IAuthorityViewService")]
public interface IAuthorityViewService : IGrainService
{
    [Alias("Invalidate")] Task Invalidate([Immutable] string[] keys);
}

[Reentrant]
public sealed class AuthorityViewService(GrainId grainId, Silo silo, ILoggerFactory loggerFactory, AuthorityView view)
    : GrainService(grainId, silo, loggerFactory), IAuthorityViewService
{
    public Task Invalidate(string[] keys)
    {
        view.Invalidate(keys);
        return Task.CompletedTask;
    }
}

/// <summary>Addresses the <see cref="IAuthorityViewService"/> of one silo.</summary>
public interface IAuthorityViewClient : IGrainServiceClient<IAuthorityViewService>
{
    IAuthorityViewService On(SiloAddress silo);
}

public sealed class AuthorityViewClient(IServiceProvider services) : GrainServiceClient<IAuthorityViewService>(services), IAuthorityViewClient
{
    public IAuthorityViewService On(SiloAddress silo) => GetGrainService(silo);
}

/// <summary>
/// Makes a persisted authority change (a revoke, a grant, a status change, a suspension) hold on every silo
/// when the changing call returns: each silo that can decide is told to drop the changed entries and confirms;
/// if one does not confirm in time, the call returns only after every entry read before the change has expired.
/// </summary>
public sealed partial class AuthorityPush(IAuthorityViewClient views, IClusterMembershipService membership, TimeProvider hostTime, ILogger<AuthorityPush> logger)
{
    public static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(3);

    public async Task ChangedAsync(params string[] keys)
    {
        // Silos that host activations (a silo shutting down may still finish decisions).
        var silos = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status is SiloStatus.Active or SiloStatus.ShuttingDown or SiloStatus.Stopping)
            .Select(m => m.SiloAddress)
            .ToArray();
        var confirmed = await Task.WhenAll(silos.Select(silo => ConfirmAsync(silo, keys)));
        if (confirmed.All(ok => ok)) return;
        LogWaiting(string.Join(", ", keys), confirmed.Count(ok => !ok), AuthorityView.EntryLifetime.TotalSeconds);
        await Task.Delay(AuthorityView.EntryLifetime, hostTime);
    }

    private async Task<bool> ConfirmAsync(SiloAddress silo, string[] keys)
    {
        try
        {
            await views.On(silo).Invalidate(keys).WaitAsync(ConfirmTimeout, hostTime);
            return true;
        }
        catch (Exception ex)
        {
            LogUnconfirmed(ex, silo);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} did not confirm an authority change")]
    private partial void LogUnconfirmed(Exception ex, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Authority change of {Keys}: {Count} silo(s) did not confirm; waiting {Seconds} s until what they read before has expired")]
    private partial void LogWaiting(string keys, int count, double seconds);
}
