using RuntimeAuthz.Client;

namespace RuntimeAuthz.ClusterClient;

/// <summary>
/// A decision was asked but its answer never arrived (the silo died, the connection dropped, the call timed out). The
/// cluster may or may not have decided, and recorded, the call; this client does not ask again, because a second ask
/// would be a second decision (it counts toward the session's history, risk and approvals). Treat it as Deny: do not run
/// the call. A caller that still wants the call decides anew, knowingly, with a new <see cref="AuthzClusterClient.DecideAsync"/>.
/// </summary>
public sealed class DecisionUnknownException(string sessionId, string reason, Exception innerException)
    : AuthzException($"the decision for session '{sessionId}' is unknown ({reason}); treat it as Deny", innerException)
{
    public string SessionId { get; } = sessionId;

    /// <summary>Short cause: "silo unavailable", "timed out", "connection failed".</summary>
    public string Reason { get; } = reason;
}

/// <summary>The cluster could not be reached or did not answer (after the retries reads and opens get).</summary>
public sealed class ClusterUnavailableException(string operation, string reason, int attempts, Exception innerException)
    : AuthzException($"{operation} failed: {reason} ({attempts} attempt{(attempts == 1 ? "" : "s")})", innerException)
{
    public string Operation { get; } = operation;

    public string Reason { get; } = reason;

    public int Attempts { get; } = attempts;
}
