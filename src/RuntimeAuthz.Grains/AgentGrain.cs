using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains;

/// <summary>Persisted state of <see cref="AgentGrain"/>. Property names are the stored contract.</summary>
public sealed record AgentState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public AgentInfo? Agent { get; init; }
}

public sealed class AgentGrain(
    [PersistentState("agent", AuthzStorage.ProviderName)] IPersistentState<AgentState> state,
    AuthzClock clock,
    ILogger<AgentGrain> logger) : Grain, IAgentGrain
{
    /// <summary>Keeps the identity row far below Azure's 1 MiB entity limit.</summary>
    public const int MaxDelegations = 100;
    public const int MaxDelegationEntries = 64;
    public const int MaxTextLength = 256;
    /// <summary>Room for <c>Type::"id"</c> with the longest resource id a decision accepts (1024).</summary>
    public const int MaxResourcePatternLength = 1400;
    /// <summary>Upper bound for the stored identity row as escaped JSON, below Azure's 1 MiB entity limit.</summary>
    public const int MaxRowBytes = 512 * 1024;

    private string AgentId => this.GetPrimaryKeyString();

    public async Task<CommandResult<AgentInfo>> Register(AgentRegistration registration)
    {
        if (state.State.Agent is not null)
            return CommandResult<AgentInfo>.Fail(CommandError.Conflict, $"agent '{AgentId}' already exists");
        var problem = CheckText("name", registration.Name) ?? CheckText("owner", registration.Owner) ?? CheckText("fleet", registration.Fleet)
            ?? registration.Labels.Select(l => CheckText("label key", l.Key) ?? CheckText($"label '{l.Key}'", l.Value, allowEmpty: true)).FirstOrDefault(p => p is not null);
        if (problem is not null) return CommandResult<AgentInfo>.Fail(CommandError.Invalid, problem);
        if (registration.Labels.Count > MaxDelegationEntries)
            return CommandResult<AgentInfo>.Fail(CommandError.Invalid, $"at most {MaxDelegationEntries} labels are allowed");

        // Listed first: a listed id whose registration failed is skipped when listing,
        // while a registered agent missing from the list would be invisible.
        if (!await GrainFactory.GetGrain<IAgentDirectoryGrain>(0).Add(AgentId))
            return CommandResult<AgentInfo>.Fail(CommandError.Conflict, "the agent directory is full; no more agents can be registered");
        var now = clock.UtcNow;
        var agent = new AgentInfo
        {
            Id = AgentId, Name = registration.Name, Owner = registration.Owner, Fleet = registration.Fleet,
            Labels = new Dictionary<string, string>(registration.Labels, StringComparer.Ordinal),
            Status = AgentStatus.Active, RegisteredAt = now, UpdatedAt = now,
        };
        state.State = state.State with { Agent = agent };
        await state.WriteStateAsync();
        logger.LogInformation("Agent {AgentId} registered in fleet {Fleet} by owner {Owner}", AgentId, agent.Fleet, agent.Owner);
        return CommandResult<AgentInfo>.Ok(agent);
    }

    public Task<AgentInfo?> Get() => Task.FromResult(state.State.Agent);

    public async Task<CommandResult<AgentInfo>> SetStatus(AgentStatusChange change)
    {
        if (state.State.Agent is not { } agent)
            return CommandResult<AgentInfo>.Fail(CommandError.NotFound, $"agent '{AgentId}' not found");
        if (change.Reason.Length > 1024 || change.Actor.Length > MaxTextLength)
            return CommandResult<AgentInfo>.Fail(CommandError.Invalid, "reason is limited to 1024 characters and actor to 256");
        if (!Enum.IsDefined(change.Status))
            return CommandResult<AgentInfo>.Fail(CommandError.Invalid, "status must be active, suspended or revoked");
        if (agent.Status == AgentStatus.Revoked)
            return CommandResult<AgentInfo>.Fail(CommandError.Conflict, $"agent '{AgentId}' is revoked; revocation is final");
        var updated = agent with
        {
            Status = change.Status, StatusReason = change.Reason, StatusChangedBy = change.Actor, UpdatedAt = clock.UtcNow,
        };
        state.State = state.State with { Agent = updated };
        await state.WriteStateAsync();
        logger.LogInformation("Agent {AgentId} status {OldStatus} -> {NewStatus} by {Actor}", AgentId, agent.Status, change.Status, change.Actor);
        return CommandResult<AgentInfo>.Ok(updated);
    }

    public async Task<CommandResult<Delegation>> AddDelegation(DelegationGrant grant)
    {
        if (state.State.Agent is not { } agent)
            return CommandResult<Delegation>.Fail(CommandError.NotFound, $"agent '{AgentId}' not found");
        if (agent.Status == AgentStatus.Revoked)
            return CommandResult<Delegation>.Fail(CommandError.Conflict, $"agent '{AgentId}' is revoked");
        var now = clock.UtcNow;
        var problem = ValidateGrant(grant, now);
        if (problem is not null) return CommandResult<Delegation>.Fail(CommandError.Invalid, problem);

        var live = agent.Delegations.Where(d => d.ExpiresAt > now).ToList();
        if (live.Count >= MaxDelegations)
            return CommandResult<Delegation>.Fail(CommandError.Conflict, $"agent '{AgentId}' already has {MaxDelegations} live delegations");
        var delegation = new Delegation
        {
            Id = Guid.NewGuid().ToString("N"),
            Actions = grant.Actions.Select(a => a.Trim()).Distinct(StringComparer.Ordinal).ToArray(),
            Resources = grant.Resources.Select(r => r.Trim()).Distinct(StringComparer.Ordinal).ToArray(),
            GrantedBy = grant.GrantedBy, Purpose = grant.Purpose, GrantedAt = now, ExpiresAt = grant.ExpiresAt,
        };
        live.Add(delegation);
        var updated = agent with { Delegations = live, UpdatedAt = now };
        if (EstimateBytes(updated) > MaxRowBytes)
            return CommandResult<Delegation>.Fail(CommandError.Conflict, $"agent '{AgentId}' has too many or too large delegations to store another; remove some first");
        state.State = state.State with { Agent = updated };
        await state.WriteStateAsync();
        logger.LogInformation("Delegation {DelegationId} granted to agent {AgentId} by {GrantedBy} until {ExpiresAt}", delegation.Id, AgentId, grant.GrantedBy, grant.ExpiresAt);
        return CommandResult<Delegation>.Ok(delegation);
    }

    public async Task<CommandResult<AgentInfo>> RemoveDelegation(string delegationId)
    {
        if (state.State.Agent is not { } agent)
            return CommandResult<AgentInfo>.Fail(CommandError.NotFound, $"agent '{AgentId}' not found");
        if (!agent.Delegations.Any(d => d.Id == delegationId))
            return CommandResult<AgentInfo>.Fail(CommandError.NotFound, $"delegation '{delegationId}' not found on agent '{AgentId}'");
        var updated = agent with { Delegations = agent.Delegations.Where(d => d.Id != delegationId).ToArray(), UpdatedAt = clock.UtcNow };
        state.State = state.State with { Agent = updated };
        await state.WriteStateAsync();
        logger.LogInformation("Delegation {DelegationId} removed from agent {AgentId}", delegationId, AgentId);
        return CommandResult<AgentInfo>.Ok(updated);
    }

    /// <summary>Upper bound of the agent's stored JSON size.</summary>
    public static int EstimateBytes(AgentInfo agent) =>
        1024
        + new[] { agent.Id, agent.Name, agent.Owner, agent.Fleet, agent.StatusReason, agent.StatusChangedBy }.Sum(JsonSize.EscapedUtf8Bytes)
        + agent.Labels.Sum(l => JsonSize.EscapedUtf8Bytes(l.Key) + JsonSize.EscapedUtf8Bytes(l.Value) + 2)
        + agent.Delegations.Sum(d => 256 + JsonSize.EscapedUtf8Bytes(d.Id) + JsonSize.EscapedUtf8Bytes(d.GrantedBy) + JsonSize.EscapedUtf8Bytes(d.Purpose)
            + d.Actions.Sum(a => JsonSize.EscapedUtf8Bytes(a) + 1) + d.Resources.Sum(r => JsonSize.EscapedUtf8Bytes(r) + 1));

    private static string? ValidateGrant(DelegationGrant grant, DateTimeOffset now)
    {
        if (grant.Actions.Count == 0) return "actions must list at least one action";
        if (grant.Resources.Count == 0) return "resources must list at least one resource pattern";
        if (grant.Actions.Count > MaxDelegationEntries || grant.Resources.Count > MaxDelegationEntries)
            return $"a delegation lists at most {MaxDelegationEntries} actions and {MaxDelegationEntries} resources";
        foreach (var action in grant.Actions)
        {
            if (CheckText("action", action) is { } problem) return problem;
        }
        foreach (var resource in grant.Resources)
        {
            if (CheckText("resource", resource, maxLength: MaxResourcePatternLength) is { } problem) return problem;
            if (!ResourcePattern.TryParse(resource, out _, out var error)) return error;
        }
        if (CheckText("grantedBy", grant.GrantedBy) is { } grantor) return grantor;
        if (grant.Purpose is { Length: > 1024 }) return "purpose is longer than 1024 characters";
        if (grant.ExpiresAt <= now) return $"expiresAt ({grant.ExpiresAt:O}) must be in the future";
        return null;
    }

    private static string? CheckText(string field, string? value, bool allowEmpty = false, int maxLength = MaxTextLength)
    {
        if (value is null || (!allowEmpty && string.IsNullOrWhiteSpace(value))) return $"{field} must not be empty";
        if (value.Length > maxLength) return $"{field} is longer than {maxLength} characters";
        return null;
    }
}

/// <summary>Persisted state of <see cref="AgentDirectoryGrain"/>.</summary>
public sealed record AgentDirectoryState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public IReadOnlyList<string> AgentIds { get; init; } = [];
}

/// <summary>
/// The list of agent ids, in one row of at most <see cref="MaxRowBytes"/>: with ids of up to 128
/// characters that is several thousand agents (tens of thousands with short ids); larger fleets
/// need a partitioned directory.
/// </summary>
public sealed class AgentDirectoryGrain(
    [PersistentState("agentDirectory", AuthzStorage.ProviderName)] IPersistentState<AgentDirectoryState> state) : Grain, IAgentDirectoryGrain
{
    /// <summary>Upper bound for the directory row as escaped JSON, below Azure's 1 MiB entity limit.</summary>
    public const int MaxRowBytes = 768 * 1024;

    private int? rowBytes;

    public async Task<bool> Add(string agentId)
    {
        if (state.State.AgentIds.Contains(agentId, StringComparer.Ordinal)) return true;
        rowBytes ??= 256 + state.State.AgentIds.Sum(id => JsonSize.EscapedUtf8Bytes(id) + 1);
        var added = JsonSize.EscapedUtf8Bytes(agentId) + 1;
        if (rowBytes + added > MaxRowBytes) return false;
        state.State = state.State with { AgentIds = [.. state.State.AgentIds, agentId] };
        await state.WriteStateAsync();
        rowBytes += added;
        return true;
    }

    public Task<IReadOnlyList<string>> List() => Task.FromResult(state.State.AgentIds);
}
