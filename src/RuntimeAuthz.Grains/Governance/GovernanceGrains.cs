using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Fleet;
using RuntimeAuthz.Grains.Sessions;

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

/// <summary>Persisted state of <see cref="SuspensionGrain"/>.</summary>
public sealed record SuspensionState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public SuspensionInfo? Info { get; init; }
}

public sealed class SuspensionGrain(
    [PersistentState("suspension", AuthzStorage.ProviderName)] IPersistentState<SuspensionState> state,
    AuthzClock clock,
    IGovernanceEventSink sink,
    ILogger<SuspensionGrain> logger) : Grain, ISuspensionGrain
{
    public const int MaxHistory = 200;

    private string Scope => this.GetPrimaryKeyString();

    public Task<SuspensionInfo> Get() => Task.FromResult(state.State.Info ?? new SuspensionInfo { Scope = Scope });

    public async Task<CommandResult<SuspensionInfo>> Set(bool suspended, GovernanceActor by)
    {
        if (string.IsNullOrWhiteSpace(by.Actor) || by.Actor.Length > AgentGrain.MaxTextLength || by.Reason.Length > 1024)
            return CommandResult<SuspensionInfo>.Fail(CommandError.Invalid, "actor is required (at most 256 characters); reason is limited to 1024");
        var now = clock.UtcNow;
        var current = state.State.Info ?? new SuspensionInfo { Scope = Scope };
        var history = current.History.Append(new SuspensionChange { Suspended = suspended, At = now, Actor = by.Actor, ActorIssuer = by.Issuer, Reason = by.Reason }).TakeLast(MaxHistory).ToArray();
        var updated = current with { Suspended = suspended, ChangedAt = now, ChangedBy = by.Actor, ChangedByIssuer = by.Issuer, Reason = by.Reason, History = history };
        state.State = state.State with { Info = updated };
        await state.WriteStateAsync();
        logger.LogWarning("Scope {Scope} {Change} by {Actor}: {Reason}", Scope, suspended ? "suspended" : "reactivated", by.Actor, by.Reason);
        await GovernanceEvents.PublishAsync(sink, logger, new GovernanceEvent
        {
            Kind = suspended ? "suspend" : "reactivate", Actor = by.Actor, ActorIssuer = by.Issuer, Reason = by.Reason, At = now, Scope = Scope,
        });
        return CommandResult<SuspensionInfo>.Ok(updated);
    }
}

/// <summary>Persisted state of <see cref="DelegatorIndexGrain"/>.</summary>
public sealed record DelegatorIndexState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public IReadOnlyList<IssuedGrant> Grants { get; init; } = [];
}

/// <summary>The grants a delegator issued (bounded row); written before the grant itself so none is missed by a cascade.</summary>
public sealed class DelegatorIndexGrain(
    [PersistentState("delegator", AuthzStorage.ProviderName)] IPersistentState<DelegatorIndexState> state) : Grain, IDelegatorIndexGrain
{
    public const int MaxEntries = 4000;

    public async Task<bool> Add(IssuedGrant grant)
    {
        if (state.State.Grants.Count >= MaxEntries) return false;
        state.State = state.State with { Grants = [.. state.State.Grants, grant] };
        await state.WriteStateAsync();
        return true;
    }

    public Task<IReadOnlyList<IssuedGrant>> List() => Task.FromResult(state.State.Grants);
}

/// <summary>
/// Revocations spanning agents. It never runs inside an agent grain's turn, so cascades across
/// agents that delegated to each other cannot deadlock. Every step is persisted by the agent
/// grain that holds the grant before this call returns.
/// </summary>
[StatelessWorker]
public sealed class GovernanceGrain(AuthzClock clock) : Grain, IGovernanceGrain
{
    public async Task<CommandResult<RevocationResult>> RevokeGrant(string agentId, string grantId, GovernanceActor by)
    {
        if (Invalid(by) is { } problem) return problem;
        var revoked = await GrainFactory.GetGrain<IAgentGrain>(agentId).RevokeDelegation(grantId, by);
        if (!revoked.IsSuccess) return CommandResult<RevocationResult>.Fail(revoked.Error, revoked.Message ?? "not revoked");
        var all = new List<RevokedGrant> { new() { AgentId = agentId, Grant = revoked.Value! } };
        await CascadeAsync(agentId, [grantId], by, all);
        return Done(all);
    }

    public async Task<CommandResult<RevocationResult>> RevokeAgent(string agentId, GovernanceActor by)
    {
        if (Invalid(by) is { } problem) return problem;
        var revoked = await GrainFactory.GetGrain<IAgentGrain>(agentId).RevokeAllDelegations(by);
        if (!revoked.IsSuccess) return CommandResult<RevocationResult>.Fail(revoked.Error, revoked.Message ?? "not revoked");
        var all = revoked.Value!.Select(g => new RevokedGrant { AgentId = agentId, Grant = g }).ToList();
        await CascadeAsync(agentId, revoked.Value!.Select(g => g.Id).ToArray(), by, all);
        return Done(all);
    }

    public async Task<CommandResult<RevocationResult>> RevokeByDelegator(string delegatorKey, GovernanceActor by)
    {
        if (Invalid(by) is { } problem) return problem;
        var issued = await GrainFactory.GetGrain<IDelegatorIndexGrain>(delegatorKey).List();
        var all = new List<RevokedGrant>();
        foreach (var entry in issued)
        {
            var revoked = await GrainFactory.GetGrain<IAgentGrain>(entry.AgentId).RevokeDelegation(entry.GrantId, by);
            if (!revoked.IsSuccess) continue; // already revoked, expired and pruned, or never stored
            all.Add(new RevokedGrant { AgentId = entry.AgentId, Grant = revoked.Value! });
            await CascadeAsync(entry.AgentId, [entry.GrantId], by, all);
        }
        return Done(all);
    }

    /// <summary>Revokes, depth first, the grants derived from <paramref name="grantIds"/> of <paramref name="agentId"/>.</summary>
    private async Task CascadeAsync(string agentId, IReadOnlyCollection<string> grantIds, GovernanceActor by, List<RevokedGrant> all, int depth = 0)
    {
        if (grantIds.Count == 0 || depth > GrantAuthority.MaxChainWalk) return;
        var derived = (await GrainFactory.GetGrain<IDelegatorIndexGrain>(DelegatorKeys.Agent(agentId)).List())
            .Where(e => e.ParentGrantId is not null && grantIds.Contains(e.ParentGrantId))
            .GroupBy(e => e.AgentId, StringComparer.Ordinal);
        foreach (var holder in derived)
        {
            var cascaded = new List<string>();
            foreach (var parentId in holder.Select(e => e.ParentGrantId!).Distinct(StringComparer.Ordinal))
            {
                var revoked = await GrainFactory.GetGrain<IAgentGrain>(holder.Key).RevokeDerived(parentId, by);
                all.AddRange(revoked.Select(g => new RevokedGrant { AgentId = holder.Key, Grant = g }));
                cascaded.AddRange(revoked.Select(g => g.Id));
            }
            await CascadeAsync(holder.Key, cascaded, by, all, depth + 1);
        }
    }

    private CommandResult<RevocationResult> Done(List<RevokedGrant> all) =>
        CommandResult<RevocationResult>.Ok(new RevocationResult { Revoked = all, RevokedAt = clock.UtcNow });

    private static CommandResult<RevocationResult>? Invalid(GovernanceActor by) =>
        string.IsNullOrWhiteSpace(by.Actor) || by.Actor.Length > AgentGrain.MaxTextLength || by.Reason.Length > 1024
            ? CommandResult<RevocationResult>.Fail(CommandError.Invalid, "actor is required (at most 256 characters); reason is limited to 1024")
            : null;
}

/// <summary>
/// Sends revocation notices to the agent's sessions, read page by page from the fleet index, so the
/// revoking agent grain sends one message instead of one per session. Sessions opened longer ago
/// than the longest session lifetime have ended and are skipped.
/// </summary>
[StatelessWorker]
public sealed class RevocationFanoutGrain(FleetIndex fleetIndex, ILogger<RevocationFanoutGrain> logger) : Grain, IRevocationFanoutGrain
{
    public async Task Notify(RevocationNotice notice)
    {
        try
        {
            await foreach (var sessionId in fleetIndex.SessionsOpenedSinceAsync(notice.AgentId, notice.At - SessionLimits.MaxLifetime))
            {
                try
                {
                    _ = GrainFactory.GetGrain<IRevocationObserverGrain>(sessionId).NoteRevocation(notice);
                }
                catch (Exception ex)
                {
                    logger.LogWarning(ex, "Could not notify session {SessionId} of a revocation", sessionId);
                }
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not read the sessions of agent {AgentId} to notify them of a revocation", notice.AgentId);
        }
    }
}
