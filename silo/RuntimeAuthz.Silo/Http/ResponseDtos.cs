using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Silo.Http;

// Replies that were anonymous objects, now records (same JSON), so the OpenAPI document has their schemas.

public sealed record TimelineDto(IReadOnlyList<SessionEventDto> Events, long? NextAfter);

/// <summary>One stored evidence record: its canonical body, hash and signature, as a verifier needs them.</summary>
/// <param name="Proof">Set when one signature covers the record's batch: the record's audit path to the signed root.</param>
public sealed record EvidenceRecordDto(long Seq, string Body, string Hash, string Signature, string KeyId, string? Proof = null);

/// <param name="MinimumRecords">Records the chain must hold at least (a session's decision count): fewer means records were removed.</param>
public sealed record EvidenceChainDto(string Chain, long MinimumRecords, IReadOnlyList<EvidenceRecordDto> Records);

public sealed record EvidenceChainListDto(IReadOnlyList<string> Chains);

public sealed record EvidenceCheckpointDto(string Writer, long Seq, string Body, string Hash, string Signature, string KeyId);

public sealed record EvidenceCheckpointListDto(bool Configured, IReadOnlyList<EvidenceCheckpointDto> Checkpoints);

public sealed record EvidenceKeyDto(string KeyId, string PublicKeyPem);

public sealed record EvidenceKeyListDto(IReadOnlyList<EvidenceKeyDto> Keys);

/// <summary>The AuthZEN PDP metadata.</summary>
public sealed record AuthZenConfigurationDto(
    [property: JsonPropertyName("policy_decision_point")] string PolicyDecisionPoint,
    [property: JsonPropertyName("access_evaluation_endpoint")] string AccessEvaluationEndpoint,
    [property: JsonPropertyName("access_evaluations_endpoint")] string AccessEvaluationsEndpoint,
    [property: JsonPropertyName("search_subject_endpoint")] string SearchSubjectEndpoint,
    [property: JsonPropertyName("search_resource_endpoint")] string SearchResourceEndpoint,
    [property: JsonPropertyName("search_action_endpoint")] string SearchActionEndpoint);

/// <summary>One page of an AuthZEN search (built as JSON by the endpoint; this record is its schema).</summary>
public sealed record AuthZenSearchDto(
    [property: JsonPropertyName("results")] IReadOnlyList<JsonObject> Results,
    [property: JsonPropertyName("page")] AuthZenPageDto Page);

public sealed record AuthZenPageDto(
    [property: JsonPropertyName("next_token")] string NextToken,
    [property: JsonPropertyName("count")] int Count);

/// <summary>
/// The <c>context</c> of an AuthZEN decision (built as JSON by the endpoint; this record is its schema). <c>access_request</c> is present
/// for ApprovalRequired (where to wait), <c>approval</c> when an approval was used or refused.
/// </summary>
public sealed record AuthZenDecisionContextDto(
    [property: JsonPropertyName("decision_id")] Guid DecisionId,
    [property: JsonPropertyName("outcome")] string Outcome,
    [property: JsonPropertyName("policy_version")] long PolicyVersion,
    [property: JsonPropertyName("reasons")] IReadOnlyList<string> Reasons,
    [property: JsonPropertyName("session_id")] string SessionId,
    [property: JsonPropertyName("risk_added")] long RiskAdded,
    [property: JsonPropertyName("cumulative_risk")] long CumulativeRisk,
    [property: JsonPropertyName("deny_reason")] string? DenyReason,
    [property: JsonPropertyName("approval_required")] bool? ApprovalRequired,
    [property: JsonPropertyName("access_request")] JsonObject? AccessRequest,
    [property: JsonPropertyName("approval")] JsonObject? Approval,
    [property: JsonPropertyName("errors")] JsonArray? Errors,
    [property: JsonPropertyName("entity_store_version")] long? EntityStoreVersion);

public sealed record AuthZenDecisionDto([property: JsonPropertyName("decision")] bool Decision, [property: JsonPropertyName("context")] AuthZenDecisionContextDto Context);

public sealed record AuthZenDecisionsDto([property: JsonPropertyName("evaluations")] IReadOnlyList<AuthZenDecisionDto> Evaluations);

public sealed record DevTokenDto(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("token_type")] string TokenType,
    [property: JsonPropertyName("expires_in")] long ExpiresIn);
