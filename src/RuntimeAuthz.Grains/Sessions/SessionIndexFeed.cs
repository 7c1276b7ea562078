using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Sessions;

/// <summary>
/// Keeps one session's rows in the <see cref="SessionIndex"/> current, from its grain and on its
/// scheduler (one write at a time). Opening and closing wait for their write; a decision never does.
/// A change of status or a session's first deny is written in the background at once; anything else
/// (risk, deny count, last activity, decisions, policy version) at most once per <see cref="CoalescePeriod"/>:
/// a busy session costs the index one write per period, however many decisions it makes. A failed
/// write is logged and retried by the next change or the grain's maintenance.
/// </summary>
public sealed class SessionIndexFeed(SessionIndex index, Func<string, Task<string>> fleetOf, ILogger logger)
{
    public static readonly TimeSpan CoalescePeriod = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);

    private SessionInfo? wanted;
    private SessionIndexEntry? indexed;
    private SessionIndex.Position? current;
    /// <summary>Positions the session may still be listed at besides <see cref="current"/> (a write that failed half way).</summary>
    private readonly List<SessionIndex.Position> stale = [];
    private string? fleet;
    private bool pointerRead;
    private bool writeAgain;
    private Task writing = Task.CompletedTask;
    /// <summary>Pacing is wall-clock time (<see cref="TimeProvider.System"/>), not the authorization clock, which tests may hold still.</summary>
    private long lastWrite = long.MinValue / 2;
    private CancellationTokenSource? pause;

    /// <summary>A new session: listed before Open returns (a failure is logged; maintenance retries).</summary>
    public Task OpenedAsync(SessionInfo session, string agentFleet)
    {
        fleet = agentFleet;
        pointerRead = true; // nothing can be indexed yet
        wanted = session;
        return WriteNowAsync();
    }

    /// <summary>A change the grain applied: written in the background, at once when it is urgent, else when the period since the last write is over.</summary>
    public void Changed(SessionInfo session)
    {
        var urgent = fleet is null || SessionIndexEntry.Of(session, fleet).IsUrgentChangeFrom(indexed);
        wanted = session;
        if (!writing.IsCompleted)
        {
            // A write is running or waiting for its turn: it takes the latest state; an urgent change cuts the wait short.
            if (urgent)
            {
                writeAgain = true;
                pause?.Cancel();
            }
            return;
        }
        var wait = urgent ? TimeSpan.Zero : CoalescePeriod - TimeProvider.System.GetElapsedTime(lastWrite);
        writing = WriteLoopAsync(wait);
    }

    /// <summary>Maintenance: writes what is not yet in the index (after a failure), in the background.</summary>
    public void Flush()
    {
        if (writing.IsCompleted && IsBehind) writing = WriteLoopAsync(TimeSpan.Zero);
    }

    /// <summary>Close and deactivation: waits until the index has the session as it is now (failures are logged).</summary>
    public async Task FlushAsync(SessionInfo session)
    {
        wanted = session;
        pause?.Cancel();
        await WriteNowAsync();
    }

    private bool IsBehind => wanted is not null && (fleet is null || SessionIndexEntry.Of(wanted, fleet) != indexed);

    private async Task WriteNowAsync()
    {
        await writing;
        if (IsBehind)
        {
            writing = WriteLoopAsync(TimeSpan.Zero);
            await writing;
        }
    }

    private async Task WriteLoopAsync(TimeSpan wait)
    {
        if (wait > TimeSpan.Zero)
        {
            using var waiting = pause = new CancellationTokenSource();
            try
            {
                await Task.Delay(wait, TimeProvider.System, waiting.Token);
            }
            catch (OperationCanceledException)
            {
                // Cut short: an urgent change, a close or a deactivation.
            }
            finally
            {
                pause = null;
            }
        }
        do
        {
            writeAgain = false;
            await WriteOnceAsync();
        }
        while (writeAgain);
    }

    private async Task WriteOnceAsync()
    {
        if (wanted is not { } session) return;
        try
        {
            using var timeout = new CancellationTokenSource(WriteTimeout);
            if (!pointerRead)
            {
                // A new activation: where an earlier one listed the session.
                if (await index.ReadAsync(session.AgentId, session.Id, timeout.Token) is { } known)
                {
                    (fleet, indexed, current) = (known.Entry.Fleet, known.Entry, known.Current);
                    if (known.Previous is { } previous) stale.Add(previous);
                }
                fleet ??= await fleetOf(session.AgentId);
                pointerRead = true;
            }
            var entry = SessionIndexEntry.Of(session, fleet!);
            if (entry == indexed) return;
            var attempted = SessionIndex.Position.Of(entry);
            try
            {
                current = await index.WriteAsync(entry, current is null ? [.. stale] : [current, .. stale], timeout.Token);
                indexed = entry;
                stale.Clear();
                lastWrite = TimeProvider.System.GetTimestamp();
            }
            catch
            {
                // It may be listed at the attempted position in some places: removed by the next write.
                if (attempted != current && !stale.Contains(attempted)) stale.Add(attempted);
                throw;
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Session {SessionId}: session index not updated; retried on the next change or maintenance", session.Id);
        }
    }
}
