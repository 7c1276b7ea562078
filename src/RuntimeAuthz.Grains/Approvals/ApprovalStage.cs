using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Grains.Approvals;

/// <summary>
/// After evaluation, before recording: an ApprovalRequired verdict either opens an approval request
/// (the decision's record is the request's first record) or, when the call names an approval, uses it:
/// allowed exactly when it is this session's request for this very call (same binding digest),
/// approved by enough distinct approvers, unexpired and unused. The policies decided first, so a
/// revocation or a changed policy after the approval still wins.
/// </summary>
public static class ApprovalStage
{
    public const int TimelineSummaryLength = 10;

    public static Verdict Resolve(Verdict verdict, DecisionCall call, SessionLedger ledger, ApprovalOptions options)
    {
        var request = call.Request;
        if (verdict.Outcome != DecisionOutcome.ApprovalRequired)
        {
            // A denied call that names an approval: the record says which (the approval stays as it was).
            return verdict.IsDeny && request.ApprovalId is { } named ? verdict with { Approval = Part(named, ApprovalActs.Presented, null) } : verdict;
        }
        var agentId = ledger.Session.AgentId;
        var digest = ApprovalBinding.Digest(agentId, request);
        if (request.ApprovalId is not { } id) return Open(verdict, call, ledger, options, digest);

        var approval = ledger.Approvals.Find(id);
        if (approval is null) return Refuse(verdict, id, ApprovalDenyReasons.Mismatch, $"approval '{id}' is not a request of session '{call.SessionId}'");
        if (approval.BindingDigest != digest)
            return Refuse(verdict, id, ApprovalDenyReasons.Mismatch, $"the call differs from the one approval '{id}' was requested for (binding digest {digest}, approved {approval.BindingDigest})");
        var needed = Math.Max(approval.RequiredApprovals, verdict.RequiredApprovals);
        return approval.Status switch
        {
            ApprovalStatus.Consumed => Refuse(verdict, id, ApprovalDenyReasons.Used, $"approval '{id}' was used by decision {approval.ConsumedByDecisionId}"),
            ApprovalStatus.Rejected => Refuse(verdict, id, ApprovalDenyReasons.Rejected, $"approval '{id}' was rejected by {approval.ClosedBy}: {approval.Reason}"),
            ApprovalStatus.Cancelled => Refuse(verdict, id, ApprovalDenyReasons.Rejected, $"approval '{id}' was cancelled by {approval.ClosedBy}"),
            ApprovalStatus.Expired => Refuse(verdict, id, ApprovalDenyReasons.Expired, $"approval '{id}' expired at {approval.ExpiresAt:O}"),
            _ when call.Now >= approval.ExpiresAt => Refuse(verdict, id, ApprovalDenyReasons.Expired, $"approval '{id}' expired at {approval.ExpiresAt:O}"),
            _ when approval.Approvals.Count < needed =>
                Refuse(verdict, id, ApprovalDenyReasons.Pending, $"approval '{id}' has {approval.Approvals.Count} of {needed} approvals"),
            _ => verdict with
            {
                Outcome = DecisionOutcome.Allow,
                Approval = Part(id, ApprovalActs.Consumed, digest),
                Detail = $"{verdict.Detail}; approval {id} by {string.Join(", ", approval.Approvals.Select(v => v.Approver))}".TrimStart(';', ' '),
            },
        };
    }

    private static Verdict Open(Verdict verdict, DecisionCall call, SessionLedger ledger, ApprovalOptions options, string digest)
    {
        var session = ledger.Session;
        var id = ApprovalIds.New(call.SessionId);
        return verdict with
        {
            Detail = $"{verdict.Detail}; approval {id} requested".TrimStart(';', ' '),
            Approval = new ApprovalEvidence
            {
                Id = id, Act = ApprovalActs.Requested, BindingDigest = digest,
                ExpiresAt = EvidenceSealer.FormatTime(call.Now + options.Expiry),
                Required = Math.Max(1, verdict.RequiredApprovals),
                Requester = SessionLimits.Truncate(call.Request.Caller ?? session.AgentId),
                SessionRisk = session.CumulativeRisk,
                Timeline = [.. ledger.Recent.TakeLast(TimelineSummaryLength).Select(d =>
                    SessionLimits.Truncate($"{EvidenceSealer.FormatTime(d.At)} {d.Action} {d.Resource}: {d.Outcome}")!)],
            },
        };
    }

    /// <summary>The action name temporal policies see a granted approval under (AgentCore's approval-gate pattern).</summary>
    public const string ApproveAction = "Approve";

    /// <summary>
    /// A granted approval as a temporal <c>Action::"Approve"::response</c> event: its resource is the approved call's,
    /// <c>input</c> the approved tool input, <c>output</c> {approvalId, action, bindingDigest}; null when the stored call cannot be read.
    /// </summary>
    public static TemporalEvent? ApproveEvent(ApprovalInfo approval, DateTimeOffset at)
    {
        System.Text.Json.Nodes.JsonObject? call;
        try { call = approval.CallJson is null ? null : System.Text.Json.Nodes.JsonNode.Parse(approval.CallJson) as System.Text.Json.Nodes.JsonObject; }
        catch (System.Text.Json.JsonException) { return null; }
        if (call?["resource"] is not System.Text.Json.Nodes.JsonObject resource
            || resource["type"]?.GetValue<string>() is not { } type || resource["id"]?.GetValue<string>() is not { } id) return null;
        return new TemporalEvent
        {
            Kind = TemporalEvent.ResponseKind, DecisionId = approval.RequestDecisionId, At = at, AgentId = approval.AgentId, Action = ApproveAction,
            ResourceType = type, ResourceId = id, InputJson = call["input"]?.ToJsonString() ?? "{}", Reporter = "approver",
            OutputJson = new System.Text.Json.Nodes.JsonObject
            {
                ["approvalId"] = approval.Id, ["action"] = approval.Action, ["bindingDigest"] = approval.BindingDigest,
            }.ToJsonString(),
        };
    }

    private static Verdict Refuse(Verdict evaluated, string id, string reason, string detail) =>
        Denials.Deny(reason, evaluated.PolicyVersion, detail) with
        {
            Reasons = evaluated.Reasons, Approval = Part(id, ApprovalActs.Presented, null) with { Reason = SessionLimits.Truncate(detail) },
        };

    private static ApprovalEvidence Part(string id, string act, string? digest) => new() { Id = id, Act = act, BindingDigest = digest };

    /// <summary>What the caller is told about the approval (from the record's approval part).</summary>
    public static ApprovalTicket? TicketOf(ApprovalEvidence? part) => part is null ? null : new ApprovalTicket
    {
        Id = part.Id, Act = part.Act, BindingDigest = part.BindingDigest, RequiredApprovals = part.Required ?? 0, Reason = part.Reason,
        ExpiresAt = part.ExpiresAt is { } at ? SessionLedger.ParseTime(at) : null,
    };
}
