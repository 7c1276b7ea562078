using Azure;

namespace RuntimeAuthz.Silo.Http;

/// <summary>
/// Which failures that reach the HTTP layer are worth a retry (503 with Retry-After) rather than a bug (500).
/// Grain calls rethrow the exception the grain (or its storage provider) threw, so a storage failure inside a grain
/// arrives here as the storage client's own exception, as does one from a table the HTTP layer queries directly.
/// </summary>
public static class TransientFailures
{
    /// <summary>Seconds a caller is told to wait before retrying (storage throttling and failover settle within seconds).</summary>
    public const int RetryAfterSeconds = 2;

    public const string ClusterMessage = "the cluster did not answer in time; retry later";
    public const string StorageMessage = "storage is unavailable or overloaded; retry later";

    /// <summary>The caller-facing reason when <paramref name="exception"/> is transient, otherwise null.</summary>
    /// <param name="requestAborted">The request's own token: a cancellation the caller caused is not a storage timeout.</param>
    public static string? Classify(Exception exception, CancellationToken requestAborted)
    {
        // Wrapped failures (an activation that could not read its state, a retry policy that gave up) are judged by what
        // they wrap; bounded, as an exception graph may be deep.
        for (var (current, depth) = (exception, 0); current is not null && depth < 8; (current, depth) = (current.InnerException, depth + 1))
        {
            switch (current)
            {
                case TimeoutException or Orleans.Runtime.SiloUnavailableException or Orleans.Runtime.OrleansMessageRejectionException:
                    return ClusterMessage;
                case RequestFailedException failed when IsTransientStatus(failed.Status):
                    return StorageMessage;
                // Azure.Core's retry policy gives up with every attempt's failure: transient only if all of them were.
                case AggregateException all when all.InnerExceptions.Count > 0 && all.InnerExceptions.All(e => Classify(e, requestAborted) is not null):
                    return Classify(all.InnerExceptions[0], requestAborted);
                // Another writer changed the row first (an ETag conflict): the grain reloads its state, a retry is answered afresh.
                case Orleans.Storage.InconsistentStateException:
                    return StorageMessage;
                // Not the caller's cancellation: a storage client's network timeout (Azure.Core cancels the request).
                case OperationCanceledException when !requestAborted.IsCancellationRequested:
                    return StorageMessage;
            }
        }
        return null;
    }

    /// <summary>No response at all (0: connection refused or reset), timeouts, throttling, and server errors.</summary>
    public static bool IsTransientStatus(int status) => status is 0 or 408 or 429 or 500 or 502 or 503 or 504;
}
