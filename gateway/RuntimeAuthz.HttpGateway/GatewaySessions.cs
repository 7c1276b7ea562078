using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using RuntimeAuthz.Enforcement;

namespace RuntimeAuthz.HttpGateway;

/// <summary>
/// Which authorization session a call belongs to: one per agent, or, when the caller sends <see cref="GatewayHeaders.Session"/>,
/// one per agent and label. The label is the caller's name for a workflow, never a cluster session id, so no caller can
/// reach into another agent's session or history. An expired or closed cluster session is replaced by a new one.
/// </summary>
public sealed partial class GatewaySessions(AuthorizationEnforcer enforcer, ILogger<GatewaySessions> logger)
{
    /// <summary>Labels one agent may use at once: each opens a cluster session, so they are bounded.</summary>
    public const int MaxLabelsPerAgent = 64;

    private readonly ConcurrentDictionary<(string Agent, string Label), EnforcementSession> sessions = new();
    private readonly ConcurrentDictionary<string, int> labelsPerAgent = new(StringComparer.Ordinal);

    /// <summary>Checks a session label: null when usable, else why not.</summary>
    public static string? Invalid(string label) =>
        Label().IsMatch(label) ? null : $"{GatewayHeaders.Session} must be 1 to 64 letters, digits or . _ : - (not an arbitrary string)";

    /// <summary>The session for the agent and label, or null when the agent already uses <see cref="MaxLabelsPerAgent"/> labels.</summary>
    public EnforcementSession? For(string agentId, string label)
    {
        if (sessions.TryGetValue((agentId, label), out var existing)) return existing;
        lock (labelsPerAgent)
        {
            if (sessions.TryGetValue((agentId, label), out existing)) return existing;
            var used = labelsPerAgent.GetValueOrDefault(agentId);
            if (used >= MaxLabelsPerAgent) return null;
            labelsPerAgent[agentId] = used + 1;
            return sessions[(agentId, label)] = enforcer.CreateSession(agentId);
        }
    }

    /// <summary>Forgets a session the cluster no longer accepts (expired or closed); the next call opens a new one.</summary>
    public EnforcementSession Renew(string agentId, string label, EnforcementSession stale)
    {
        var fresh = enforcer.CreateSession(agentId);
        var current = sessions.AddOrUpdate((agentId, label), fresh, (_, existing) => ReferenceEquals(existing, stale) ? fresh : existing);
        if (ReferenceEquals(current, fresh)) logger.LogInformation("Session {SessionId} of agent {AgentId} ended; opening a new one", stale.SessionId, agentId);
        return current;
    }

    /// <summary>Closes every cluster session (at shutdown); best effort.</summary>
    public async Task CloseAllAsync(CancellationToken cancellationToken)
    {
        foreach (var session in sessions.Values)
        {
            await enforcer.CloseSessionAsync(session, "the HTTP gateway stopped", cancellationToken);
        }
        sessions.Clear();
        labelsPerAgent.Clear();
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex Label();
}
