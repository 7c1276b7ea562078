namespace RuntimeAuthz;

// In the namespace RuntimeAuthz, which encloses every project's namespace (RuntimeAuthz.Grains, RuntimeAuthz.Client, ...):
// code there finds these classes without a using directive; fleet code outside adds `using RuntimeAuthz;`.

/// <summary>
/// The <c>denyReason</c> of a denied decision, as the service sets it and every client reads it. The four classes
/// group the codes by what decides them; <see cref="All"/> is the one set of every code the service can answer.
/// </summary>
public static class DenyReasons
{
    /// <summary>The agent id is not registered.</summary>
    public const string UnknownAgent = "unknown-agent";
    /// <summary>The agent is suspended.</summary>
    public const string AgentSuspended = "agent-suspended";
    /// <summary>The agent is revoked (final).</summary>
    public const string AgentRevoked = "agent-revoked";
    /// <summary>The session was never opened.</summary>
    public const string UnknownSession = "unknown-session";
    /// <summary>The session was closed.</summary>
    public const string SessionClosed = "session-closed";
    /// <summary>The session's lifetime or idle timeout passed.</summary>
    public const string SessionExpired = "session-expired";
    /// <summary>The session belongs to another agent.</summary>
    public const string SessionAgentMismatch = "session-agent-mismatch";
    /// <summary>No policy has been published.</summary>
    public const string NoPolicy = "no-policy";
    /// <summary>No permit policy applied, or a forbid policy did.</summary>
    public const string NotPermitted = "not-permitted";
    /// <summary>The agent holds no live delegation covering the action and resource.</summary>
    public const string NoDelegation = "no-delegation";
    /// <summary>The request could not be turned into a policy request (for example an input policy cannot represent).</summary>
    public const string InvalidRequest = "invalid-request";
    /// <summary>The service failed while deciding (fail closed).</summary>
    public const string InternalError = "internal-error";
    /// <summary>Evaluating the policies for this call would take more work than one decision may spend (<c>Authorizer.DefaultEvaluationBudget</c>).</summary>
    public const string EvaluationBudgetExceeded = "evaluation-budget-exceeded";
    /// <summary>An agent acting on behalf of a user (a delegated token): the user may not do this themselves (docs/on-behalf-of.md).</summary>
    public const string UserNotPermitted = "user-not-permitted";

    /// <summary>Every deny reason the service answers, across <see cref="DenyReasons"/>, <see cref="ApprovalDenyReasons"/>, <see cref="EvidenceDenyReasons"/> and <see cref="GovernanceDenyReasons"/>.</summary>
    public static IReadOnlySet<string> All { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        UnknownAgent, AgentSuspended, AgentRevoked, UnknownSession, SessionClosed, SessionExpired, SessionAgentMismatch,
        NoPolicy, NotPermitted, NoDelegation, InvalidRequest, InternalError, EvaluationBudgetExceeded, UserNotPermitted,
        ApprovalDenyReasons.Used, ApprovalDenyReasons.Mismatch, ApprovalDenyReasons.Expired, ApprovalDenyReasons.Rejected, ApprovalDenyReasons.Pending,
        EvidenceDenyReasons.NoEvidence, EvidenceDenyReasons.EvidenceRollback,
        GovernanceDenyReasons.FleetSuspended, GovernanceDenyReasons.LabelSuspended,
    };
}

/// <summary>Deny reasons of a call that names an approval (<c>context.approval_id</c>, native <c>approvalId</c>).</summary>
public static class ApprovalDenyReasons
{
    /// <summary>The approval was already used by an earlier allowed call.</summary>
    public const string Used = "approval-used";
    /// <summary>The call is not the approved one: another argument, resource, action, agent or session (or no such request).</summary>
    public const string Mismatch = "approval-mismatch";
    /// <summary>The approval request expired before it was used.</summary>
    public const string Expired = "approval-expired";
    /// <summary>Rejected by an approver (the detail carries the reason) or cancelled by the agent.</summary>
    public const string Rejected = "approval-rejected";
    /// <summary>Not decided yet (or fewer approvers than the quorum so far).</summary>
    public const string Pending = "approval-pending";
}

/// <summary>Deny reasons of the evidence writer.</summary>
public static class EvidenceDenyReasons
{
    /// <summary>The decision's evidence record could not be persisted: no evidence, no allow.</summary>
    public const string NoEvidence = "no-evidence";

    /// <summary>The session's evidence chain is behind what was already recorded (a checkpoint or this silo saw more): it is not continued.</summary>
    public const string EvidenceRollback = "evidence-rollback";
}

/// <summary>Deny reasons added by delegation governance.</summary>
public static class GovernanceDenyReasons
{
    /// <summary>The agent's fleet is suspended.</summary>
    public const string FleetSuspended = "fleet-suspended";
    /// <summary>One of the agent's labels is suspended.</summary>
    public const string LabelSuspended = "label-suspended";
}
