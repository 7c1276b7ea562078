namespace RuntimeAuthz.Grains;

/// <summary>
/// The clock the authorization logic reads (session lifetimes, delegation expiry, timestamps).
/// It wraps a <see cref="TimeProvider"/> instead of replacing the container's TimeProvider so
/// that tests can move authorization time with a FakeTimeProvider without freezing Orleans'
/// own timers (membership, response timeouts), which also read TimeProvider from DI.
/// </summary>
public sealed class AuthzClock(TimeProvider time)
{
    public TimeProvider Time { get; } = time;

    public DateTimeOffset UtcNow => Time.GetUtcNow();
}

/// <summary>Names shared by the grains and the silo configuration.</summary>
public static class AuthzStorage
{
    /// <summary>The grain storage provider every RuntimeAuthz grain persists to.</summary>
    public const string ProviderName = "authz";
}
