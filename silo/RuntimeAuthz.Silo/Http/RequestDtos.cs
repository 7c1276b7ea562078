using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Silo.Http;

// The request bodies as the endpoints read them (through RequestReading, which checks every field and names the wrong one).
// The records describe those bodies in the OpenAPI document (Accepts<T>); the endpoints do not bind them. Field names are the JSON's.

public sealed record RegisterAgentRequest(string Id, string Name, string Owner, string Fleet, IReadOnlyDictionary<string, string>? Labels);

/// <param name="Status"><c>active</c>, <c>suspended</c> or <c>revoked</c>.</param>
public sealed record AgentStatusRequest(string Status, string? Reason);

/// <summary>A delegation grant (<c>/grants</c> and <c>/delegations</c>); the grantor is the caller.</summary>
public sealed record GrantRequest(IReadOnlyList<string> Actions, IReadOnlyList<string> Resources, DateTimeOffset ExpiresAt, DateTimeOffset? NotBefore,
    string? Purpose, string? Condition, string? DelegatorAgentId, string? ParentGrantId);

/// <summary>Why (the actor is the caller): revocations, suspensions.</summary>
public sealed record ReasonRequest(string Reason);

/// <summary>Exactly one of <c>agent</c> (an agent that sub-delegated) or <c>principal</c> (a human <c>grantedBy</c>).</summary>
public sealed record DelegatorRevokeRequest(string? Agent, string? Principal, string Reason);

public sealed record ElevationRequest(IReadOnlyList<string> Actions, IReadOnlyList<string> Resources, long DurationSeconds, string? Purpose, string? Condition);

public sealed record OpenSessionRequest(string AgentId, long? LifetimeSeconds, long? IdleTimeoutSeconds);

/// <summary>An optional reason (closing a session, cancelling an approval request).</summary>
public sealed record OptionalReasonRequest(string? Reason);

/// <summary>The Cedar resource a call acts on.</summary>
public sealed record ResourceRequest(string Type, string Id, JsonObject? Properties);

/// <param name="Input">The tool input (<c>context.input</c> in Cedar).</param>
/// <param name="ApprovalId">The approval a re-submitted held call uses.</param>
public sealed record SessionDecisionRequest(string Action, ResourceRequest Resource, JsonObject? Context, JsonNode? Input, string? ApprovalId);

/// <param name="Kind"><c>response</c> or <c>error</c>.</param>
public sealed record OutcomeRequest(Guid DecisionId, string Kind, JsonNode? Output, string? Error);

/// <param name="Mode"><c>live</c> (the default) or <c>shadow</c> (evaluated beside the live version, never deciding: docs/policies-shadow.md).</param>
public sealed record PublishPolicyRequest(string Policies, string? Schema, string? Note, JsonObject? Catalog, string? Mode);

public sealed record RollbackPolicyRequest(long Version, string? Note);

public sealed record PublishCatalogRequest(JsonObject Catalog, string? Note);

public sealed record ApproveRequest(string? Comment);

public sealed record RejectRequest(string Reason);

/// <summary><c>POST /dev/token</c> (development silos only).</summary>
public sealed record DevTokenRequest(IReadOnlyList<string>? Roles, string? AgentId, IReadOnlyList<string>? Agents, string? Subject, long? LifetimeSeconds);

// AuthZEN 1.0 (snake_case on the wire).

public sealed record AuthZenSubject(string Type, string Id, JsonObject? Properties);

public sealed record AuthZenAction(string Name, JsonObject? Properties);

/// <param name="Context"><c>session_id</c> (required), <c>tool_input</c>, <c>approval_id</c>; the rest reaches policy as context.</param>
public sealed record AuthZenEvaluationRequest(AuthZenSubject Subject, AuthZenAction Action, ResourceRequest Resource, JsonObject? Context);

/// <param name="EvaluationsSemantic"><c>execute_all</c>, <c>deny_on_first_deny</c> or <c>permit_on_first_permit</c>.</param>
public sealed record AuthZenEvaluationsOptions([property: JsonPropertyName("evaluations_semantic")] string? EvaluationsSemantic);

/// <summary>Top-level subject, action, resource and context are defaults for each item; without <c>evaluations</c> it is one evaluation.</summary>
public sealed record AuthZenEvaluationsRequest(AuthZenSubject? Subject, AuthZenAction? Action, ResourceRequest? Resource, JsonObject? Context,
    IReadOnlyList<AuthZenEvaluationItem>? Evaluations, AuthZenEvaluationsOptions? Options);

public sealed record AuthZenEvaluationItem(AuthZenSubject? Subject, AuthZenAction? Action, ResourceRequest? Resource, JsonObject? Context);

/// <param name="Page"><c>limit</c> (1..the entity store's page size) and <c>token</c> (the previous page's <c>next_token</c>).</param>
public sealed record AuthZenSearchRequest(AuthZenSubject? Subject, AuthZenAction? Action, ResourceRequest? Resource, JsonObject? Context, AuthZenSearchPage? Page);

public sealed record AuthZenSearchPage([property: JsonPropertyName("limit")] int? Limit, [property: JsonPropertyName("token")] string? Token);
