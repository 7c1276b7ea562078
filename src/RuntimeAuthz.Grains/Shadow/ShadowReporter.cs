using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Shadow;

/// <summary>
/// This silo's shadow comparisons, added up per version and sent to each version's report grain
/// every <see cref="FlushInterval"/> (and when the silo stops). A batch that cannot be sent is
/// kept and sent with the next one, so the report's counts stay exact while the silo lives.
/// </summary>
public sealed class ShadowReporter(IGrainFactory grains, TimeProvider hostTime, Telemetry.AuthzMetrics metrics, ILogger<ShadowReporter> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);
    /// <summary>Examples a silo keeps per version between flushes (the newest): as many as a report keeps.</summary>
    public const int ExamplesPerBatch = ShadowReportGrain.MaxExamples;

    private readonly Lock gate = new();
    private Dictionary<long, Pending> pending = [];
    private readonly CancellationTokenSource stopping = new();
    private Task? loop;

    private sealed class Pending
    {
        public long Evaluated, Failures, Skipped;
        public readonly Dictionary<(DecisionOutcome Live, DecisionOutcome Shadow), long> Directions = [];
        public readonly Queue<ShadowDisagreement> Examples = new();

        public void Merge(Pending later)
        {
            Evaluated += later.Evaluated;
            Failures += later.Failures;
            Skipped += later.Skipped;
            foreach (var (direction, count) in later.Directions) Directions[direction] = Directions.GetValueOrDefault(direction) + count;
            foreach (var example in later.Examples) AddExample(example);
        }

        public void AddExample(ShadowDisagreement example)
        {
            Examples.Enqueue(example);
            if (Examples.Count > ExamplesPerBatch) Examples.Dequeue();
        }

        public ShadowBatch ToBatch() => new()
        {
            Evaluated = Evaluated, Failures = Failures, Skipped = Skipped,
            Directions = [.. Directions.Select(d => new ShadowDirection { Live = d.Key.Live, Shadow = d.Key.Shadow, Count = d.Value })],
            Examples = [.. Examples],
        };
    }

    /// <summary>One decision evaluated against <paramref name="version"/>; <paramref name="disagreement"/> when the outcomes differ.</summary>
    public void Compared(long version, ShadowDisagreement? disagreement)
    {
        metrics.ShadowCompared(version, disagreement is null ? "agree" : "disagree");
        lock (gate)
        {
            var batch = For(version);
            batch.Evaluated++;
            if (disagreement is null) return;
            var direction = (disagreement.LiveOutcome, disagreement.ShadowOutcome);
            batch.Directions[direction] = batch.Directions.GetValueOrDefault(direction) + 1;
            batch.AddExample(disagreement);
        }
    }

    public void Failed(long version)
    {
        metrics.ShadowCompared(version, "failed");
        lock (gate) For(version).Failures++;
    }

    public void Skipped(long version)
    {
        metrics.ShadowCompared(version, "skipped");
        lock (gate) For(version).Skipped++;
    }

    private Pending For(long version)
    {
        if (!pending.TryGetValue(version, out var batch)) pending[version] = batch = new Pending();
        return batch;
    }

    /// <summary>Sends what was counted so far; what fails to send is kept for the next flush.</summary>
    public async Task FlushAsync()
    {
        Dictionary<long, Pending> taken;
        lock (gate)
        {
            if (pending.Count == 0) return;
            taken = pending;
            pending = [];
        }
        // Lowest version first: a report read after a higher version's shows every lower version's count of the same flush.
        foreach (var (version, batch) in taken.OrderBy(t => t.Key))
        {
            try
            {
                await grains.GetGrain<IShadowReportGrain>(version).Add(batch.ToBatch());
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Shadow report of version {Version} not sent; kept for the next flush", version);
                lock (gate)
                {
                    // Older counts first, so the newest examples stay the newest.
                    if (pending.TryGetValue(version, out var later)) batch.Merge(later);
                    pending[version] = batch;
                }
            }
        }
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ShadowReporter), ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken cancellationToken)
    {
        loop = Task.Run(() => RunAsync(stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        await stopping.CancelAsync();
        if (loop is not null) await loop;
        try { await FlushAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken); }
        catch (Exception ex) when (ex is not OutOfMemoryException) { logger.LogWarning(ex, "Shadow reports not flushed at shutdown"); }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(FlushInterval, hostTime);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken)) await FlushAsync();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
