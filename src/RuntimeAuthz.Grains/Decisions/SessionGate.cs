using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Decisions;

/// <summary>
/// First stage: is the session usable for this call? It must be open, within its lifetime and
/// idle timeout, and the caller may only act as the session's own agent.
/// </summary>
public static class SessionGate
{
    /// <param name="agentExists">Looks up an agent id the caller claims (only when it is not the session's agent).</param>
    public static async Task<Verdict?> CheckAsync(SessionInfo session, DecisionCall call, Func<string, Task<bool>> agentExists)
    {
        if (call.Request.AgentId is { } claimed && !string.Equals(claimed, session.AgentId, StringComparison.Ordinal))
        {
            // Another agent than the session's: an agent that does not exist is "unknown", an existing one is a mismatch.
            return await agentExists(claimed)
                ? Denials.AtGate(DenyReasons.SessionAgentMismatch, $"session belongs to another agent, not '{claimed}'")
                : Denials.AtGate(DenyReasons.UnknownAgent, $"agent '{claimed}' is not registered");
        }
        return session.Status switch
        {
            SessionStatus.Closed => Denials.AtGate(DenyReasons.SessionClosed),
            SessionStatus.Expired => Denials.AtGate(DenyReasons.SessionExpired),
            _ => ExpiryOf(session, call.Now) is { } expiry ? Denials.AtGate(DenyReasons.SessionExpired, expiry) with { ExpiresSession = true } : null,
        };
    }

    /// <summary>Why an open session is no longer usable at <paramref name="now"/>, or null when it still is.</summary>
    public static string? ExpiryOf(SessionInfo session, DateTimeOffset now)
    {
        if (now >= session.ExpiresAt) return $"lifetime ended at {session.ExpiresAt:O}";
        if (now - session.LastActivityAt >= session.IdleTimeout) return $"idle for more than {session.IdleTimeout.TotalSeconds:0} seconds";
        return null;
    }
}
