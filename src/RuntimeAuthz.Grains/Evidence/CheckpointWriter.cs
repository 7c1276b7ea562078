using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Evidence.Checkpoints;

namespace RuntimeAuthz.Grains.Evidence;

/// <summary>
/// Seals the heads of the chains this silo appended to into signed checkpoints, every
/// <see cref="EvidenceCheckpointOptions.Interval"/> and once more when the silo stops (after its grains
/// deactivated). Each silo process writes its own checkpoint chain (writer = its silo address), so
/// silos never contend: a chain whose session moved between silos is sealed by each of them, and
/// the highest sealed head counts. When the store is unreachable, heads are kept and sealed later;
/// decisions go on (their records are durable in the evidence table) and readiness says so.
/// </summary>
public sealed partial class EvidenceCheckpointer(
    EvidenceCheckpointHeads heads,
    Func<EvidenceRecorder> createRecorder,
    IOptions<EvidenceCheckpointOptions> options,
    Func<ICheckpointStore?> createStore,
    AuthzClock clock,
    TimeProvider time,
    ILocalSiloDetails silo,
    ILogger<EvidenceCheckpointer> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    /// <summary>Upper bound for one checkpoint round and for one sealed-head lookup.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(2);

    // Built on first use, not with the silo: reading the options validates them, which start-up does for all of them at once.
    private readonly Lazy<ICheckpointStore?> checkpointStore = new(createStore);
    private readonly Lazy<EvidenceRecorder> evidenceRecorder = new(createRecorder);
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly CancellationTokenSource stopping = new();
    private Task loop = Task.CompletedTask;
    private CheckpointEntry? last;
    private volatile string? failure;

    public bool Enabled => evidenceRecorder.Value.Enabled && checkpointStore.Value is not null;

    /// <summary>This silo's checkpoint chain: its address and generation (unique per process).</summary>
    public string Writer { get; } = silo.SiloAddress.ToParsableString();

    /// <summary>Null while the checkpoint store answers; otherwise why the last request to it failed.</summary>
    public string? Failure => failure;

    public DateTimeOffset? LastCheckpointAt { get; private set; }

    public long CheckpointsWritten => last?.Sequence ?? 0;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(EvidenceCheckpointer), ServiceLifecycleStage.ApplicationServices, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            if (evidenceRecorder.Value.Enabled) LogNotConfigured(EvidenceCheckpointOptions.Section);
            return Task.CompletedTask;
        }
        heads.Tracking = true;
        loop = RunAsync(stopping.Token);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await stopping.CancelAsync();
        await loop;
        // Grains have deactivated by now (a later stage): their last records are in this final checkpoint.
        if (Enabled) await CheckpointNowAsync(cancellationToken);
    }

    private async Task RunAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop)) await CheckpointNowAsync(stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Seals every head collected since the last checkpoint (at most <see cref="CheckpointSealer.MaxHeads"/>
    /// per checkpoint). Returns how many checkpoints were written; failures are logged and the heads kept for the next round.
    /// </summary>
    public async Task<int> CheckpointNowAsync(CancellationToken cancellationToken = default)
    {
        if (!Enabled) return 0;
        await gate.WaitAsync(cancellationToken);
        var collected = heads.Take();
        var done = 0;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RequestTimeout);
            if (collected.Count == 0)
            {
                // Nothing to seal, but a failing store is probed, so readiness and lookups recover without traffic.
                if (failure is not null) await checkpointStore.Value!.ReadAsync(Writer, 0, timeout.Token);
                Recovered();
                return 0;
            }
            var key = await evidenceRecorder.Value.SigningKeyAsync(timeout.Token);
            var written = 0;
            foreach (var chunk in collected.Chunk(CheckpointSealer.MaxHeads))
            {
                var entry = CheckpointSealer.Seal(Writer, last, chunk, clock.UtcNow, key);
                try
                {
                    await checkpointStore.Value!.AppendAsync(entry, timeout.Token);
                }
                catch (EvidenceConflictException)
                {
                    // Only this process writes this chain: an earlier attempt landed although it reported failure.
                    last = await checkpointStore.Value!.ReadAsync(Writer, entry.Sequence, timeout.Token) ?? throw new InvalidOperationException($"checkpoint {entry.Sequence} of {Writer} conflicts but cannot be read");
                    entry = CheckpointSealer.Seal(Writer, last, chunk, clock.UtcNow, key);
                    await checkpointStore.Value!.AppendAsync(entry, timeout.Token);
                }
                last = entry;
                await checkpointStore.Value!.IndexAsync(entry, chunk, timeout.Token);
                done += chunk.Length;
                written++;
            }
            LastCheckpointAt = clock.UtcNow;
            Recovered();
            return written;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested || ex is not OperationCanceledException)
        {
            Fail(ex, $"{collected.Count - done} chain head(s) wait for the next checkpoint");
            heads.Return(collected.Skip(done));
            return 0;
        }
        catch
        {
            heads.Return(collected.Skip(done));
            throw;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Every checkpoint of every writer (for export and verification).</summary>
    public Task<IReadOnlyList<CheckpointEntry>> ReadAllAsync(CancellationToken cancellationToken) =>
        checkpointStore.Value?.ReadAllAsync(cancellationToken) ?? Task.FromResult<IReadOnlyList<CheckpointEntry>>([]);

    /// <summary>Seals a head this silo knows was durable although it did not append it just now (one it remembers).</summary>
    public void Remember(string chain, EvidenceHead head)
    {
        if (Enabled) heads.Return([new ChainHead(chain, head.Sequence, head.Hash)]);
    }

    /// <summary>
    /// The highest head any silo sealed for <paramref name="chain"/>. Throws when it cannot be known
    /// (at once, without a request, while the store is known to be failing).
    /// </summary>
    public async Task<SealedHead?> SealedHeadAsync(string chain)
    {
        if (failure is { } known) throw new CheckpointStoreUnavailableException(known);
        using var timeout = new CancellationTokenSource(LookupTimeout);
        try
        {
            return await checkpointStore.Value!.ReadSealedHeadAsync(chain, timeout.Token);
        }
        catch (Exception ex)
        {
            Fail(ex, "sealed heads cannot be looked up");
            throw new CheckpointStoreUnavailableException(failure!, ex);
        }
    }

    private void Recovered()
    {
        if (failure is null) return;
        failure = null;
        LogRecovered(Writer);
    }

    private void Fail(Exception ex, string consequence)
    {
        var first = failure is null;
        failure = $"{ex.GetType().Name}: {ex.Message.Split('\n', 2)[0].Trim()}";
        if (first) LogUnavailable(ex, options.Value.Table, consequence);
        else LogStillUnavailable(failure, consequence);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Section} is not configured: evidence chains are not anchored outside their table, so a storage rollback that shortens them goes unnoticed (docs/evidence.md)")]
    private partial void LogNotConfigured(string section);

    [LoggerMessage(Level = LogLevel.Error, Message = "Evidence checkpoint store (table {Table}) is unavailable: {Consequence}; decisions continue on the evidence table")]
    private partial void LogUnavailable(Exception ex, string table, string consequence);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Evidence checkpoint store still unavailable ({Failure}): {Consequence}")]
    private partial void LogStillUnavailable(string failure, string consequence);

    [LoggerMessage(Level = LogLevel.Information, Message = "Evidence checkpoint store available again; checkpoints of {Writer} resumed")]
    private partial void LogRecovered(string writer);

    public void Dispose()
    {
        stopping.Dispose();
        gate.Dispose();
    }
}

public sealed class CheckpointStoreUnavailableException(string reason, Exception? inner = null)
    : Exception($"the evidence checkpoint store is unavailable ({reason})", inner);
