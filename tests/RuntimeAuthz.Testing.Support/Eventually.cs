using System.Diagnostics;
using System.Globalization;

namespace RuntimeAuthz.Testing;

/// <summary>
/// Bounded polling for what happens asynchronously (a policy push, a failover, a process start-up): probe until a
/// condition holds, and fail with a <see cref="TimeoutException"/> naming what was awaited and what was last seen
/// once the time limit passes. Never an open-ended loop: a test that waits either succeeds or fails, it does not hang.
/// </summary>
/// <remarks>
/// Elapsed time is measured with <see cref="Stopwatch"/> (the real clock), never with a test's fake authorization clock.
/// </remarks>
public static class Eventually
{
    /// <summary>The limit when a caller names none: long enough for two shared cores under load.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Probes until <paramref name="done"/> holds for the probed value and returns that value.
    /// </summary>
    /// <param name="awaited">What is awaited, for the failure message ("policy version 3 on every silo").</param>
    /// <param name="probe">Reads the current value; called once per attempt.</param>
    /// <param name="done">Whether the value is the awaited one.</param>
    /// <param name="timeout">The time limit (default <see cref="DefaultTimeout"/>).</param>
    /// <param name="interval">The pause between attempts (default 50 ms).</param>
    /// <param name="retryExceptions">
    /// Whether an exception from the probe is another attempt (for calls that fail while a cluster recovers). Otherwise
    /// it ends the wait at once, so an assertion inside the probe fails the test immediately.
    /// </param>
    /// <param name="attemptTimeout">A limit per attempt (an attempt that exceeds it counts as an exception).</param>
    /// <param name="describe">How the failure message shows the last value (default <see cref="object.ToString"/>).</param>
    public static async Task<T> UntilAsync<T>(
        string awaited,
        Func<Task<T>> probe,
        Func<T, bool> done,
        TimeSpan? timeout = null,
        TimeSpan? interval = null,
        bool retryExceptions = false,
        TimeSpan? attemptTimeout = null,
        Func<T, string>? describe = null)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(done);
        var limit = timeout ?? DefaultTimeout;
        var watch = Stopwatch.StartNew();
        var observed = false;
        T last = default!;
        Exception? lastError = null;
        var attempts = 0;
        while (true)
        {
            attempts++;
            try
            {
                var attempt = probe();
                last = attemptTimeout is { } perAttempt ? await attempt.WaitAsync(perAttempt) : await attempt;
                observed = true;
                lastError = null;
                if (done(last)) return last;
            }
            catch (Exception error) when (retryExceptions)
            {
                lastError = error;
            }
            if (watch.Elapsed >= limit)
            {
                var seen = lastError is not null
                    ? $"the last attempt threw {lastError.GetType().Name}: {lastError.Message}"
                    : observed ? $"last observed: {Describe(last, describe)}" : "nothing observed";
                throw new TimeoutException(
                    string.Create(CultureInfo.InvariantCulture, $"Timed out after {limit.TotalSeconds:0.#} s ({attempts} attempts) waiting for {awaited}; {seen}"),
                    lastError);
            }
            await Task.Delay(interval ?? DefaultInterval);
        }
    }

    /// <summary>Probes a value that is read without waiting (a counter, a cache's version) until <paramref name="done"/> holds.</summary>
    public static Task<T> UntilAsync<T>(string awaited, Func<T> probe, Func<T, bool> done, TimeSpan? timeout = null, TimeSpan? interval = null, Func<T, string>? describe = null) =>
        UntilAsync(awaited, () => Task.FromResult(probe()), done, timeout, interval, describe: describe);

    /// <summary>Waits until <paramref name="condition"/> is true.</summary>
    public static Task TrueAsync(string awaited, Func<Task<bool>> condition, TimeSpan? timeout = null, TimeSpan? interval = null) =>
        UntilAsync(awaited, condition, holds => holds, timeout, interval);

    /// <summary>Waits until <paramref name="condition"/> (read without waiting) is true.</summary>
    public static Task TrueAsync(string awaited, Func<bool> condition, TimeSpan? timeout = null, TimeSpan? interval = null) =>
        UntilAsync(awaited, () => Task.FromResult(condition()), holds => holds, timeout, interval);

    private static string Describe<T>(T value, Func<T, string>? describe) =>
        value is null ? "null" : describe is not null ? describe(value) : value.ToString() ?? "";
}
