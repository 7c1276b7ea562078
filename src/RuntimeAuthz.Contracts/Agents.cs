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
    [Id(10)] public IReadOnlyList<Delegation> Delegations { get; init; } = [];
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
}

/// <summary>The list of registered agent ids (singleton, key 0).</summary>
[Alias("authz.IAgentDirectoryGrain")]
public interface IAgentDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Adds the id (idempotent); false when the directory row is full.</summary>
    [Alias("Add")] Task<bool> Add(string agentId);
    [Alias("List")] Task<IReadOnlyList<string>> List();
}
