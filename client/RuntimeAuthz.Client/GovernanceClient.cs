using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Client;

/// <summary>
/// Body of <c>POST /v1/agents/{id}/grants</c>; the grantor recorded is the caller's token subject. A sub-delegation names the delegating agent and its
/// grant (<paramref name="DelegatorAgentId"/>, <paramref name="ParentGrantId"/>) and may only narrow it.
/// </summary>
/// <param name="Condition">A Cedar expression (as inside <c>when { … }</c>) that must hold for the grant to cover a request.</param>
public sealed record CreateGrantRequest(
    IReadOnlyList<string> Actions,
    IReadOnlyList<string> Resources,
    DateTimeOffset ExpiresAt,
    string? Purpose = null,
    string? Condition = null,
    DateTimeOffset? NotBefore = null,
    string? DelegatorAgentId = null,
    string? ParentGrantId = null);

/// <summary>Body of <c>POST /v1/sessions/{id}/elevations</c>: a short-lived grant only this session may use.</summary>
public sealed record CreateElevationRequest(
    IReadOnlyList<string> Actions,
    IReadOnlyList<string> Resources,
    int DurationSeconds,
    string? Purpose = null,
    string? Condition = null);

/// <summary>Why a governance action is taken (recorded with it; the actor recorded is the caller's token subject).</summary>
public sealed record GovernanceActionRequest(string Reason);

/// <summary>Body of <c>POST /v1/delegators/revoke</c>: exactly one of <paramref name="Agent"/> or <paramref name="Principal"/>.</summary>
public sealed record RevokeByDelegatorRequest(string Reason, string? Agent = null, string? Principal = null);

/// <summary>A grant of authority with its provenance and state (<c>active</c>, <c>pending</c>, <c>expired</c>, <c>revoked</c>).</summary>
public sealed record Grant : GrantedAuthority
{
    public DateTimeOffset? NotBefore { get; init; }
    /// <summary>A Cedar expression that must hold for the grant to cover a request.</summary>
    public string? Condition { get; init; }
    /// <summary>For a sub-delegation: the delegating agent and its grant.</summary>
    public string? DelegatorAgentId { get; init; }
    public string? ParentGrantId { get; init; }
    /// <summary>For a session elevation: the only session that may use it.</summary>
    public string? SessionId { get; init; }
    /// <summary>0 for a direct grant, n for the n-th sub-delegation.</summary>
    public int Depth { get; init; }
    public string Status { get; init; } = "";
    public DateTimeOffset? RevokedAt { get; init; }
    public string? RevokedBy { get; init; }
    public string? RevokeReason { get; init; }

    /// <summary>Fields the service sent that this SDK version does not know.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; init; }
}

/// <summary><c>GET /v1/agents/{id}/grants</c>: current grants and the most recently revoked ones.</summary>
public sealed record GrantList(string AgentId, IReadOnlyList<Grant> Grants, IReadOnlyList<Grant> Revoked);

public sealed record RevokedGrant(string AgentId, Grant Grant);

/// <summary>What a revocation revoked, cascades included; in force cluster-wide when returned.</summary>
public sealed record Revocation(DateTimeOffset RevokedAt, int Count, IReadOnlyList<RevokedGrant> Revoked);

public sealed record SuspensionChange(bool Suspended, DateTimeOffset At, string Actor, string Reason);

/// <summary>The suspension switch of a fleet (<c>fleet/&lt;name&gt;</c>) or label (<c>label/&lt;key&gt;=&lt;value&gt;</c>).</summary>
public sealed record Suspension(string Scope, bool Suspended, DateTimeOffset? ChangedAt, string? ChangedBy, string? Reason, IReadOnlyList<SuspensionChange> History);

public sealed partial class AuthzClient
{
    /// <summary><c>POST /v1/agents/{id}/grants</c>: grants (or sub-delegates) authority.</summary>
    public Task<Grant> CreateGrantAsync(string agentId, CreateGrantRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Grant>(HttpMethod.Post, $"v1/agents/{Segment(agentId)}/grants", request, cancellationToken);

    /// <summary><c>GET /v1/agents/{id}/grants</c>.</summary>
    public Task<GrantList> ListGrantsAsync(string agentId, CancellationToken cancellationToken = default) =>
        SendAsync<GrantList>(HttpMethod.Get, $"v1/agents/{Segment(agentId)}/grants", null, cancellationToken);

    /// <summary><c>GET /v1/agents/{id}/grants/{grantId}</c> (current or revoked).</summary>
    public Task<Grant> GetGrantAsync(string agentId, string grantId, CancellationToken cancellationToken = default) =>
        SendAsync<Grant>(HttpMethod.Get, $"v1/agents/{Segment(agentId)}/grants/{Segment(grantId)}", null, cancellationToken);

    /// <summary><c>POST /v1/agents/{id}/grants/{grantId}/revoke</c>: revokes one grant and everything derived from it.</summary>
    public Task<Revocation> RevokeGrantAsync(string agentId, string grantId, GovernanceActionRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Revocation>(HttpMethod.Post, $"v1/agents/{Segment(agentId)}/grants/{Segment(grantId)}/revoke", request, cancellationToken);

    /// <summary><c>POST /v1/agents/{id}/revoke</c>: revokes every grant of the agent (cascading).</summary>
    public Task<Revocation> RevokeAgentGrantsAsync(string agentId, GovernanceActionRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Revocation>(HttpMethod.Post, $"v1/agents/{Segment(agentId)}/revoke", request, cancellationToken);

    /// <summary><c>POST /v1/delegators/revoke</c>: revokes every grant a delegator issued (cascading).</summary>
    public Task<Revocation> RevokeByDelegatorAsync(RevokeByDelegatorRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Revocation>(HttpMethod.Post, "v1/delegators/revoke", request, cancellationToken);

    /// <summary><c>POST /v1/sessions/{id}/elevations</c>: a just-in-time grant bound to the session.</summary>
    public Task<Grant> ElevateAsync(string sessionId, CreateElevationRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Grant>(HttpMethod.Post, $"v1/sessions/{Segment(sessionId)}/elevations", request, cancellationToken);

    /// <summary><c>POST /v1/fleets/{fleet}/suspend</c> or <c>/reactivate</c>.</summary>
    public Task<Suspension> SetFleetSuspendedAsync(string fleet, bool suspended, GovernanceActionRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Suspension>(HttpMethod.Post, $"v1/fleets/{Segment(fleet)}/{(suspended ? "suspend" : "reactivate")}", request, cancellationToken);

    /// <summary><c>GET /v1/fleets/{fleet}/suspension</c>.</summary>
    public Task<Suspension> GetFleetSuspensionAsync(string fleet, CancellationToken cancellationToken = default) =>
        SendAsync<Suspension>(HttpMethod.Get, $"v1/fleets/{Segment(fleet)}/suspension", null, cancellationToken);

    /// <summary><c>POST /v1/labels/{key}/{value}/suspend</c> or <c>/reactivate</c>.</summary>
    public Task<Suspension> SetLabelSuspendedAsync(string key, string value, bool suspended, GovernanceActionRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Suspension>(HttpMethod.Post, $"v1/labels/{Segment(key)}/{Segment(value)}/{(suspended ? "suspend" : "reactivate")}", request, cancellationToken);

    /// <summary><c>GET /v1/labels/{key}/{value}/suspension</c>.</summary>
    public Task<Suspension> GetLabelSuspensionAsync(string key, string value, CancellationToken cancellationToken = default) =>
        SendAsync<Suspension>(HttpMethod.Get, $"v1/labels/{Segment(key)}/{Segment(value)}/suspension", null, cancellationToken);
}
