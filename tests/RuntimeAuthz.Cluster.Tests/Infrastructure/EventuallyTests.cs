namespace RuntimeAuthz.Cluster.Tests.Infrastructure;

/// <summary>The polling helper every asynchronous wait in the tests goes through: it must end, and say why it ended.</summary>
public sealed class EventuallyTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task Returns_the_first_value_that_satisfies_the_condition()
    {
        var probes = 0;

        var value = await Eventually.UntilAsync("the third probe", () => ++probes, count => count >= 3, interval: TimeSpan.FromMilliseconds(1));

        Assert.Equal(3, value);
        Assert.Equal(3, probes);
    }

    [Fact]
    public async Task A_condition_that_never_holds_fails_naming_what_was_awaited_and_the_last_value()
    {
        var probes = 0;

        var error = await Assert.ThrowsAsync<TimeoutException>(() =>
            Eventually.UntilAsync("the cache at version 7", () => ++probes, _ => false, Short, TimeSpan.FromMilliseconds(10), describe: count => $"probe {count}"));

        Assert.Contains("waiting for the cache at version 7", error.Message, StringComparison.Ordinal);
        Assert.Contains($"last observed: probe {probes}", error.Message, StringComparison.Ordinal);
        Assert.Null(error.InnerException);
    }

    [Fact]
    public async Task An_exception_from_the_probe_ends_the_wait_at_once_unless_retried()
    {
        var probes = 0;
        bool Throws()
        {
            probes++;
            throw new InvalidOperationException("boom");
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Eventually.TrueAsync("a probe that throws", Throws, TimeSpan.FromSeconds(30)));

        Assert.Equal("boom", error.Message);
        Assert.Equal(1, probes);
    }

    [Fact]
    public async Task Retried_exceptions_are_attempts_and_the_last_one_is_reported()
    {
        var probes = 0;

        var error = await Assert.ThrowsAsync<TimeoutException>(() => Eventually.UntilAsync<int>("a recovering cluster",
            () => Task.FromException<int>(new InvalidOperationException($"still down ({++probes})")), _ => true,
            Short, TimeSpan.FromMilliseconds(10), retryExceptions: true));

        Assert.True(probes > 1, $"only {probes} attempt(s)");
        Assert.Contains("waiting for a recovering cluster", error.Message, StringComparison.Ordinal);
        Assert.Contains($"InvalidOperationException: still down ({probes})", error.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(error.InnerException);
    }

    [Fact]
    public async Task An_attempt_over_its_own_limit_counts_as_a_failed_attempt()
    {
        var probes = 0;

        var value = await Eventually.UntilAsync("an answer within the attempt limit",
            async () => { if (++probes == 1) await Task.Delay(Timeout.InfiniteTimeSpan); return probes; }, _ => true,
            retryExceptions: true, interval: TimeSpan.FromMilliseconds(1), attemptTimeout: TimeSpan.FromMilliseconds(50));

        Assert.Equal(2, value);
    }
}
