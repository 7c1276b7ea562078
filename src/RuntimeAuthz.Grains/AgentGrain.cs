using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Governance;
using RuntimeAuthz.Grains.Fleet;

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
    FleetIndex fleetIndex,
    AuthzClock clock,
    IGovernanceEventSink governanceSink,
    IOptions<DelegationOptions> delegationOptions,
    AuthorityPush authorityPush,
    ILogger<AgentGrain> logger) : Grain, IAgentGrain
{
    /// <summary>Revoked grants kept for inspection (most recent first out).</summary>
    public const int MaxRevokedKept = 50;

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
        await fleetIndex.AddAgentAsync(AgentId);
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
            Status = change.Status, StatusReason = change.Reason, StatusChangedBy = change.Actor, StatusChangedByIssuer = change.ActorIssuer, UpdatedAt = clock.UtcNow,
        };
        state.State = state.State with { Agent = updated };
        await WriteAndPushAsync();
        logger.LogInformation("Agent {AgentId} status {OldStatus} -> {NewStatus} by {Actor}", AgentId, agent.Status, change.Status, change.Actor);
        await GovernanceEvents.PublishAsync(governanceSink, logger, new GovernanceEvent
        {
            Kind = "agent-status", Actor = change.Actor, ActorIssuer = change.ActorIssuer, Reason = change.Reason, At = updated.UpdatedAt, AgentId = AgentId,
            Detail = $"{agent.Status.ToString().ToLowerInvariant()} -> {change.Status.ToString().ToLowerInvariant()}",
        });
        if (change.Status != AgentStatus.Active)
            NotifySessions($"agent {change.Status.ToString().ToLowerInvariant()}", new GovernanceActor { Actor = change.Actor, Reason = change.Reason }, updated.UpdatedAt);
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
        if (grant.Condition is { Length: > 0 } condition && GrantRules.CheckCondition(condition) is { } issue)
            return CommandResult<Delegation>.Fail(CommandError.Invalid, $"{issue.Source}:{issue.Line}:{issue.Column}: {issue.Message}", [issue]);

        var depth = 0;
        if (grant.ParentGrantId is not null || grant.DelegatorAgentId is not null)
        {
            var (parentDepth, parentProblem, parentError) = await CheckParentAsync(grant, now);
            if (parentProblem is not null) return CommandResult<Delegation>.Fail(parentError, parentProblem);
            depth = parentDepth + 1;
            if (depth > delegationOptions.Value.MaxDelegationDepth)
                return CommandResult<Delegation>.Fail(CommandError.Invalid,
                    $"delegation depth {depth} exceeds the maximum of {delegationOptions.Value.MaxDelegationDepth} (Authz:MaxDelegationDepth)");
        }

        var live = agent.Delegations.Where(d => d.ExpiresAt > now).ToList();
        if (live.Count >= MaxDelegations)
            return CommandResult<Delegation>.Fail(CommandError.Conflict, $"agent '{AgentId}' already has {MaxDelegations} live delegations");
        var delegation = new Delegation
        {
            Id = Guid.NewGuid().ToString("N"),
            Actions = grant.Actions.Select(a => a.Trim()).Distinct(StringComparer.Ordinal).ToArray(),
            Resources = grant.Resources.Select(r => r.Trim()).Distinct(StringComparer.Ordinal).ToArray(),
            GrantedBy = grant.GrantedBy, GrantedByIssuer = grant.GrantedByIssuer, Purpose = grant.Purpose, GrantedAt = now, ExpiresAt = grant.ExpiresAt,
            DelegatorAgentId = grant.DelegatorAgentId, ParentGrantId = grant.ParentGrantId,
            Condition = string.IsNullOrWhiteSpace(grant.Condition) ? null : grant.Condition,
            NotBefore = grant.NotBefore, SessionId = grant.SessionId, Depth = depth,
        };
        live.Add(delegation);
        var updated = agent with { Delegations = live, UpdatedAt = now };
        if (EstimateBytes(updated) > MaxRowBytes)
            return CommandResult<Delegation>.Fail(CommandError.Conflict, $"agent '{AgentId}' has too many or too large delegations to store another; remove some first");
        // Indexed first: a listed grant that was never stored is skipped by a cascade, while a stored
        // grant missing from its delegator's index would escape "revoke everything granted by X".
        var delegatorKey = grant.DelegatorAgentId is { } delegatorAgent ? DelegatorKeys.Agent(delegatorAgent) : DelegatorKeys.Principal(grant.GrantedBy);
        if (!await GrainFactory.GetGrain<IDelegatorIndexGrain>(delegatorKey).Add(new IssuedGrant { AgentId = AgentId, GrantId = delegation.Id, ParentGrantId = grant.ParentGrantId }))
            return CommandResult<Delegation>.Fail(CommandError.Conflict, $"delegator '{delegatorKey}' has issued the maximum number of grants");
        state.State = state.State with { Agent = updated };
        await WriteAndPushAsync();
        logger.LogInformation("Delegation {DelegationId} granted to agent {AgentId} by {GrantedBy} until {ExpiresAt}", delegation.Id, AgentId, grant.GrantedBy, grant.ExpiresAt);
        await GovernanceEvents.PublishAsync(governanceSink, logger, new GovernanceEvent
        {
            Kind = grant.SessionId is null ? "grant" : "elevation", Actor = grant.GrantedBy, ActorIssuer = grant.GrantedByIssuer, Reason = grant.Purpose ?? "", At = now,
            AgentId = AgentId, GrantId = delegation.Id,
            Detail = $"actions [{string.Join(", ", delegation.Actions)}] resources [{string.Join(", ", delegation.Resources)}] until {delegation.ExpiresAt:O}"
                + (grant.ParentGrantId is null ? "" : $" from {grant.DelegatorAgentId}/{grant.ParentGrantId}"),
        });
        return CommandResult<Delegation>.Ok(delegation);
    }

    public async Task<CommandResult<AgentInfo>> RemoveDelegation(string delegationId)
    {
        var revoked = await RevokeDelegation(delegationId, new GovernanceActor { Actor = "unknown", Reason = "delegation removed" });
        return revoked.IsSuccess
            ? CommandResult<AgentInfo>.Ok(state.State.Agent!)
            : CommandResult<AgentInfo>.Fail(revoked.Error, revoked.Message ?? "not removed");
    }

    public async Task<CommandResult<Delegation>> RevokeDelegation(string delegationId, GovernanceActor by)
    {
        if (state.State.Agent is not { } agent)
            return CommandResult<Delegation>.Fail(CommandError.NotFound, $"agent '{AgentId}' not found");
        if (!agent.Delegations.Any(d => d.Id == delegationId))
            return CommandResult<Delegation>.Fail(CommandError.NotFound, $"delegation '{delegationId}' not found on agent '{AgentId}' (or already revoked)");
        var revoked = await RevokeWhereAsync(d => d.Id == delegationId, by, $"grant {delegationId}");
        return CommandResult<Delegation>.Ok(revoked.Single());
    }

    public async Task<CommandResult<IReadOnlyList<Delegation>>> RevokeAllDelegations(GovernanceActor by)
    {
        if (state.State.Agent is null)
            return CommandResult<IReadOnlyList<Delegation>>.Fail(CommandError.NotFound, $"agent '{AgentId}' not found");
        return CommandResult<IReadOnlyList<Delegation>>.Ok(await RevokeWhereAsync(_ => true, by, "all grants"));
    }

    public async Task<IReadOnlyList<Delegation>> RevokeDerived(string parentGrantId, GovernanceActor by)
    {
        if (state.State.Agent is not { } agent || !agent.Delegations.Any(d => d.ParentGrantId == parentGrantId)) return [];
        return await RevokeWhereAsync(d => d.ParentGrantId == parentGrantId, by, $"grants derived from {parentGrantId}");
    }

    public Task<GrantLink> GetGrantLink(string delegationId) => Task.FromResult(LinkOf(state.State.Agent, delegationId));

    /// <summary>One grant of <paramref name="agent"/> (current or revoked) with its holder's status; empty for an unknown agent.</summary>
    public static GrantLink LinkOf(AgentInfo? agent, string delegationId)
    {
        if (agent is null) return new GrantLink();
        var grant = agent.Delegations.FirstOrDefault(d => d.Id == delegationId) ?? agent.RevokedDelegations.FirstOrDefault(d => d.Id == delegationId);
        return new GrantLink { Grant = grant, HolderStatus = agent.Status, HolderFleet = agent.Fleet, HolderLabels = agent.Labels };
    }

    /// <summary>Moves the matching current grants to the revoked list, persists, reports, and tells the sessions.</summary>
    private async Task<IReadOnlyList<Delegation>> RevokeWhereAsync(Func<Delegation, bool> match, GovernanceActor by, string what)
    {
        var agent = state.State.Agent!;
        var now = clock.UtcNow;
        var revoked = agent.Delegations.Where(match)
            .Select(d => d with { RevokedAt = now, RevokedBy = by.Actor, RevokedByIssuer = by.Issuer, RevokeReason = by.Reason })
            .ToArray();
        if (revoked.Length == 0) return revoked;
        var revokedIds = revoked.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        var updated = agent with
        {
            Delegations = agent.Delegations.Where(d => !revokedIds.Contains(d.Id)).ToArray(),
            RevokedDelegations = agent.RevokedDelegations.Concat(revoked).TakeLast(MaxRevokedKept).ToArray(),
            UpdatedAt = now,
        };
        state.State = state.State with { Agent = updated };
        await WriteAndPushAsync();
        logger.LogWarning("Agent {AgentId}: revoked {What} ({Count}) by {Actor}: {Reason}", AgentId, what, revoked.Length, by.Actor, by.Reason);
        foreach (var grant in revoked)
        {
            await GovernanceEvents.PublishAsync(governanceSink, logger, new GovernanceEvent
            {
                Kind = "revoke-grant", Actor = by.Actor, ActorIssuer = by.Issuer, Reason = by.Reason, At = now, AgentId = AgentId, GrantId = grant.Id, Detail = what,
            });
        }
        NotifySessions(what, by, now);
        return revoked;
    }

    /// <summary>
    /// Persists a change of what decisions read (status, grants) and drops this agent from every silo's
    /// <see cref="AuthorityView"/> before the changing call returns.
    /// </summary>
    private async Task WriteAndPushAsync()
    {
        await state.WriteStateAsync();
        await authorityPush.ChangedAsync(AuthorityView.AgentKey(AgentId));
    }

    /// <summary>
    /// Notes the revocation in the agent's live sessions. One-way and after persisting: enforcement
    /// never depends on it (every decision reads this grain's state, through the silo's authority view).
    /// </summary>
    private void NotifySessions(string what, GovernanceActor by, DateTimeOffset at)
    {
        var notice = new RevocationNotice { AgentId = AgentId, What = what, Actor = by.Actor, Reason = by.Reason, At = at };
        try
        {
            _ = GrainFactory.GetGrain<IRevocationFanoutGrain>(0).Notify(notice);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not hand revocation notices for agent {AgentId} to the fan-out", AgentId);
        }
    }

    /// <summary>Checks a sub-delegation's parent grant: (parent depth, problem, error kind).</summary>
    private async Task<(int Depth, string? Problem, CommandError Error)> CheckParentAsync(DelegationGrant grant, DateTimeOffset now)
    {
        if (grant.ParentGrantId is null || grant.DelegatorAgentId is null)
            return (0, "a sub-delegation names both delegatorAgentId and parentGrantId", CommandError.Invalid);
        if (string.Equals(grant.DelegatorAgentId, AgentId, StringComparison.Ordinal))
            return (0, "an agent cannot delegate to itself", CommandError.Invalid);
        var link = await GrainFactory.GetGrain<IAgentGrain>(grant.DelegatorAgentId).GetGrantLink(grant.ParentGrantId);
        if (link.HolderStatus is null) return (0, $"delegating agent '{grant.DelegatorAgentId}' not found", CommandError.NotFound);
        if (link.Grant is not { } parent) return (0, $"grant '{grant.ParentGrantId}' not found on agent '{grant.DelegatorAgentId}'", CommandError.NotFound);
        if (link.HolderStatus != AgentStatus.Active) return (0, $"delegating agent '{grant.DelegatorAgentId}' is not active", CommandError.Conflict);
        if (!parent.IsLiveAt(now)) return (0, $"parent grant '{parent.Id}' is not in force (revoked, expired or not yet valid)", CommandError.Conflict);
        if (GrantRules.AttenuationProblem(grant, parent, now) is { } problem) return (0, $"attenuation: {problem}", CommandError.Invalid);
        return (parent.Depth, null, CommandError.None);
    }

    /// <summary>Upper bound of the agent's stored JSON size.</summary>
    public static int EstimateBytes(AgentInfo agent) =>
        1024
        + agent.RevokedDelegations.Sum(EstimateBytes)
        + new[] { agent.Id, agent.Name, agent.Owner, agent.Fleet, agent.StatusReason, agent.StatusChangedBy, agent.StatusChangedByIssuer }.Sum(JsonSize.EscapedUtf8Bytes)
        + agent.Labels.Sum(l => JsonSize.EscapedUtf8Bytes(l.Key) + JsonSize.EscapedUtf8Bytes(l.Value) + 2)
        + agent.Delegations.Sum(EstimateBytes);

    private static int EstimateBytes(Delegation d) =>
        512 + new[] { d.Id, d.GrantedBy, d.GrantedByIssuer, d.Purpose, d.DelegatorAgentId, d.ParentGrantId, d.Condition, d.SessionId, d.RevokedBy, d.RevokedByIssuer, d.RevokeReason }.Sum(JsonSize.EscapedUtf8Bytes)
        + d.Actions.Sum(a => JsonSize.EscapedUtf8Bytes(a) + 1) + d.Resources.Sum(r => JsonSize.EscapedUtf8Bytes(r) + 1);

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
        for (var i = 0; i < grant.Resources.Count; i++)
        {
            var resource = grant.Resources[i];
            if (CheckText($"resources[{i}]", resource, maxLength: MaxResourcePatternLength) is { } problem) return problem;
            if (!ResourcePattern.TryParse(resource, out var pattern, out var error)) return $"resources[{i}]: {error}";
            if (pattern.Glob is { } glob && ResourcePattern.GlobLimitProblem(glob, $"resources[{i}]") is { } tooLarge) return tooLarge;
        }
        if (CheckText("grantedBy", grant.GrantedBy) is { } grantor) return grantor;
        if (grant.Purpose is { Length: > 1024 }) return "purpose is longer than 1024 characters";
        if (grant.ExpiresAt <= now) return $"expiresAt ({grant.ExpiresAt:O}) must be in the future";
        if (grant.NotBefore is { } notBefore && notBefore >= grant.ExpiresAt) return $"notBefore ({notBefore:O}) must be before expiresAt";
        if (grant.SessionId is { } sessionId && CheckText("sessionId", sessionId) is { } session) return session;
        if (grant.DelegatorAgentId is { } delegator && CheckText("delegatorAgentId", delegator) is { } delegatorProblem) return delegatorProblem;
        if (grant.ParentGrantId is { } parentId && CheckText("parentGrantId", parentId) is { } parentProblem) return parentProblem;
        return null;
    }

    private static string? CheckText(string field, string? value, bool allowEmpty = false, int maxLength = MaxTextLength)
    {
        if (value is null || (!allowEmpty && string.IsNullOrWhiteSpace(value))) return $"{field} must not be empty";
        if (value.Length > maxLength) return $"{field} is longer than {maxLength} characters";
        return null;
    }
}

/// <summary>The single-row agent directory of earlier versions; read only to move its ids into the <see cref="FleetIndex"/>.</summary>
public sealed record AgentDirectoryState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public IReadOnlyList<string> AgentIds { get; init; } = [];
}

/// <summary>
/// Pages over the agents in the <see cref="FleetIndex"/>. On its first listing it moves the ids of
/// an earlier version's one-row directory into the index and empties that row.
/// </summary>
public sealed class AgentDirectoryGrain(
    [PersistentState("agentDirectory", AuthzStorage.ProviderName)] IPersistentState<AgentDirectoryState> legacy,
    FleetIndex fleetIndex) : Grain, IAgentDirectoryGrain
{
    private Task? migration;

    public async Task<CommandResult<AgentIdPage>> List(int limit, string? continuation)
    {
        try
        {
            await (migration ??= MigrateLegacyAsync());
        }
        catch
        {
            migration = null; // the next listing tries again
            throw;
        }
        return await fleetIndex.ListAgentsAsync(limit, continuation);
    }

    private async Task MigrateLegacyAsync()
    {
        if (legacy.State.AgentIds.Count == 0) return;
        foreach (var chunk in legacy.State.AgentIds.Chunk(32))
            await Task.WhenAll(chunk.Select(id => fleetIndex.AddAgentAsync(id)));
        await legacy.ClearStateAsync();
    }
}
