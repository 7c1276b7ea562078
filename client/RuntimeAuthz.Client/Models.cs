using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Client;

/// <summary>Lifecycle status of an agent identity. <c>Revoked</c> is final.</summary>
[JsonConverter(typeof(CamelCaseEnumConverter<AgentStatus>))]
public enum AgentStatus { Active, Suspended, Revoked }

/// <summary>Status of an agent session.</summary>
[JsonConverter(typeof(CamelCaseEnumConverter<SessionStatus>))]
public enum SessionStatus { Open, Closed, Expired }

/// <summary>Result of one authorization decision. Only <c>Allow</c> lets the call run.</summary>
[JsonConverter(typeof(ExactNameEnumConverter<DecisionOutcome>))]
public enum DecisionOutcome { Deny, Allow, ApprovalRequired }

/// <summary>Kind of an event in a session's history.</summary>
[JsonConverter(typeof(CamelCaseEnumConverter<SessionEventKind>))]
public enum SessionEventKind { Request, Response, Error, Revocation }

/// <summary>Kind of outcome a caller reports after executing an allowed call.</summary>
[JsonConverter(typeof(CamelCaseEnumConverter<OutcomeKind>))]
public enum OutcomeKind { Response, Error }

/// <summary>Enum as a camelCase string (<c>active</c>, <c>response</c>); reading ignores case.</summary>
public sealed class CamelCaseEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.CamelCase, allowIntegerValues: false)
    where TEnum : struct, Enum;

/// <summary>Enum as its member name (<c>ApprovalRequired</c>); reading ignores case, numbers are rejected.</summary>
public sealed class ExactNameEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(namingPolicy: null, allowIntegerValues: false)
    where TEnum : struct, Enum;

// ---------------------------------------------------------------------------------------
// Agents
// ---------------------------------------------------------------------------------------

/// <summary>Body of <c>POST /v1/agents</c>.</summary>
public sealed record RegisterAgentRequest(
    string Id,
    string Name,
    string Owner,
    string Fleet,
    IReadOnlyDictionary<string, string>? Labels = null);

/// <summary>Body of <c>POST /v1/agents/{id}/status</c>.</summary>
public sealed record ChangeAgentStatusRequest(AgentStatus Status, string Reason);

/// <summary>Body of <c>POST /v1/agents/{id}/delegations</c>.</summary>
/// <param name="Actions">Action names, e.g. <c>read_file</c>.</param>
/// <param name="Resources">Resource patterns: <c>Document::"a"</c>, <c>Document::*</c> or <c>*</c>.</param>
public sealed record GrantDelegationRequest(
    IReadOnlyList<string> Actions,
    IReadOnlyList<string> Resources,
    DateTimeOffset ExpiresAt,
    string? Purpose = null);

/// <summary>
/// What every grant of authority states: which actions on which resources, by whom, why, since and until when.
/// <see cref="Delegation"/> (an agent's delegations) and <see cref="Grant"/> (with provenance and state) carry it.
/// </summary>
public abstract record GrantedAuthority
{
    public string Id { get; init; } = "";
    public IReadOnlyList<string> Actions { get; init; } = [];
    /// <summary>Resource patterns: <c>Document::"a"</c>, <c>Document::*</c> or <c>*</c>.</summary>
    public IReadOnlyList<string> Resources { get; init; } = [];
    public string GrantedBy { get; init; } = "";
    public string? Purpose { get; init; }
    public DateTimeOffset GrantedAt { get; init; }
    public DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>An explicit, time-bounded grant of authority to an agent.</summary>
public sealed record Delegation : GrantedAuthority
{
    /// <summary>Whether the delegation is still in force at <paramref name="now"/>.</summary>
    public bool IsLiveAt(DateTimeOffset now) => ExpiresAt > now;
}

/// <summary>An agent identity and the authority delegated to it.</summary>
public sealed record Agent(
    string Id,
    string Name,
    string Owner,
    string Fleet,
    IReadOnlyDictionary<string, string>? Labels,
    AgentStatus Status,
    DateTimeOffset RegisteredAt,
    IReadOnlyList<Delegation>? Delegations)
{
    /// <summary>Fields the service sent that this SDK version does not know; kept so nothing is lost.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; init; }
}

/// <summary>One page of <c>GET /v1/agents</c>; <see cref="Continuation"/> is null on the last page.</summary>
public sealed record AgentPage(IReadOnlyList<Agent> Agents, string? Continuation);

// ---------------------------------------------------------------------------------------
// Sessions and decisions
// ---------------------------------------------------------------------------------------

/// <summary>Body of <c>POST /v1/sessions</c>. Null lifetimes take the service defaults (3600 s and 900 s).</summary>
public sealed record OpenSessionRequest(string AgentId, int? LifetimeSeconds = null, int? IdleTimeoutSeconds = null);

/// <summary>Body of <c>POST /v1/sessions/{id}/close</c>.</summary>
public sealed record CloseSessionRequest(string? Reason = null);

/// <summary>One event in a session's history.</summary>
public sealed record SessionEvent(
    long Seq,
    SessionEventKind Kind,
    DateTimeOffset At,
    string? DecisionId,
    string? Action,
    string? Resource,
    DecisionOutcome? Outcome,
    long? PolicyVersion,
    IReadOnlyList<string>? Reasons,
    string? Detail)
{
    /// <summary>Fields the service sent that this SDK version does not know.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; init; }
}

/// <summary>An agent session: its chained actions, cumulative risk and privilege lifetime.</summary>
public sealed record Session(
    string Id,
    string AgentId,
    SessionStatus Status,
    DateTimeOffset OpenedAt,
    DateTimeOffset ExpiresAt,
    int IdleTimeoutSeconds,
    DateTimeOffset LastActivityAt,
    DateTimeOffset? ClosedAt,
    string? CloseReason,
    long CumulativeRisk,
    long DecisionCount,
    IReadOnlyList<SessionEvent>? Events)
{
    /// <summary>Fields the service sent that this SDK version does not know.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; init; }
}

/// <summary>The resource a call acts on: a Cedar entity <c>Type::"id"</c> with optional attributes.</summary>
public sealed record ResourceRef(string Type, string Id, JsonElement? Properties = null)
{
    /// <summary>Cedar literal form, e.g. <c>Document::"q3 report"</c>.</summary>
    public override string ToString() => EntityReference.Format(Type, Id);
}

/// <summary>Body of <c>POST /v1/sessions/{id}/decisions</c>: the call about to run.</summary>
/// <param name="Context">Extra context keys (a JSON object), merged into the Cedar context.</param>
/// <param name="Input">The tool input (a JSON object), visible to policy as <c>context.input</c>.</param>
/// <param name="ApprovalId">The approval this call uses: the id an earlier <see cref="DecisionOutcome.ApprovalRequired"/> answer named, once approved.</param>
public sealed record DecisionRequest(string Action, ResourceRef Resource, JsonElement? Context = null, JsonElement? Input = null, string? ApprovalId = null);

/// <summary>
/// What a decision says about an approval: <c>requested</c> (ApprovalRequired: the request it opened),
/// <c>consumed</c> (Allow: the approval it used up) or <c>presented</c> (Deny: why it could not be used, in <see cref="Reason"/>).
/// </summary>
/// <param name="WaitUrl">Where to wait for the approvers over HTTP (empty when the decision came through the cluster client).</param>
public sealed record DecisionApproval(string Id, string Act, string? BindingDigest, DateTimeOffset? ExpiresAt, int RequiredApprovals, string? Reason, string WaitUrl);

/// <summary>An error raised by one policy while deciding (the policy was skipped).</summary>
public sealed record PolicyError(string PolicyId, string Message);

/// <summary>An authorization decision. Anything but <see cref="DecisionOutcome.Allow"/> means: do not run the call.</summary>
public sealed record Decision(
    string DecisionId,
    DecisionOutcome Outcome,
    IReadOnlyList<string>? Reasons,
    IReadOnlyList<PolicyError>? Errors,
    long PolicyVersion,
    string? DenyReason,
    string SessionId,
    string AgentId,
    DateTimeOffset DecidedAt)
{
    /// <summary>Risk this decision added to the session (the max <c>@risk</c> of its determining policies), when the service reports it.</summary>
    public long? RiskAdded { get; init; }

    /// <summary>The session's cumulative risk after this decision, when the service reports it.</summary>
    public long? CumulativeRisk { get; init; }

    /// <summary>The approval this decision requested, used or could not use; null when the call named none and needs none.</summary>
    public DecisionApproval? Approval { get; init; }

    /// <summary>True only for <see cref="DecisionOutcome.Allow"/>.</summary>
    [JsonIgnore]
    public bool IsAllowed => Outcome == DecisionOutcome.Allow;

    /// <summary>Fields the service sent that this SDK version does not know.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; init; }
}

/// <summary>Body of <c>POST /v1/sessions/{id}/outcomes</c>: what happened after an allowed call ran.</summary>
public sealed record ReportOutcomeRequest(string DecisionId, OutcomeKind Kind, JsonElement? Output = null, string? Error = null);

// ---------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------

/// <summary>Body of <c>POST /v1/policies</c>. The author recorded is the caller's token subject.</summary>
/// <param name="Mode"><c>"shadow"</c> publishes a shadow version (evaluated beside every decision, never deciding); null or <c>"live"</c> publishes the next current version.</param>
public sealed record PublishPolicyRequest(string Policies, string? Schema, string? Note = null, string? Mode = null);

/// <summary>Body of <c>POST /v1/policies/rollback</c>. The author recorded is the caller's token subject.</summary>
public sealed record RollbackPolicyRequest(long Version, string? Note = null);

/// <summary>A policy version without its texts (as listed); <see cref="PolicyVersion"/> adds them.</summary>
public record PolicyVersionSummary
{
    public long Version { get; init; }
    public string Author { get; init; } = "";
    public string? Note { get; init; }
    public DateTimeOffset PublishedAt { get; init; }
    public int PolicyCount { get; init; }
    /// <summary>The version this one republished, when it was made by a rollback.</summary>
    public long? RolledBackFrom { get; init; }
    /// <summary>A shadow version: evaluated beside every decision, never deciding.</summary>
    public bool Shadow { get; init; }
    /// <summary>The shadow version whose texts this live version published (promote).</summary>
    public long? PromotedFrom { get; init; }

    /// <summary>Fields the service sent that this SDK version does not know; kept so nothing is lost.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; init; }
}

/// <summary>One published policy version, with its texts.</summary>
public sealed record PolicyVersion : PolicyVersionSummary
{
    public string Policies { get; init; } = "";
    public string? Schema { get; init; }
}

// ---------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------

/// <summary>
/// <c>GET /v1/whoami</c>: the caller as the service sees it. <paramref name="AgentId"/> is set for agent
/// tokens, <paramref name="Agents"/> for enforcement points (<c>*</c> = any agent).
/// </summary>
public sealed record WhoAmI(string Subject, string Issuer, IReadOnlyList<string> Roles, string? AgentId, IReadOnlyList<string>? Agents, DateTimeOffset? ExpiresAt)
{
    /// <summary>Fields the service sent that this SDK version does not know.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; init; }
}

// ---------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------

/// <summary>Result of a health probe: whether the endpoint answered 2xx, and its body.</summary>
public sealed record HealthStatus(bool Healthy, int StatusCode, string Body);
