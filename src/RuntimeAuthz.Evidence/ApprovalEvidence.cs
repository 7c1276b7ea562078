using System.Text.Json.Serialization;

namespace RuntimeAuthz.Evidence;

/// <summary>The steps of an approval request, as its records name them (<see cref="ApprovalEvidence.Act"/>).</summary>
public static class ApprovalActs
{
    /// <summary>On the ApprovalRequired decision's record: the request exists from this record on.</summary>
    public const string Requested = "requested";
    public const string Approved = "approved";
    public const string Rejected = "rejected";
    public const string Expired = "expired";
    public const string Cancelled = "cancelled";
    /// <summary>On the allowed decision's record: the approval is used up by it.</summary>
    public const string Consumed = "consumed";
    /// <summary>On a denied decision's record: the approval was named but could not be used (the deny reason says why).</summary>
    public const string Presented = "presented";
    /// <summary>An approve/reject/cancel attempt by someone who may not: evidence of the attempt.</summary>
    public const string Refused = "refused";
}

/// <summary>
/// The approval part of a record (signed with it): which request, what happened to it and what it binds.
/// A session's approvals are rebuilt from these parts of its chain.
/// </summary>
public sealed record ApprovalEvidence
{
    [JsonPropertyName("id")] public string Id { get; init; } = "";
    [JsonPropertyName("act")] public string Act { get; init; } = "";
    /// <summary><c>sha256:&lt;hex&gt;</c> over the RFC 8785 form of subject, action, resource and input.</summary>
    [JsonPropertyName("bindingDigest")] public string? BindingDigest { get; init; }
    [JsonPropertyName("expiresAt")] public string? ExpiresAt { get; init; }
    /// <summary>Distinct approvers needed (the policies' <c>@approval</c>).</summary>
    [JsonPropertyName("required")] public int? Required { get; init; }
    /// <summary>Who asked for the decision that created the request (the token subject, or the agent).</summary>
    [JsonPropertyName("requester")] public string? Requester { get; init; }
    /// <summary>Rejection reason, approver's comment or refusal.</summary>
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    /// <summary>The session's risk when the request was made.</summary>
    [JsonPropertyName("sessionRisk")] public long? SessionRisk { get; init; }
    /// <summary>Requested: a summary of the session's recent decisions, newest last.</summary>
    [JsonPropertyName("timeline")] public IReadOnlyList<string>? Timeline { get; init; }
}
