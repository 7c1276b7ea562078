using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Decisions;

/// <summary>One decision call as received: the session, a fresh id, the time it is decided at and the request.</summary>
public sealed record DecisionCall(string SessionId, Guid DecisionId, DateTimeOffset Now, DecisionRequest Request)
{
    /// <summary>The caller's JSON texts, each read once for the whole call (the Cedar requests share the values, the evidence record keeps the texts).</summary>
    public CallerInput Parsed { get; } = new(Request);

    /// <summary>The resource in Cedar literal form (kept readable even when the id is not a valid literal).</summary>
    public string ResourceLiteral { get; } = SafeResourceLiteral(Request);

    private static string SafeResourceLiteral(DecisionRequest request)
    {
        try
        {
            return CedarRequestBuilder.ResourceLiteral(request.ResourceType, request.ResourceId);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            return $"{request.ResourceType}::\"{request.ResourceId}\"";
        }
    }
}

/// <summary>What the stages concluded about a call; the recording stage seals it and answers with exactly that.</summary>
public sealed record Verdict(DecisionOutcome Outcome, string? DenyReason, long PolicyVersion, string? Detail)
{
    public IReadOnlyList<string> Reasons { get; init; } = [];
    public IReadOnlyList<PolicyErrorInfo> Errors { get; init; } = [];
    public long RiskAdded { get; init; }
    /// <summary>Whether the call refreshes the session's idle clock; denials at the session gate do not.</summary>
    public bool CountsAsActivity { get; init; } = true;
    /// <summary>The gate found the session past its lifetime or idle timeout: it becomes Expired.</summary>
    public bool ExpiresSession { get; init; }
    /// <summary>Distinct approvers an ApprovalRequired verdict needs (the determining policies' <c>@approval</c>).</summary>
    public int RequiredApprovals { get; init; }
    /// <summary>The approval this decision requests, uses or could not use (sealed into its record).</summary>
    public RuntimeAuthz.Evidence.ApprovalEvidence? Approval { get; init; }
    /// <summary>The entity store version the Cedar request was built from (0: none used).</summary>
    public long EntityStoreVersion { get; init; }

    public bool IsDeny => Outcome == DecisionOutcome.Deny;

    /// <summary>The answer for this verdict, in the session's terms after it.</summary>
    public AuthzDecision ToAnswer(DecisionCall call, string agentId, long riskBefore) => new()
    {
        DecisionId = call.DecisionId, Outcome = Outcome, Reasons = Reasons, Errors = Errors, PolicyVersion = PolicyVersion,
        DenyReason = DenyReason, SessionId = call.SessionId, AgentId = agentId, DecidedAt = call.Now,
        RiskAdded = RiskAdded, CumulativeRisk = riskBefore + RiskAdded, Approval = Approvals.ApprovalStage.TicketOf(Approval),
        EntityStoreVersion = EntityStoreVersion,
    };
}

/// <summary>The one place denials are made.</summary>
public static class Denials
{
    public static Verdict Deny(string reason, long policyVersion = 0, string? detail = null) => new(DecisionOutcome.Deny, reason, policyVersion, detail);

    /// <summary>A denial before the session's agent is involved: it does not count as the session's activity.</summary>
    public static Verdict AtGate(string reason, string? detail = null) => Deny(reason, 0, detail) with { CountsAsActivity = false };

    public static Verdict InternalError(long policyVersion) =>
        Deny(DenyReasons.InternalError, policyVersion, "internal error while deciding") with { CountsAsActivity = false };

    /// <summary>The record could not be confirmed durable in time: the answer is Deny, whatever was decided.</summary>
    public static Verdict NoEvidence(long policyVersion) =>
        Deny(EvidenceDenyReasons.NoEvidence, policyVersion, "the evidence record could not be confirmed in time") with { CountsAsActivity = false };

    /// <summary>The answer for a call to a session that was never opened (nothing is recorded: there is no chain to record in).</summary>
    public static AuthzDecision UnknownSession(DecisionCall call) =>
        Deny(DenyReasons.UnknownSession).ToAnswer(call, call.Request.AgentId ?? "", 0);
}
