using System.Text.Json.Serialization;
using Orleans.Concurrency;

namespace RuntimeAuthz.Contracts;

[JsonConverter(typeof(JsonStringEnumConverter<ApprovalStatus>))]
public enum ApprovalStatus { Pending, Approved, Rejected, Expired, Cancelled, Consumed }

/// <summary>Approval ids name their session: <c>&lt;session id&gt;~&lt;16 hex&gt;</c> ('~' never occurs in a session id).</summary>
public static class ApprovalIds
{
    public const char Separator = '~';
    public const int MaxLength = 128 + 17;

    public static string New(string sessionId) => $"{sessionId}{Separator}{Guid.NewGuid():N}"[..(sessionId.Length + 17)];

    /// <summary>The session of a well-formed approval id, or null.</summary>
    public static string? SessionOf(string approvalId)
    {
        var cut = approvalId.LastIndexOf(Separator);
        if (cut <= 0 || approvalId.Length > MaxLength || approvalId.Length - cut - 1 != 16) return null;
        foreach (var c in approvalId.AsSpan(cut + 1)) if (!char.IsAsciiHexDigitLower(c)) return null;
        return approvalId[..cut];
    }
}

/// <summary>What a decision says about the approval it created or used.</summary>
[GenerateSerializer, Immutable, Alias("authz.ApprovalTicket")]
public sealed record ApprovalTicket
{
    [Id(0)] public string Id { get; init; } = "";
    /// <summary>requested (ApprovalRequired), consumed (Allow) or presented (Deny: the reason says why it could not be used).</summary>
    [Id(1)] public string Act { get; init; } = "";
    [Id(2)] public string? BindingDigest { get; init; }
    [Id(3)] public DateTimeOffset? ExpiresAt { get; init; }
    [Id(4)] public int RequiredApprovals { get; init; }
    /// <summary>Presented: why it could not be used (e.g. the approver's rejection reason).</summary>
    [Id(5)] public string? Reason { get; init; }
}

[GenerateSerializer, Immutable, Alias("authz.ApproverVote")]
public sealed record ApproverVote
{
    [Id(0)] public string Approver { get; init; } = "";
    [Id(1)] public DateTimeOffset At { get; init; }
    [Id(2)] public string? Comment { get; init; }
}

/// <summary>An approval request as approvers and the agent see it.</summary>
[GenerateSerializer, Immutable, Alias("authz.ApprovalInfo")]
public sealed record ApprovalInfo
{
    [Id(0)] public string Id { get; init; } = "";
    [Id(1)] public string SessionId { get; init; } = "";
    [Id(2)] public string AgentId { get; init; } = "";
    [Id(3)] public ApprovalStatus Status { get; init; }
    [Id(4)] public string Action { get; init; } = "";
    [Id(5)] public string Resource { get; init; } = "";
    /// <summary>JSON: the call as the approver should see it (redaction applied).</summary>
    [Id(6)] public string? CallJson { get; init; }
    [Id(7)] public string BindingDigest { get; init; } = "";
    [Id(8)] public IReadOnlyList<string> DeterminingPolicies { get; init; } = [];
    [Id(9)] public long PolicyVersion { get; init; }
    [Id(10)] public long SessionRisk { get; init; }
    [Id(11)] public IReadOnlyList<string> Timeline { get; init; } = [];
    [Id(12)] public string Requester { get; init; } = "";
    [Id(13)] public int RequiredApprovals { get; init; } = 1;
    [Id(14)] public IReadOnlyList<ApproverVote> Approvals { get; init; } = [];
    [Id(15)] public DateTimeOffset RequestedAt { get; init; }
    [Id(16)] public DateTimeOffset ExpiresAt { get; init; }
    [Id(17)] public DateTimeOffset? ClosedAt { get; init; }
    /// <summary>Who rejected or cancelled it.</summary>
    [Id(18)] public string? ClosedBy { get; init; }
    [Id(19)] public string? Reason { get; init; }
    /// <summary>The decision that created it, and the one that used it.</summary>
    [Id(20)] public Guid RequestDecisionId { get; init; }
    [Id(21)] public Guid? ConsumedByDecisionId { get; init; }

    /// <summary>Who may decide it, in words.</summary>
    [JsonIgnore] public string WhoMayApprove => $"an approver other than agent '{AgentId}', its owner and the requester '{Requester}'"
        + (RequiredApprovals > 1 ? $"; {RequiredApprovals} distinct approvers" : "");

    [JsonIgnore] public bool IsOpen => Status is ApprovalStatus.Pending or ApprovalStatus.Approved;
}

/// <summary>An approver's (or the agent's) act, with the identity from the caller's token.</summary>
[GenerateSerializer, Immutable, Alias("authz.ApprovalAct")]
public sealed record ApprovalAct
{
    [Id(0)] public string Subject { get; init; } = "";
    [Id(1)] public string? Issuer { get; init; }
    /// <summary>The <c>agent_id</c> of the caller's token: an agent token never approves.</summary>
    [Id(2)] public string? CallerAgentId { get; init; }
    [Id(3)] public string? Reason { get; init; }
    /// <summary>Request method and path, for the record of a refused attempt.</summary>
    [Id(4)] public string? Via { get; init; }
}

/// <summary>The approvals of one session, owned by its session grain (same key): they are decided and used in its turn.</summary>
[Alias("authz.ISessionApprovalsGrain")]
public interface ISessionApprovalsGrain : IGrainWithStringKey
{
    [Alias("GetApproval")] Task<ApprovalInfo?> GetApproval(string approvalId);

    /// <summary>Approves: NotFound, Conflict (not pending, or this approver already approved), Forbidden (agent, owner, requester).</summary>
    [Alias("Approve")] Task<CommandResult<ApprovalInfo>> Approve(string approvalId, ApprovalAct act);

    /// <summary>Rejects with a reason (same refusals as <see cref="Approve"/>).</summary>
    [Alias("Reject")] Task<CommandResult<ApprovalInfo>> Reject(string approvalId, ApprovalAct act);

    /// <summary>Cancelled by the requesting agent (the HTTP layer checks the caller acts for it).</summary>
    [Alias("Cancel")] Task<CommandResult<ApprovalInfo>> Cancel(string approvalId, ApprovalAct act);
}

/// <summary>An approval as listed (key 0 keeps the most recent ones).</summary>
[GenerateSerializer, Immutable, Alias("authz.ApprovalSummary")]
public sealed record ApprovalSummary
{
    [Id(0)] public string Id { get; init; } = "";
    [Id(1)] public string SessionId { get; init; } = "";
    [Id(2)] public string AgentId { get; init; } = "";
    [Id(3)] public string Action { get; init; } = "";
    [Id(4)] public string Resource { get; init; } = "";
    [Id(5)] public ApprovalStatus Status { get; init; }
    [Id(6)] public DateTimeOffset RequestedAt { get; init; }
    [Id(7)] public DateTimeOffset ExpiresAt { get; init; }
    [Id(8)] public int RequiredApprovals { get; init; }
    [Id(9)] public int Approvals { get; init; }

    public static ApprovalSummary Of(ApprovalInfo a) => new()
    {
        Id = a.Id, SessionId = a.SessionId, AgentId = a.AgentId, Action = a.Action, Resource = a.Resource, Status = a.Status,
        RequestedAt = a.RequestedAt, ExpiresAt = a.ExpiresAt, RequiredApprovals = a.RequiredApprovals, Approvals = a.Approvals.Count,
    };
}

/// <summary>The list approvers browse (key 0); the session grains own the requests and keep it current.</summary>
[Alias("authz.IApprovalDirectoryGrain")]
public interface IApprovalDirectoryGrain : IGrainWithIntegerKey
{
    [Alias("Upsert")] Task Upsert(ApprovalSummary summary);

    /// <summary>Newest first; <paramref name="status"/> null = any.</summary>
    [Alias("List"), ReadOnly] Task<IReadOnlyList<ApprovalSummary>> List(ApprovalStatus? status, int limit);
}
