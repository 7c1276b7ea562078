namespace RuntimeAuthz.Enforcement;

/// <summary>Why a call was not forwarded.</summary>
public enum RefusalKind
{
    /// <summary>The cluster denied the call (policy, delegation, suspension, a used or mismatching approval, ...).</summary>
    Denied,
    /// <summary>The call needs a human approval that has not been given within the wait; retry the same call to wait again.</summary>
    ApprovalPending,
    /// <summary>The approval request expired before it was decided.</summary>
    ApprovalExpired,
    /// <summary>An approver rejected the request, or it was cancelled.</summary>
    ApprovalRejected,
    /// <summary>No decision could be had (cluster unreachable, timeout, refused or malformed answer): fail closed.</summary>
    Unavailable,
}

/// <summary>
/// A refusal as front ends show it: nothing secret, only the deny reason, the determining policy ids and,
/// for approvals, the approval id (a retry of the same call waits on that approval again).
/// </summary>
public sealed record Refusal(
    RefusalKind Kind,
    string Message,
    string? DenyReason = null,
    IReadOnlyList<string>? PolicyIds = null,
    Guid? DecisionId = null,
    string? ApprovalId = null,
    DateTimeOffset? ApprovalExpiresAt = null);

/// <summary>
/// The result of one enforced call: either forwarded (<see cref="Value"/> is what the forward delegate
/// returned, <see cref="DecisionId"/> the Allow) or refused (<see cref="Refusal"/>; the delegate never ran).
/// </summary>
public sealed record EnforcementResult<T>(T? Value, Refusal? Refusal, Guid? DecisionId, bool OutcomeReported)
{
    public bool IsForwarded => Refusal is null;

    internal static EnforcementResult<T> Refused(Refusal refusal) => new(default, refusal, refusal.DecisionId, false);
}

/// <summary>Bounds of one enforced call.</summary>
public sealed record EnforcementOptions
{
    /// <summary>How long a call that needs approval is held waiting for it before the answer is "pending" (0: not held).</summary>
    public TimeSpan ApprovalWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one request to the cluster (open, decide, approval poll step) may take before the call is refused.</summary>
    public TimeSpan DecisionTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long reporting an outcome may take, its retries included (and how long closing a session may take).</summary>
    public TimeSpan OutcomeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest single approval wait request; the HTTP client's timeout must exceed it plus <see cref="DecisionTimeout"/>.</summary>
    public static readonly TimeSpan MaxWaitPerRequest = TimeSpan.FromSeconds(20);

    /// <summary>Pending approvals remembered per session (so retries re-wait); beyond it a retry opens a new request.</summary>
    public int MaxPendingApprovalsPerSession { get; init; } = 256;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public EnforcementOptions Validate()
    {
        if (ApprovalWait < TimeSpan.Zero || ApprovalWait > TimeSpan.FromHours(1))
            throw new ArgumentException($"ApprovalWait must be between 0 and 1 hour, not {ApprovalWait}");
        if (DecisionTimeout <= TimeSpan.Zero || DecisionTimeout > TimeSpan.FromMinutes(5))
            throw new ArgumentException($"DecisionTimeout must be more than 0 and at most 5 minutes, not {DecisionTimeout}");
        if (OutcomeTimeout <= TimeSpan.Zero || OutcomeTimeout > TimeSpan.FromMinutes(5))
            throw new ArgumentException($"OutcomeTimeout must be more than 0 and at most 5 minutes, not {OutcomeTimeout}");
        if (MaxPendingApprovalsPerSession is < 0 or > 100_000)
            throw new ArgumentException($"MaxPendingApprovalsPerSession must be between 0 and 100000, not {MaxPendingApprovalsPerSession}");
        return this;
    }
}
