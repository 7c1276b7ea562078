using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Cluster.Tests.Decisions;

/// <summary>
/// An evidence store in front of the real one that can stall like a frozen storage process: while
/// stalled, appends are held (the caller's timeout gives up on them) and, once released, still
/// reach the table — the records land after their callers were answered.
/// </summary>
public sealed class StallingEvidenceStore(IEvidenceStore inner) : IEvidenceStore
{
    private TaskCompletionSource released = NewGate(open: true);
    private int held;

    /// <summary>Appends sent while stalled and not yet forwarded.</summary>
    public int Held => Volatile.Read(ref held);

    public void Stall() => released = NewGate(open: false);

    public void Release() => released.TrySetResult();

    private static TaskCompletionSource NewGate(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open) gate.SetResult();
        return gate;
    }

    public async Task AppendAsync(EvidenceEntry entry, CancellationToken cancellationToken = default)
    {
        var gate = released.Task;
        if (gate.IsCompleted)
        {
            await inner.AppendAsync(entry, cancellationToken);
            return;
        }
        // Sent, so no withdrawing: the write goes ahead when storage comes back, whoever still waits for it.
        Interlocked.Increment(ref held);
        var write = gate.ContinueWith(_ => inner.AppendAsync(entry, CancellationToken.None), TaskScheduler.Default).Unwrap();
        _ = write.ContinueWith(_ => Interlocked.Decrement(ref held), TaskScheduler.Default);
        await write.WaitAsync(cancellationToken);
    }

    public Task<IReadOnlyList<EvidenceEntry>> ReadRangeAsync(string chain, long afterSequence, int maxCount, CancellationToken cancellationToken = default) =>
        Stalled(() => inner.ReadRangeAsync(chain, afterSequence, maxCount, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<EvidenceEntry>> ReadChainAsync(string chain, CancellationToken cancellationToken = default) =>
        Stalled(() => inner.ReadChainAsync(chain, cancellationToken), cancellationToken);

    public Task<EvidenceHead> ReadHeadAsync(string chain, CancellationToken cancellationToken = default) =>
        Stalled(() => inner.ReadHeadAsync(chain, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<string>> ListChainsAsync(CancellationToken cancellationToken = default) => inner.ListChainsAsync(cancellationToken);

    public Task PublishPublicKeyAsync(string keyId, string publicKeyPem, CancellationToken cancellationToken = default) =>
        inner.PublishPublicKeyAsync(keyId, publicKeyPem, cancellationToken);

    public Task<IReadOnlyDictionary<string, string>> ListPublicKeysAsync(CancellationToken cancellationToken = default) => inner.ListPublicKeysAsync(cancellationToken);

    public Task<string> GetOrCreateDevelopmentKeyAsync(string candidatePem, CancellationToken cancellationToken = default) =>
        inner.GetOrCreateDevelopmentKeyAsync(candidatePem, cancellationToken);

    /// <summary>Reads wait for the stall to end too (a frozen storage answers nothing).</summary>
    private async Task<T> Stalled<T>(Func<Task<T>> read, CancellationToken cancellationToken)
    {
        await released.Task.WaitAsync(cancellationToken);
        return await read();
    }
}
