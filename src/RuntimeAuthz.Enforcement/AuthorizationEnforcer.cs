using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Enforcement;

/// <summary>
/// The decide → forward or refuse → report outcome loop of an enforcement point. For one call:
/// <list type="bullet">
/// <item>Allow: runs the forward delegate exactly once and reports what it returned (or threw) as the decision's outcome.</item>
/// <item>Deny: refuses with the deny reason and the determining policy ids.</item>
/// <item>ApprovalRequired: holds the call up to <see cref="EnforcementOptions.ApprovalWait"/> for the approval, then decides
/// again with the approval bound and forwards only on Allow; otherwise refuses as pending (with the approval id; the same
/// call retried in the same session waits on that approval again), expired or rejected.</item>
/// <item>Anything else (cluster unreachable, timeout, refused or malformed answer): refuses as unavailable. Never forwards without an Allow.</item>
/// </list>
/// Thread-safe; one per front end.
/// </summary>
public sealed class AuthorizationEnforcer
{
    private const int MaxErrorLength = 4096;
    private readonly IAuthorizationBackend _backend;
    private readonly EnforcementOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public AuthorizationEnforcer(IAuthorizationBackend backend, EnforcementOptions? options = null, TimeProvider? time = null, ILogger<AuthorizationEnforcer>? logger = null)
    {
        _backend = backend ?? throw new ArgumentNullException(nameof(backend));
        _options = (options ?? new EnforcementOptions()).Validate();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger<AuthorizationEnforcer>.Instance;
    }

    public EnforcementOptions Options => _options;

    /// <summary>A session for <paramref name="agentId"/>; the cluster session is opened by its first call.</summary>
    public EnforcementSession CreateSession(string agentId) => new(agentId, sessionId: null);

    /// <summary>An existing cluster session (opened elsewhere) of <paramref name="agentId"/>.</summary>
    public EnforcementSession AttachSession(string agentId, string sessionId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sessionId);
        return new(agentId, sessionId);
    }

    /// <summary>Closes the cluster session if one was opened. Best effort: false (and logged) when the cluster could not be told.</summary>
    public async Task<bool> CloseSessionAsync(EnforcementSession session, string? reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.Closed = true;
        if (session.SessionId is not { } sessionId) return true;
        try
        {
            await WithTimeoutAsync(_options.OutcomeTimeout, ct => _backend.CloseSessionAsync(sessionId, reason, ct), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning(exception, "Could not close authorization session {SessionId} of agent {AgentId}", sessionId, session.AgentId);
            return false;
        }
    }

    /// <summary>
    /// Enforces one call. <paramref name="forward"/> runs at most once, only after an Allow; <paramref name="describeOutcome"/>
    /// turns its result into the outcome reported (a response, or an error such as a tool's error result). If
    /// <paramref name="forward"/> throws, the error is reported as the outcome and the exception rethrown.
    /// </summary>
    public async Task<EnforcementResult<T>> EnforceAsync<T>(EnforcementSession session, GuardedCall call,
        Func<CancellationToken, Task<T>> forward, Func<T, CallOutcome> describeOutcome, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(describeOutcome);
        ArgumentException.ThrowIfNullOrWhiteSpace(call.Action);

        string sessionId;
        BackendDecision decision;
        try
        {
            sessionId = await WithTimeoutAsync(_options.DecisionTimeout,
                ct => session.EnsureOpenAsync(open => _backend.OpenSessionAsync(session.AgentId, open), ct), cancellationToken).ConfigureAwait(false);
            var callKey = EnforcementSession.CallKey(call);
            if (session.PendingApprovalFor(callKey) is { } waitingOn)
            {
                var (approved, refusal) = await ResolveApprovalAsync(session, sessionId, call, callKey, waitingOn, cancellationToken).ConfigureAwait(false);
                if (refusal is not null) return Refuse<T>(session, call, refusal);
                decision = approved!;
            }
            else
            {
                decision = await DecideAsync(session, sessionId, call, approvalId: null, cancellationToken).ConfigureAwait(false);
                if (decision.Outcome == DecisionOutcome.ApprovalRequired)
                {
                    var requested = decision.Approval!.Id;
                    session.RememberApproval(callKey, requested, _options.MaxPendingApprovalsPerSession);
                    _logger.LogInformation("Call {Action} of agent {AgentId} held for approval {ApprovalId}", call.Action, session.AgentId, requested);
                    var (approved, refusal) = await ResolveApprovalAsync(session, sessionId, call, callKey, requested, cancellationToken).ConfigureAwait(false);
                    if (refusal is not null) return Refuse<T>(session, call, refusal);
                    decision = approved!;
                }
            }
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning(exception, "No decision for {Action} of agent {AgentId}; not forwarded", call.Action, session.AgentId);
            return Refuse<T>(session, call, new Refusal(RefusalKind.Unavailable,
                $"the authorization service could not decide ({Cause(exception)}); the call was not forwarded", DenyReason: "authorization-unavailable"));
        }

        if (decision.Outcome != DecisionOutcome.Allow) return Refuse<T>(session, call, Denied(decision));
        return await ForwardAsync(sessionId, decision.DecisionId, forward, describeOutcome, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(BackendDecision? Allowed, Refusal? Refusal)> ResolveApprovalAsync(EnforcementSession session, string sessionId,
        GuardedCall call, string callKey, string approvalId, CancellationToken cancellationToken)
    {
        var status = await WaitForApprovalAsync(approvalId, cancellationToken).ConfigureAwait(false);
        switch (status.State)
        {
            case ApprovalState.Pending:
                return (null, Pending(approvalId, status.ExpiresAt, $"approval '{approvalId}' has not been given yet"));
            case ApprovalState.Rejected or ApprovalState.Cancelled:
                session.ForgetApproval(callKey);
                return (null, new Refusal(RefusalKind.ApprovalRejected,
                    $"approval '{approvalId}' was {(status.State == ApprovalState.Rejected ? "rejected" : "cancelled")}{(status.Reason is { Length: > 0 } why ? ": " + why : "")}; the call was not forwarded",
                    DenyReason: "approval-rejected", ApprovalId: approvalId));
            case ApprovalState.Expired:
                session.ForgetApproval(callKey);
                return (null, new Refusal(RefusalKind.ApprovalExpired,
                    $"approval '{approvalId}' expired at {status.ExpiresAt:O} before it was given; the call was not forwarded (a new call asks again)",
                    DenyReason: "approval-expired", ApprovalId: approvalId, ApprovalExpiresAt: status.ExpiresAt));
            case ApprovalState.Consumed:
                session.ForgetApproval(callKey);
                return (null, new Refusal(RefusalKind.Denied, $"approval '{approvalId}' was already used by another call", DenyReason: "approval-used", ApprovalId: approvalId));
        }

        var decision = await DecideAsync(session, sessionId, call, approvalId, cancellationToken).ConfigureAwait(false);
        if (decision.Outcome == DecisionOutcome.Allow)
        {
            session.ForgetApproval(callKey);
            return (decision, null);
        }
        if (decision.DenyReason == "approval-pending")
        {
            // Approved by fewer approvers than the policy's quorum so far.
            return (null, Pending(approvalId, status.ExpiresAt, decision.Approval?.Reason ?? $"approval '{approvalId}' needs more approvers"));
        }
        if (decision.Outcome == DecisionOutcome.ApprovalRequired)
            throw new MalformedAnswerException($"a call presenting approval '{approvalId}' was answered ApprovalRequired");
        session.ForgetApproval(callKey);
        return (null, Denied(decision) with { ApprovalId = approvalId });
    }

    private async Task<ApprovalStatus> WaitForApprovalAsync(string approvalId, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + _options.ApprovalWait;
        while (true)
        {
            var remaining = deadline - _time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return await WithTimeoutAsync(_options.DecisionTimeout, ct => _backend.GetApprovalAsync(approvalId, ct), cancellationToken).ConfigureAwait(false);
            }
            var step = remaining < EnforcementOptions.MaxWaitPerRequest ? remaining : EnforcementOptions.MaxWaitPerRequest;
            var status = await WithTimeoutAsync(step + _options.DecisionTimeout,
                ct => _backend.WaitForApprovalAsync(approvalId, step, ct), cancellationToken).ConfigureAwait(false);
            if (status.Id != approvalId) throw new MalformedAnswerException($"asked for approval '{approvalId}', the cluster answered about another");
            if (status.State != ApprovalState.Pending || _time.GetUtcNow() >= deadline) return status;
        }
    }

    private async Task<BackendDecision> DecideAsync(EnforcementSession session, string sessionId, GuardedCall call, string? approvalId, CancellationToken cancellationToken)
    {
        var decision = await WithTimeoutAsync(_options.DecisionTimeout,
            ct => _backend.DecideAsync(sessionId, session.AgentId, call, approvalId, ct), cancellationToken).ConfigureAwait(false);
        if (decision.Outcome == DecisionOutcome.ApprovalRequired && decision.Approval is not { Act: "requested" })
            throw new MalformedAnswerException("ApprovalRequired without the approval request it opened");
        return decision;
    }

    private async Task<EnforcementResult<T>> ForwardAsync<T>(string sessionId, Guid decisionId,
        Func<CancellationToken, Task<T>> forward, Func<T, CallOutcome> describeOutcome, CancellationToken cancellationToken)
    {
        T value;
        try
        {
            value = await forward(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            var error = exception is OperationCanceledException && cancellationToken.IsCancellationRequested
                ? "the caller cancelled the call while it ran"
                : $"{exception.GetType().Name}: {exception.Message}";
            await ReportAsync(sessionId, decisionId, CallOutcome.Failure(Truncate(error))).ConfigureAwait(false);
            throw;
        }
        CallOutcome outcome;
        try
        {
            outcome = describeOutcome(value);
        }
        catch (Exception exception)
        {
            _logger.LogWarning(exception, "Could not describe the outcome of decision {DecisionId}; reporting an error outcome", decisionId);
            outcome = CallOutcome.Failure("the enforcement point could not read the call's result");
        }
        var reported = await ReportAsync(sessionId, decisionId, outcome with { Error = outcome.Error is { } e ? Truncate(e) : null }).ConfigureAwait(false);
        return new EnforcementResult<T>(value, null, decisionId, reported);
    }

    /// <summary>
    /// The call already ran, so its outcome is reported even if the caller has gone (own deadline, not the caller's token).
    /// An answer that says the same report may succeed later (503, no connection, no answer in time) is retried with growing
    /// pauses until <see cref="EnforcementOptions.OutcomeTimeout"/> has passed. A lost answer may hide a report that landed:
    /// a retry answered 409 of type <see cref="ProblemTypes.OutcomeAlreadyReported"/> counts as recorded. A report still lost
    /// is logged; output-to-input rules then see no output, so later calls relying on it are denied.
    /// </summary>
    private async Task<bool> ReportAsync(string sessionId, Guid decisionId, CallOutcome outcome)
    {
        var deadline = _time.GetUtcNow() + _options.OutcomeTimeout;
        var pause = FirstReportRetry;
        for (var attempt = 1; ; attempt++)
        {
            var remaining = deadline - _time.GetUtcNow();
            try
            {
                await WithTimeoutAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, ct => _backend.ReportOutcomeAsync(sessionId, decisionId, outcome, ct), CancellationToken.None).ConfigureAwait(false);
                return true;
            }
            catch (AuthzApiException conflict) when (attempt > 1 && conflict.IsOutcomeAlreadyReported)
            {
                _logger.LogInformation("Outcome of decision {DecisionId} in session {SessionId} was recorded by an earlier attempt whose answer was lost", decisionId, sessionId);
                return true;
            }
            catch (Exception exception) when (IsWorthRetrying(exception) && _time.GetUtcNow() + pause < deadline)
            {
                _logger.LogInformation("Outcome of decision {DecisionId} in session {SessionId} not recorded on attempt {Attempt} ({Cause}); reporting again in {Pause} ms",
                    decisionId, sessionId, attempt, Cause(exception), (int)pause.TotalMilliseconds);
            }
            catch (Exception exception)
            {
                _logger.LogWarning(exception, "Outcome of decision {DecisionId} in session {SessionId} was not recorded after {Attempts} attempt(s)", decisionId, sessionId, attempt);
                return false;
            }
            await Task.Delay(pause, _time).ConfigureAwait(false);
            pause = pause * 2 < LongestReportRetry ? pause * 2 : LongestReportRetry;
        }
    }

    private static readonly TimeSpan FirstReportRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LongestReportRetry = TimeSpan.FromSeconds(2);

    /// <summary>Failures after which the same report may succeed: the cluster or its storage was briefly unavailable, or no answer came.</summary>
    private static bool IsWorthRetrying(Exception exception) => exception switch
    {
        AuthzApiException api => api.Status is 429 or 502 or 503 or 504,
        AuthzUnavailableException or TimeoutException or OperationCanceledException => true,
        _ => false,
    };

    private EnforcementResult<T> Refuse<T>(EnforcementSession session, GuardedCall call, Refusal refusal)
    {
        _logger.LogInformation("Call {Action} of agent {AgentId} not forwarded: {Kind} {DenyReason}", call.Action, session.AgentId, refusal.Kind, refusal.DenyReason);
        return EnforcementResult<T>.Refused(refusal);
    }

    private static Refusal Denied(BackendDecision decision)
    {
        var policies = decision.PolicyIds.Count == 0 ? "" : $" by policy {string.Join(", ", decision.PolicyIds)}";
        var reason = decision.DenyReason ?? "not-permitted";
        return new Refusal(RefusalKind.Denied, $"denied ({reason}){policies}", reason, decision.PolicyIds, decision.DecisionId,
            decision.Approval?.Id);
    }

    private static Refusal Pending(string approvalId, DateTimeOffset expiresAt, string why) => new(RefusalKind.ApprovalPending,
        $"held for human approval: {why}; approval '{approvalId}' expires at {expiresAt:O}; retry the same call to wait for it again",
        DenyReason: "approval-pending", ApprovalId: approvalId, ApprovalExpiresAt: expiresAt);

    private static string Cause(Exception exception) => exception switch
    {
        AuthzUnavailableException unavailable => unavailable.Reason,
        AuthzApiException api => $"{api.Status} {api.Title}",
        MalformedAnswerException malformed => "malformed answer: " + malformed.Message,
        OperationCanceledException or TimeoutException => "no answer in time",
        AuthzException other => other.Message,
        _ => exception.GetType().Name,
    };

    private static string Truncate(string text) => text.Length <= MaxErrorLength ? text : text[..MaxErrorLength];

    private async Task<TResult> WithTimeoutAsync<TResult>(TimeSpan timeout, Func<CancellationToken, Task<TResult>> operation, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        return await operation(linked.Token).ConfigureAwait(false);
    }

    private async Task WithTimeoutAsync(TimeSpan timeout, Func<CancellationToken, Task> operation, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        await operation(linked.Token).ConfigureAwait(false);
    }
}
