using System.Text.Json;
using RuntimeAuthz.Client;
using Wire = RuntimeAuthz.Contracts;

namespace RuntimeAuthz.ClusterClient;

/// <summary>Grain wire types in the HTTP SDK's public model, so callers of either client see the same records.</summary>
internal static class WireMapping
{
    public static Session ToSession(Wire.SessionInfo s) => new(
        s.Id, s.AgentId, ToSdk(s.Status), s.OpenedAt, s.ExpiresAt, (int)s.IdleTimeout.TotalSeconds, s.LastActivityAt, s.ClosedAt, s.CloseReason,
        s.CumulativeRisk, s.DecisionCount, [.. s.Events.Select(ToEvent)]);

    public static SessionEvent ToEvent(Wire.SessionEvent e) => new(
        e.Seq, ToSdk(e.Kind), e.At, e.DecisionId.ToString(), e.Action, e.Resource, e.Outcome is { } o ? ToSdk(o) : null, e.PolicyVersion, e.Reasons, e.Detail);

    public static Decision ToDecision(Wire.AuthzDecision d) => new(
        d.DecisionId.ToString(), ToSdk(d.Outcome), d.Reasons, [.. d.Errors.Select(e => new PolicyError(e.PolicyId, e.Message))], d.PolicyVersion,
        d.DenyReason, d.SessionId, d.AgentId, d.DecidedAt)
    {
        RiskAdded = d.RiskAdded,
        CumulativeRisk = d.CumulativeRisk,
        Approval = d.Approval is { } t ? new DecisionApproval(t.Id, t.Act, t.BindingDigest, t.ExpiresAt, t.RequiredApprovals, t.Reason, WaitUrl: "") : null,
    };

    public static Approval ToApproval(Wire.ApprovalInfo a) => new(
        a.Id, a.SessionId, a.AgentId, a.Status.ToString().ToLowerInvariant(), a.Action, a.Resource,
        a.CallJson is null ? null : JsonSerializer.Deserialize<JsonElement>(a.CallJson),
        a.BindingDigest, a.DeterminingPolicies, a.PolicyVersion, a.SessionRisk, a.Timeline, a.Requester, a.WhoMayApprove, a.RequiredApprovals,
        [.. a.Approvals.Select(v => new ApproverVote(v.Approver, v.At, v.Comment))], a.RequestedAt, a.ExpiresAt, a.ClosedAt, a.ClosedBy, a.Reason,
        a.RequestDecisionId, a.ConsumedByDecisionId, WaitUrl: "");

    /// <summary>A refused command as the HTTP API would answer it: 404, 409, 400 or 403 with the grain's message and located issues.</summary>
    public static AuthzApiException ToException<T>(Wire.CommandResult<T> failed)
    {
        var (status, title) = failed.Error switch
        {
            Wire.CommandError.NotFound => (404, "Not Found"),
            Wire.CommandError.Conflict => (409, "Conflict"),
            Wire.CommandError.Forbidden => (403, "Forbidden"),
            Wire.CommandError.Unavailable => (503, "Service Unavailable"),
            _ => (400, "Bad Request"),
        };
        return new AuthzApiException(status, title, failed.Message, type: failed.ProblemType,
            [.. failed.Issues.Select(i => new ApiErrorItem(i.Message, i.Line, i.Column, i.Source))], requestId: null);
    }

    public static DecisionOutcome ToSdk(Wire.DecisionOutcome outcome) => outcome switch
    {
        Wire.DecisionOutcome.Allow => DecisionOutcome.Allow,
        Wire.DecisionOutcome.ApprovalRequired => DecisionOutcome.ApprovalRequired,
        _ => DecisionOutcome.Deny,
    };

    private static SessionStatus ToSdk(Wire.SessionStatus status) => status switch
    {
        Wire.SessionStatus.Open => SessionStatus.Open,
        Wire.SessionStatus.Closed => SessionStatus.Closed,
        _ => SessionStatus.Expired,
    };

    private static SessionEventKind ToSdk(Wire.SessionEventKind kind) => kind switch
    {
        Wire.SessionEventKind.Request => SessionEventKind.Request,
        Wire.SessionEventKind.Response => SessionEventKind.Response,
        Wire.SessionEventKind.Error => SessionEventKind.Error,
        _ => SessionEventKind.Revocation,
    };
}
