using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Governance;

/// <summary>
/// A governance action as it happened: the single place where grants, revocations, status changes
/// and suspensions are reported once persisted (evidence and audit hook in through
/// <see cref="IGovernanceEventSink"/>).
/// </summary>
public sealed record GovernanceEvent
{
    /// <summary>e.g. <c>grant</c>, <c>elevation</c>, <c>revoke-grant</c>, <c>agent-status</c>, <c>suspend</c>, <c>reactivate</c>.</summary>
    public string Kind { get; init; } = "";
    public string Actor { get; init; } = "";
    /// <summary>The issuer of the actor's token, when the action came through the authenticated API.</summary>
    public string? ActorIssuer { get; init; }
    public string Reason { get; init; } = "";
    public DateTimeOffset At { get; init; }
    public string? AgentId { get; init; }
    public string? GrantId { get; init; }
    /// <summary>Fleet/label scope for suspensions.</summary>
    public string? Scope { get; init; }
    public string? Detail { get; init; }
}

/// <summary>Receives every governance event after it was persisted. Must not throw into the caller's path.</summary>
public interface IGovernanceEventSink
{
    Task RecordAsync(GovernanceEvent governanceEvent);
}

/// <summary>Default sink: structured log only.</summary>
public sealed class LoggingGovernanceEventSink(ILogger<LoggingGovernanceEventSink> logger) : IGovernanceEventSink
{
    public Task RecordAsync(GovernanceEvent e)
    {
        logger.LogInformation("Governance {Kind} by {Actor} at {At}: agent {AgentId} grant {GrantId} scope {Scope} ({Reason})",
            e.Kind, e.Actor, e.At, e.AgentId, e.GrantId, e.Scope, e.Reason);
        return Task.CompletedTask;
    }
}

internal static class GovernanceEvents
{
    /// <summary>Reports to the sink; a failing sink is logged, never turned into a failed governance call.</summary>
    public static async Task PublishAsync(IGovernanceEventSink sink, ILogger logger, GovernanceEvent e)
    {
        try
        {
            await sink.RecordAsync(e);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Governance event {Kind} for agent {AgentId} could not be recorded by the sink", e.Kind, e.AgentId);
        }
    }
}
