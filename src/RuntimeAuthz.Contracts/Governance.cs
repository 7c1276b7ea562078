using Orleans.Concurrency;

namespace RuntimeAuthz.Contracts;

/// <summary>A fleet or label suspension: every agent in the scope is denied while it holds.</summary>
[GenerateSerializer, Immutable, Alias("authz.SuspensionInfo")]
public sealed record SuspensionInfo
{
    /// <summary><c>fleet/&lt;name&gt;</c> or <c>label/&lt;key&gt;=&lt;value&gt;</c>.</summary>
    [Id(0)] public string Scope { get; init; } = "";
    [Id(1)] public bool Suspended { get; init; }
    [Id(2)] public DateTimeOffset? ChangedAt { get; init; }
    [Id(3)] public string? ChangedBy { get; init; }
    [Id(4)] public string? Reason { get; init; }
    /// <summary>Every change, oldest first (bounded).</summary>
    [Id(5)] public IReadOnlyList<SuspensionChange> History { get; init; } = [];
    [Id(6)] public string? ChangedByIssuer { get; init; }
}

[GenerateSerializer, Immutable, Alias("authz.SuspensionChange")]
public sealed record SuspensionChange
{
    [Id(0)] public bool Suspended { get; init; }
    [Id(1)] public DateTimeOffset At { get; init; }
    [Id(2)] public string Actor { get; init; } = "";
    [Id(3)] public string Reason { get; init; } = "";
    [Id(4)] public string? ActorIssuer { get; init; }
}

/// <summary>The suspension switch of one fleet or label; key = scope (see <see cref="SuspensionScopes"/>).</summary>
[Alias("authz.ISuspensionGrain")]
public interface ISuspensionGrain : IGrainWithStringKey
{
    /// <summary>Suspends (true) or reactivates (false); persisted before returning.</summary>
    [Alias("Set")] Task<CommandResult<SuspensionInfo>> Set(bool suspended, GovernanceActor by);
    [Alias("Get")] Task<SuspensionInfo> Get();
}

public static class SuspensionScopes
{
    public static string Fleet(string fleet) => "fleet/" + fleet;
    public static string Label(string key, string value) => $"label/{key}={value}";
}

/// <summary>One grant issued by a delegator, as listed in its index.</summary>
[GenerateSerializer, Immutable, Alias("authz.IssuedGrant")]
public sealed record IssuedGrant
{
    [Id(0)] public string AgentId { get; init; } = "";
    [Id(1)] public string GrantId { get; init; } = "";
    [Id(2)] public string? ParentGrantId { get; init; }
}

/// <summary>
/// The grants one delegator issued; key = <c>agent:&lt;id&gt;</c> for an agent that sub-delegated,
/// <c>principal:&lt;name&gt;</c> for a human principal (<c>grantedBy</c>).
/// </summary>
[Alias("authz.IDelegatorIndexGrain")]
public interface IDelegatorIndexGrain : IGrainWithStringKey
{
    /// <summary>False when the index row is full (the grant is then refused).</summary>
    [Alias("Add")] Task<bool> Add(IssuedGrant grant);
    [Alias("List")] Task<IReadOnlyList<IssuedGrant>> List();
}

public static class DelegatorKeys
{
    public static string Agent(string agentId) => "agent:" + agentId;
    public static string Principal(string name) => "principal:" + name;
}

/// <summary>What a revocation call revoked (the grants, including those reached by cascade).</summary>
[GenerateSerializer, Immutable, Alias("authz.RevocationResult")]
public sealed record RevocationResult
{
    [Id(0)] public IReadOnlyList<RevokedGrant> Revoked { get; init; } = [];
    [Id(1)] public DateTimeOffset RevokedAt { get; init; }
}

[GenerateSerializer, Immutable, Alias("authz.RevokedGrant")]
public sealed record RevokedGrant
{
    [Id(0)] public string AgentId { get; init; } = "";
    [Id(1)] public Delegation Grant { get; init; } = new();
}

/// <summary>Orchestrates revocations that span agents (cascades, delegators); stateless.</summary>
[Alias("authz.IGovernanceGrain")]
public interface IGovernanceGrain : IGrainWithIntegerKey
{
    /// <summary>Revokes one grant and, by cascade, every grant derived from it.</summary>
    [Alias("RevokeGrant")] Task<CommandResult<RevocationResult>> RevokeGrant(string agentId, string grantId, GovernanceActor by);

    /// <summary>Revokes every grant of the agent and, by cascade, the grants derived from them.</summary>
    [Alias("RevokeAgent")] Task<CommandResult<RevocationResult>> RevokeAgent(string agentId, GovernanceActor by);

    /// <summary>Revokes every grant issued by a delegator (see <see cref="DelegatorKeys"/>), cascading.</summary>
    [Alias("RevokeByDelegator")] Task<CommandResult<RevocationResult>> RevokeByDelegator(string delegatorKey, GovernanceActor by);
}

/// <summary>A revocation noted in a live session's timeline.</summary>
[GenerateSerializer, Immutable, Alias("authz.RevocationNotice")]
public sealed record RevocationNotice
{
    [Id(0)] public string AgentId { get; init; } = "";
    /// <summary>What was revoked, e.g. <c>grant 0a1b…</c> or <c>all grants</c>.</summary>
    [Id(1)] public string What { get; init; } = "";
    [Id(2)] public string Actor { get; init; } = "";
    [Id(3)] public string Reason { get; init; } = "";
    [Id(4)] public DateTimeOffset At { get; init; }
}

/// <summary>Sessions receive revocation notices through this grain extension of the session grain.</summary>
[Alias("authz.IRevocationObserverGrain")]
public interface IRevocationObserverGrain : IGrainWithStringKey
{
    [Alias("NoteRevocation"), OneWay] Task NoteRevocation(RevocationNotice notice);
}

/// <summary>Fans a revocation notice out to the agent's sessions (<see cref="RevocationNotice.AgentId"/>), off the revoking call's path (stateless).</summary>
[Alias("authz.IRevocationFanoutGrain")]
public interface IRevocationFanoutGrain : IGrainWithIntegerKey
{
    [Alias("Notify"), OneWay] Task Notify(RevocationNotice notice);
}
