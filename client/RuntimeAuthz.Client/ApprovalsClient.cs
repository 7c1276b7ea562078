using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Client;

/// <summary>An approver's approval of a request.</summary>
public sealed record ApproverVote(string Approver, DateTimeOffset At, string? Comment);

/// <summary>
/// An approval request (<c>GET /v1/approvals/{id}</c>): the held call as the approver sees it (redacted), its binding
/// digest, status (<c>pending</c>, <c>approved</c>, <c>rejected</c>, <c>expired</c>, <c>cancelled</c>, <c>consumed</c>) and who decided.
/// </summary>
public sealed record Approval(
    string Id,
    string SessionId,
    string AgentId,
    string Status,
    string Action,
    string Resource,
    JsonElement? Call,
    string BindingDigest,
    IReadOnlyList<string> DeterminingPolicies,
    long PolicyVersion,
    long SessionRisk,
    IReadOnlyList<string> Timeline,
    string Requester,
    string WhoMayApprove,
    int RequiredApprovals,
    IReadOnlyList<ApproverVote> Approvals,
    DateTimeOffset RequestedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? ClosedAt,
    string? ClosedBy,
    string? Reason,
    Guid RequestDecisionId,
    Guid? ConsumedByDecisionId,
    string WaitUrl)
{
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; init; }

    /// <summary>Still waiting for approvers.</summary>
    public bool IsPending => Status == "pending";
}

/// <summary>One row of <c>GET /v1/approvals</c>.</summary>
public sealed record ApprovalSummary(string Id, string SessionId, string AgentId, string Action, string Resource, string Status,
    DateTimeOffset RequestedAt, DateTimeOffset ExpiresAt, int RequiredApprovals, int Approvals);

/// <summary>Body of <c>POST /v1/approvals/{id}/approve</c>.</summary>
public sealed record ApproveRequest(string? Comment = null);

/// <summary>Body of <c>POST /v1/approvals/{id}/reject</c> and <c>/cancel</c>.</summary>
public sealed record ReasonRequest(string? Reason);

public sealed partial class AuthzClient
{
    /// <summary><c>GET /v1/approvals</c>: newest first, optionally only those with <paramref name="status"/>.</summary>
    public Task<IReadOnlyList<ApprovalSummary>> ListApprovalsAsync(string? status = null, int? limit = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string>();
        if (status is not null) query.Add($"status={Uri.EscapeDataString(status)}");
        if (limit is { } n) query.Add($"limit={n.ToString(CultureInfo.InvariantCulture)}");
        return SendAsync<IReadOnlyList<ApprovalSummary>>(HttpMethod.Get, "v1/approvals" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), null, cancellationToken);
    }

    /// <summary><c>GET /v1/approvals/{id}</c>.</summary>
    public Task<Approval> GetApprovalAsync(string approvalId, CancellationToken cancellationToken = default) =>
        SendAsync<Approval>(HttpMethod.Get, $"v1/approvals/{Segment(approvalId)}", null, cancellationToken);

    /// <summary><c>GET /v1/approvals/{id}/wait</c>: answers once the request is decided, or after <paramref name="timeout"/> (at most 60 s) with it still pending.</summary>
    public Task<Approval> WaitForApprovalAsync(string approvalId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        SendAsync<Approval>(HttpMethod.Get,
            $"v1/approvals/{Segment(approvalId)}/wait?timeoutSeconds={((int)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture)}", null, cancellationToken);

    /// <summary><c>POST /v1/approvals/{id}/approve</c> (as the token's subject; never the agent, its owner or the requester).</summary>
    public Task<Approval> ApproveAsync(string approvalId, ApproveRequest? request = null, CancellationToken cancellationToken = default) =>
        SendAsync<Approval>(HttpMethod.Post, $"v1/approvals/{Segment(approvalId)}/approve", request ?? new ApproveRequest(), cancellationToken);

    /// <summary><c>POST /v1/approvals/{id}/reject</c>: a reason is required.</summary>
    public Task<Approval> RejectAsync(string approvalId, string reason, CancellationToken cancellationToken = default) =>
        SendAsync<Approval>(HttpMethod.Post, $"v1/approvals/{Segment(approvalId)}/reject", new ReasonRequest(reason), cancellationToken);

    /// <summary><c>POST /v1/approvals/{id}/cancel</c>: by the requesting agent (or its enforcement point).</summary>
    public Task<Approval> CancelApprovalAsync(string approvalId, string? reason = null, CancellationToken cancellationToken = default) =>
        SendAsync<Approval>(HttpMethod.Post, $"v1/approvals/{Segment(approvalId)}/cancel", new ReasonRequest(reason), cancellationToken);
}
