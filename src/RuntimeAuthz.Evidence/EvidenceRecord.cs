using System.Text.Json.Serialization;

namespace RuntimeAuthz.Evidence;

/// <summary>What an evidence record attests.</summary>
public static class EvidenceKinds
{
    public const string Decision = "decision";
    public const string Approval = "approval";
    public const string Revocation = "revocation";
    public const string Grant = "grant";
    public const string PolicyPublish = "policy-publish";
    public const string PolicyRollback = "policy-rollback";
    public const string AgentStatus = "agent-status";
    public const string Governance = "governance";
    /// <summary>A reported outcome (response or error) of an allowed decision, in the session's chain.</summary>
    public const string Outcome = "outcome";
    /// <summary>An outcome report that was refused (denied, unknown or already reported decision): evidence of the attempt.</summary>
    public const string OutcomeRefused = "outcome-refused";
    /// <summary>A note in a session's chain, e.g. that its agent's authority was revoked.</summary>
    public const string SessionNote = "session-note";
    /// <summary>The first record of a session's chain: who opened it, for which agent, until when.</summary>
    public const string SessionOpen = "session-open";
}

/// <summary>Chain ids: one chain per session, one for governance events.</summary>
public static class EvidenceChains
{
    public const string Governance = "governance";
    private const string SessionPrefix = "session:";

    public static string ForSession(string sessionId) => SessionPrefix + sessionId;

    /// <summary>The chain of a principal's session-less decisions; the key escapes what a table key may not hold.</summary>
    public static string ForSessionless(string principalKey) => SessionlessPrefix + principalKey;

    public const string SessionlessPrefix = "sessionless:";

    public static string? SessionOf(string chainId) => chainId.StartsWith(SessionPrefix, StringComparison.Ordinal) ? chainId[SessionPrefix.Length..] : null;
}

/// <summary>
/// The signed content of one evidence record. Its hash is SHA-256 over the RFC 8785 canonical
/// JSON of this object (camelCase names, nulls omitted) and the signature is over the same bytes,
/// so every field here, including the previous record's hash and the key id, is covered.
/// </summary>
public sealed record EvidenceBody
{
    public const int CurrentFormat = 1;
    /// <summary>64 zeros: the previous hash of a chain's first record.</summary>
    public static readonly string GenesisHash = new('0', 64);

    [JsonPropertyName("format")] public int Format { get; init; } = CurrentFormat;
    [JsonPropertyName("chain")] public string Chain { get; init; } = "";
    [JsonPropertyName("seq")] public long Sequence { get; init; }
    [JsonPropertyName("time")] public string Time { get; init; } = "";
    [JsonPropertyName("kind")] public string Kind { get; init; } = EvidenceKinds.Decision;
    [JsonPropertyName("decisionId")] public string? DecisionId { get; init; }
    [JsonPropertyName("agentId")] public string? AgentId { get; init; }
    [JsonPropertyName("sessionId")] public string? SessionId { get; init; }
    [JsonPropertyName("action")] public string? Action { get; init; }
    [JsonPropertyName("resource")] public string? Resource { get; init; }
    /// <summary><c>sha256:&lt;hex&gt;</c> of the full canonical input (before redaction and truncation).</summary>
    [JsonPropertyName("inputDigest")] public string? InputDigest { get; init; }
    /// <summary>The canonical input with redacted fields replaced, truncated when huge.</summary>
    [JsonPropertyName("input")] public string? Input { get; init; }
    [JsonPropertyName("inputTruncated")] public bool? InputTruncated { get; init; }
    [JsonPropertyName("outcome")] public string? Outcome { get; init; }
    [JsonPropertyName("denyReason")] public string? DenyReason { get; init; }
    [JsonPropertyName("determiningPolicies")] public IReadOnlyList<string>? DeterminingPolicies { get; init; }
    [JsonPropertyName("policyVersion")] public long? PolicyVersion { get; init; }
    /// <summary>Decision records: the entity store version the decision read (omitted when none was loaded).</summary>
    [JsonPropertyName("entityStoreVersion")] public long? EntityStoreVersion { get; init; }
    /// <summary>Risk an allowed decision added to its session (omitted when none).</summary>
    [JsonPropertyName("riskAdded")] public long? RiskAdded { get; init; }
    /// <summary>Set on a decision record that replaces an earlier record of the same decision (its sequence): the caller was told what this one says.</summary>
    [JsonPropertyName("supersedes")] public long? Supersedes { get; init; }
    /// <summary>Outcome records: <c>response</c> or <c>error</c>.</summary>
    [JsonPropertyName("report")] public string? Report { get; init; }
    /// <summary>Outcome records: who reported it, <c>agent</c> or <c>enforcement-point</c> (the reporter's id is <see cref="Actor"/>).</summary>
    [JsonPropertyName("reporterKind")] public string? ReporterKind { get; init; }
    [JsonPropertyName("approvalIds")] public IReadOnlyList<string>? ApprovalIds { get; init; }
    /// <summary>Approval records, and decisions that request or use an approval: what happened to which request.</summary>
    [JsonPropertyName("approval")] public ApprovalEvidence? Approval { get; init; }
    /// <summary>Who caused a governance event (publisher, approver, revoker).</summary>
    [JsonPropertyName("actor")] public string? Actor { get; init; }
    /// <summary>Decision records of an agent acting for a user (a token with <c>act</c>): that user, as a Cedar entity literal.</summary>
    [JsonPropertyName("onBehalfOf")] public string? OnBehalfOf { get; init; }
    [JsonPropertyName("detail")] public string? Detail { get; init; }
    [JsonPropertyName("prevHash")] public string PreviousHash { get; init; } = GenesisHash;
    [JsonPropertyName("keyId")] public string KeyId { get; init; } = "";
}

/// <summary>
/// One stored record: the canonical body text exactly as signed, its SHA-256 (hex) and the
/// signature (base64url, ECDSA P-256, IEEE P1363 r||s): over the body bytes, or, when
/// <see cref="Proof"/> is set, over the root of the batch the record was written in.
/// </summary>
public sealed record EvidenceEntry(string Chain, long Sequence, string Body, string Hash, string Signature, string KeyId)
{
    /// <summary>
    /// Stored beside the signed record, not part of it: what the chain's owner needs to rebuild its
    /// state from the record (for a session: the unredacted input its temporal history replays). Never exported.
    /// </summary>
    public string? Replay { get; init; }

    /// <summary>
    /// Set when one signature covers the record's batch: the record's audit path to the signed root
    /// (<c>index/count:hash:hash...</c>, see <see cref="EvidenceBatchSeal"/>). Null: the signature is over the body.
    /// </summary>
    public string? Proof { get; init; }
}

/// <summary>The last record of a chain: the next record gets <c>Sequence + 1</c> and links to <c>Hash</c>.</summary>
public sealed record EvidenceHead(long Sequence, string Hash)
{
    public static readonly EvidenceHead Empty = new(0, EvidenceBody.GenesisHash);
}
