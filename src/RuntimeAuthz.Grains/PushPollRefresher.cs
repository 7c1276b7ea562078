using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace RuntimeAuthz.Grains;

/// <summary>
/// Keeps one silo-local copy of what a singleton grain publishes in versions (the policy, the entity store) current:
/// an observer registered with that grain wakes a refresh with the pushed version, the registration is renewed every
/// <see cref="ResubscribeInterval"/> (registrations expire and are lost when the grain moves), and a poll every
/// <see cref="PollInterval"/> repairs missed pushes. Host time, not <see cref="AuthzClock"/>, so tests that freeze
/// authorization time do not freeze distribution.
/// </summary>
/// <typeparam name="TObserver">The grain's observer interface.</typeparam>
public abstract class PushPollRefresher<TObserver>(IGrainFactory grains, TimeProvider hostTime, ILogger logger)
    : ILifecycleParticipant<ISiloLifecycle>
    where TObserver : class, IGrainObserver
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan ResubscribeInterval = TimeSpan.FromSeconds(30);

    private readonly Channel<long> wakeUp = Channel.CreateBounded<long>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly CancellationTokenSource stopping = new();
    private TObserver? observer; // Orleans holds observers weakly: keep it alive here.
    private TObserver? observerReference;
    private Task? loop;

    /// <summary>The highest version a push announced that a refresh then handled (0 before any): shows pushes arrive, apart from the poll.</summary>
    internal long LastPushedVersionRefreshed { get; private set; }

    /// <summary>This silo's observer as registered with the grain (null before start).</summary>
    internal TObserver? ObserverReference => observerReference;

    protected IGrainFactory Grains => grains;

    protected TimeProvider HostTime => hostTime;

    /// <summary>The observer object for this silo; it passes each pushed version to <paramref name="pushed"/>.</summary>
    protected abstract TObserver CreateObserver(Action<long> pushed);

    protected abstract Task SubscribeAsync(TObserver reference);

    protected abstract Task UnsubscribeAsync(TObserver reference);

    /// <summary>Brings the copy up to date; <paramref name="pushed"/> is the version a push announced (null on a poll).</summary>
    protected abstract Task RefreshAsync(long? pushed, CancellationToken cancellationToken);

    /// <summary>The version the copy holds, for the log when a refresh fails.</summary>
    protected abstract long CopyVersion { get; }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(GetType().Name, ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken cancellationToken)
    {
        observer = CreateObserver(version => wakeUp.Writer.TryWrite(version));
        observerReference = grains.CreateObjectReference<TObserver>(observer);
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
        if (observerReference is null) return;
        try
        {
            await UnsubscribeAsync(observerReference).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogDebug(ex, "{Refresher} could not unsubscribe its observer during shutdown", GetType().Name);
        }
        grains.DeleteObjectReference<TObserver>(observerReference);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var nextSubscribe = DateTimeOffset.MinValue;
        long? pushed = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (hostTime.GetUtcNow() >= nextSubscribe && observerReference is not null)
                {
                    await SubscribeAsync(observerReference);
                    nextSubscribe = hostTime.GetUtcNow() + ResubscribeInterval;
                }
                await RefreshAsync(pushed, cancellationToken);
                if (pushed > LastPushedVersionRefreshed) LastPushedVersionRefreshed = pushed.Value;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "{Refresher} failed to refresh; keeping version {Version}", GetType().Name, CopyVersion);
                nextSubscribe = DateTimeOffset.MinValue;
            }

            using var pollTimer = new CancellationTokenSource(PollInterval, hostTime);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, pollTimer.Token);
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
