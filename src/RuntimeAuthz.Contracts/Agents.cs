using System.Text.Json.Serialization;

namespace RuntimeAuthz.Contracts;

/// <summary>Lifecycle of an agent identity. <see cref="Revoked"/> is final.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AgentStatus>))]
public enum AgentStatus { Active, Suspended, Revoked }

/// <summary>Input to <see cref="IAgentGrain.Register"/>; the agent id is the grain key.</summary>
[GenerateSerializer, Immutable, Alias("authz.AgentRegistration")]
public sealed record AgentRegistration
{
    [Id(0)] public string Name { get; init; } = "";
    [Id(1)] public string Owner { get; init; } = "";
    [Id(2)] public string Fleet { get; init; } = "";
    [Id(3)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
}

/// <summary>A requested status change, with who asked and why (kept for evidence).</summary>
[GenerateSerializer, Immutable, Alias("authz.AgentStatusChange")]
public sealed record AgentStatusChange
{
    [Id(0)] public AgentStatus Status { get; init; }
    [Id(1)] public string Reason { get; init; } = "";
    [Id(2)] public string Actor { get; init; } = "";
    [Id(3)] public string? ActorIssuer { get; init; }
}

/// <summary>
/// A request to delegate authority to an agent. Resources are patterns: an exact entity
/// <c>Type::"id"</c>, every entity of a type <c>Type::*</c>, or everything <c>*</c>.
/// Actions are action names, or <c>*</c> for every action.
/// </summary>
[GenerateSerializer, Immutable, Alias("authz.DelegationGrant")]
public sealed record DelegationGrant
{
    [Id(0)] public IReadOnlyList<string> Actions { get; init; } = [];
    [Id(1)] public IReadOnlyList<string> Resources { get; init; } = [];
    [Id(2)] public DateTimeOffset ExpiresAt { get; init; }
    [Id(3)] public string GrantedBy { get; init; } = "";
    [Id(4)] public string? Purpose { get; init; }
    /// <summary>Sub-delegation: the agent handing on part of its own grant <see cref="ParentGrantId"/>.</summary>
    [Id(5)] public string? DelegatorAgentId { get; init; }
    [Id(6)] public string? ParentGrantId { get; init; }
    /// <summary>A Cedar expression (as in a <c>when</c> clause) that must hold for the grant to cover a request.</summary>
    [Id(7)] public string? Condition { get; init; }
    /// <summary>The grant covers nothing before this instant (default: when granted).</summary>
    [Id(8)] public DateTimeOffset? NotBefore { get; init; }
    /// <summary>Just-in-time elevation: only decisions in this session may use the grant.</summary>
    [Id(9)] public string? SessionId { get; init; }
    /// <summary>The issuer of the grantor's token (<see cref="GrantedBy"/> is its subject).</summary>
    [Id(10)] public string? GrantedByIssuer { get; init; }
}

/// <summary>Authority delegated to an agent: which actions on which resources, until when.</summary>
[GenerateSerializer, Immutable, Alias("authz.Delegation")]
public sealed record Delegation
{
    [Id(0)] public string Id { get; init; } = "";
    [Id(1)] public IReadOnlyList<string> Actions { get; init; } = [];
    [Id(2)] public IReadOnlyList<string> Resources { get; init; } = [];
    [Id(3)] public string GrantedBy { get; init; } = "";
    [Id(4)] public string? Purpose { get; init; }
    [Id(5)] public DateTimeOffset GrantedAt { get; init; }
    [Id(6)] public DateTimeOffset ExpiresAt { get; init; }
    /// <summary>The agent that sub-delegated this grant from its own grant <see cref="ParentGrantId"/>; null when a human granted it.</summary>
    [Id(7)] public string? DelegatorAgentId { get; init; }
    [Id(8)] public string? ParentGrantId { get; init; }
    [Id(9)] public string? Condition { get; init; }
    [Id(10)] public DateTimeOffset? NotBefore { get; init; }
    /// <summary>Set for a just-in-time elevation bound to one session.</summary>
    [Id(11)] public string? SessionId { get; init; }
    /// <summary>0 for a grant made by a human principal, parent depth + 1 for a sub-delegation.</summary>
    [Id(12)] public int Depth { get; init; }
    [Id(13)] public DateTimeOffset? RevokedAt { get; init; }
    [Id(14)] public string? RevokedBy { get; init; }
    [Id(15)] public string? RevokeReason { get; init; }
    /// <summary>The issuers of the tokens whose subjects are <see cref="GrantedBy"/> and <see cref="RevokedBy"/>.</summary>
    [Id(16)] public string? GrantedByIssuer { get; init; }
    [Id(17)] public string? RevokedByIssuer { get; init; }

    /// <summary>The instant from which the grant covers requests.</summary>
    public DateTimeOffset StartsAt => NotBefore is { } notBefore && notBefore > GrantedAt ? notBefore : GrantedAt;

    public bool IsLiveAt(DateTimeOffset now) => RevokedAt is null && StartsAt <= now && now < ExpiresAt;
}

/// <summary>Who performed a governance action and why; recorded with its effect.</summary>
[GenerateSerializer, Immutable, Alias("authz.GovernanceActor")]
public sealed record GovernanceActor
{
    [Id(0)] public string Actor { get; init; } = "";
    [Id(1)] public string Reason { get; init; } = "";
    /// <summary>The issuer of the actor's token (<see cref="Actor"/> is its subject).</summary>
    [Id(2)] public string? Issuer { get; init; }
}

/// <summary>One link of a delegation chain as seen by its holder: the grant and whether its holder is active.</summary>
[GenerateSerializer, Immutable, Alias("authz.GrantLink")]
public sealed record GrantLink
{
    [Id(0)] public Delegation? Grant { get; init; }
    [Id(1)] public AgentStatus? HolderStatus { get; init; }
    [Id(2)] public string HolderFleet { get; init; } = "";
    [Id(3)] public IReadOnlyDictionary<string, string> HolderLabels { get; init; } = new Dictionary<string, string>();
}

/// <summary>An agent identity as stored and returned.</summary>
[GenerateSerializer, Immutable, Alias("authz.AgentInfo")]
public sealed record AgentInfo
{
    [Id(0)] public string Id { get; init; } = "";
    [Id(1)] public string Name { get; init; } = "";
    [Id(2)] public string Owner { get; init; } = "";
    [Id(3)] public string Fleet { get; init; } = "";
    [Id(4)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    [Id(5)] public AgentStatus Status { get; init; }
    [Id(6)] public string? StatusReason { get; init; }
    [Id(7)] public string? StatusChangedBy { get; init; }
    [Id(8)] public DateTimeOffset RegisteredAt { get; init; }
    [Id(9)] public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>Grants in force or waiting for their not-before (revoked grants move to <see cref="RevokedDelegations"/>).</summary>
    [Id(10)] public IReadOnlyList<Delegation> Delegations { get; init; } = [];
    /// <summary>The most recently revoked grants, with who revoked them, when and why (bounded).</summary>
    [Id(11)] public IReadOnlyList<Delegation> RevokedDelegations { get; init; } = [];
    [Id(12)] public string? StatusChangedByIssuer { get; init; }
}

/// <summary>The identity of one agent; key = agent id.</summary>
[Alias("authz.IAgentGrain")]
public interface IAgentGrain : IGrainWithStringKey
{
    /// <summary>Registers the agent; Conflict if it already exists.</summary>
    [Alias("Register")] Task<CommandResult<AgentInfo>> Register(AgentRegistration registration);

    /// <summary>The agent, or null when it was never registered.</summary>
    [Alias("Get")] Task<AgentInfo?> Get();

    /// <summary>Changes the status; Conflict when the agent is already revoked (revocation is final).</summary>
    [Alias("SetStatus")] Task<CommandResult<AgentInfo>> SetStatus(AgentStatusChange change);

    [Alias("AddDelegation")] Task<CommandResult<Delegation>> AddDelegation(DelegationGrant grant);

    [Alias("RemoveDelegation")] Task<CommandResult<AgentInfo>> RemoveDelegation(string delegationId);

    /// <summary>Revokes one grant (persisted before returning); returns the revoked grant. NotFound when it is not current.</summary>
    [Alias("RevokeDelegation")] Task<CommandResult<Delegation>> RevokeDelegation(string delegationId, GovernanceActor by);

    /// <summary>Revokes every current grant of the agent; returns the revoked grants.</summary>
    [Alias("RevokeAllDelegations")] Task<CommandResult<IReadOnlyList<Delegation>>> RevokeAllDelegations(GovernanceActor by);

    /// <summary>Revokes the agent's grants derived from <paramref name="parentGrantId"/> (cascade); returns them.</summary>
    [Alias("RevokeDerived")] Task<IReadOnlyList<Delegation>> RevokeDerived(string parentGrantId, GovernanceActor by);

    /// <summary>
    /// One grant (current or revoked) and the holder's status, for chain checks; null grant when unknown.
    /// A pure read that may interleave: sub-delegations between agents cannot deadlock, and a chain
    /// check never waits behind the holder's other calls. A revocation is visible from the moment
    /// its state is set (before it is persisted); a new grant whose write then fails leaves grants
    /// derived from it with a missing parent, which deny.
    /// </summary>
    [Alias("GetGrantLink"), Orleans.Concurrency.AlwaysInterleave] Task<GrantLink> GetGrantLink(string delegationId);
}

/// <summary>One page of agent ids from the fleet index; <see cref="Continuation"/> is null on the last page.</summary>
[GenerateSerializer, Immutable, Alias("authz.AgentIdPage")]
public sealed record AgentIdPage
{
    [Id(0)] public IReadOnlyList<string> AgentIds { get; init; } = [];
    /// <summary>Opaque; pass it back to get the next page.</summary>
    [Id(1)] public string? Continuation { get; init; }
}

/// <summary>Paged listing of registered agent ids (key 0) from the fleet index table: one row per agent, no row that grows with the fleet.</summary>
[Alias("authz.IAgentDirectoryGrain")]
public interface IAgentDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>At most <paramref name="limit"/> ids (1..<see cref="AgentDirectoryLimits.MaxPageSize"/>) after <paramref name="continuation"/>; Invalid for a bad limit or continuation.</summary>
    [Alias("List"), Orleans.Concurrency.AlwaysInterleave] Task<CommandResult<AgentIdPage>> List(int limit, string? continuation);
}

public static class AgentDirectoryLimits
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;
}
