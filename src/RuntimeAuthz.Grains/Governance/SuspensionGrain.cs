using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Governance;

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
    AuthorityPush authorityPush,
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
        // In force on every silo before the call returns.
        await authorityPush.ChangedAsync(Scope);
        logger.LogWarning("Scope {Scope} {Change} by {Actor}: {Reason}", Scope, suspended ? "suspended" : "reactivated", by.Actor, by.Reason);
        await GovernanceEvents.PublishAsync(sink, logger, new GovernanceEvent
        {
            Kind = suspended ? "suspend" : "reactivate", Actor = by.Actor, ActorIssuer = by.Issuer, Reason = by.Reason, At = now, Scope = Scope,
        });
        return CommandResult<SuspensionInfo>.Ok(updated);
    }
}
