namespace RuntimeAuthz.Cluster.Tests.Infrastructure;

/// <summary>Calls made while a killed silo is not yet declared dead.</summary>
internal static class SiloFailover
{
    /// <summary>Until the dead silos are declared dead, calls to their former activations may fail or time out.</summary>
    public static Task<T> RetryAsync<T>(Func<Task<T>> call) =>
        Eventually.UntilAsync("a call that succeeds once the killed silo is declared dead", call, _ => true,
            timeout: TimeSpan.FromSeconds(90), interval: TimeSpan.FromMilliseconds(200), retryExceptions: true, attemptTimeout: TimeSpan.FromSeconds(10));
}
