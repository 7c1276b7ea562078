using System.Text.Json;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Enforcement;

/// <summary>
/// One call an enforcement point is about to forward: the action (a Cedar action id), the resource it acts on,
/// the tool input (policy sees it as <c>context.input</c>) and extra context keys (a JSON object).
/// </summary>
public sealed record GuardedCall(string Action, ResourceRef Resource, JsonElement? Input = null, JsonElement? Context = null);

/// <summary>What the cluster said about an approval the call opened or presented.</summary>
/// <param name="Act"><c>requested</c> (this decision opened it), <c>consumed</c> (this Allow used it) or <c>presented</c> (it could not be used; <paramref name="Reason"/> says why).</param>
public sealed record DecisionApproval(string Id, string Act, DateTimeOffset? ExpiresAt, string? Reason);

/// <summary>A decision as the enforcer needs it. <paramref name="PolicyIds"/> are the determining policies.</summary>
public sealed record BackendDecision(
    Guid DecisionId,
    DecisionOutcome Outcome,
    string? DenyReason,
    IReadOnlyList<string> PolicyIds,
    long PolicyVersion,
    DecisionApproval? Approval);

/// <summary>Where an approval request stands.</summary>
public enum ApprovalState { Pending, Approved, Rejected, Expired, Cancelled, Consumed }

/// <summary>An approval request's state; <paramref name="Reason"/> is the rejection or cancellation reason.</summary>
public sealed record ApprovalStatus(string Id, ApprovalState State, DateTimeOffset ExpiresAt, string? Reason);

/// <summary>What a forwarded call produced, reported as its decision's outcome.</summary>
public sealed record CallOutcome(OutcomeKind Kind, JsonElement? Output, string? Error)
{
    /// <summary>The call answered; <paramref name="output"/> is what output-to-input rules see.</summary>
    public static CallOutcome Response(JsonElement? output) => new(OutcomeKind.Response, output, null);

    /// <summary>The call failed; <paramref name="error"/> is recorded as the outcome's error.</summary>
    public static CallOutcome Failure(string error) => new(OutcomeKind.Error, null, error);
}

/// <summary>
/// The cluster as an enforcement point uses it. Every method throws on any failure (unreachable, refused,
/// malformed answer); the enforcer turns that into "not forwarded".
/// </summary>
public interface IAuthorizationBackend
{
    /// <summary>Opens a session for <paramref name="agentId"/> and returns its id.</summary>
    Task<string> OpenSessionAsync(string agentId, CancellationToken cancellationToken);

    Task CloseSessionAsync(string sessionId, string? reason, CancellationToken cancellationToken);

    /// <summary>Decides <paramref name="call"/> in the session; <paramref name="approvalId"/> binds an approval to the call.</summary>
    Task<BackendDecision> DecideAsync(string sessionId, string agentId, GuardedCall call, string? approvalId, CancellationToken cancellationToken);

    /// <summary>Records what the allowed call <paramref name="decisionId"/> produced.</summary>
    Task ReportOutcomeAsync(string sessionId, Guid decisionId, CallOutcome outcome, CancellationToken cancellationToken);

    Task<ApprovalStatus> GetApprovalAsync(string approvalId, CancellationToken cancellationToken);

    /// <summary>Answers once the approval is decided, or after <paramref name="timeout"/> with it still pending.</summary>
    Task<ApprovalStatus> WaitForApprovalAsync(string approvalId, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>The cluster answered something an enforcement point cannot act on (treated as a refusal).</summary>
public sealed class MalformedAnswerException(string message) : Exception(message);
