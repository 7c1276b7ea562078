using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary>
/// Asks a session grain for a decision on behalf of a caller. A failed or timed-out call is answered
/// Deny, never an error a caller might ignore; and because the grain may still have recorded an Allow
/// for it (its silo died after the record was durable, or the call ran after this edge gave up), the
/// session is then told that this decision's caller was denied, until it acknowledges, so that the chain
/// never keeps an Allow for an answer of Deny.
/// </summary>
public sealed partial class FailClosedDecider(IGrainFactory grains, TimeProvider time, ILogger<FailClosedDecider> logger, IHostApplicationLifetime lifetime, OnBehalfOfDecisions onBehalfOf)
{
    /// <summary>How long a lost answer is retried: beyond Orleans' response timeout and a silo failover.</summary>
    private static readonly TimeSpan ReconcileFor = TimeSpan.FromMinutes(5);

    /// <summary>Lost answers being retried at once, and at most in all: a storage outage must not grow tasks or grain calls without bound.</summary>
    private const int MaxConcurrentAttempts = 32, MaxPending = 10_000;

    private readonly SemaphoreSlim attempts = new(MaxConcurrentAttempts);
    private int pending;

    public async Task<AuthzDecision> DecideAsync(string sessionId, DecisionRequest request, Caller caller)
    {
        var decisionId = request.DecisionId ?? Guid.NewGuid();
        try
        {
            // An agent acting for a user: the user's own evaluation first (it may answer Deny alone).
            (request, var refused) = await onBehalfOf.CheckUserAsync(sessionId, request, caller);
            if (refused is not null) return refused;
            return await StringKeyGrains<IAgentSessionGrain>.Get(grains, sessionId).Decide(request with { Caller = caller.Subject, DecisionId = decisionId });
        }
        catch (Exception ex) when (ex is not BadRequestException)
        {
            LogDenied(ex, sessionId, decisionId);
            if (Interlocked.Increment(ref pending) <= MaxPending) _ = ReconcileAsync(sessionId, decisionId);
            else
            {
                Interlocked.Decrement(ref pending);
                LogGaveUp(null, sessionId, decisionId);
            }
            return new AuthzDecision
            {
                DecisionId = decisionId, Outcome = DecisionOutcome.Deny, DenyReason = DenyReasons.InternalError,
                SessionId = sessionId, AgentId = request.AgentId ?? "", DecidedAt = time.GetUtcNow(),
            };
        }
    }

    /// <summary>
    /// The Deny for a decision that was never asked of the session: whether the caller may decide in it could not be
    /// checked (the session's grain or its storage did not answer). Nothing was recorded, so nothing is reconciled.
    /// </summary>
    public AuthzDecision Unasked(string sessionId, DecisionRequest request, Exception failure)
    {
        var decisionId = request.DecisionId ?? Guid.NewGuid();
        LogUnasked(failure, sessionId, decisionId);
        return new AuthzDecision
        {
            DecisionId = decisionId, Outcome = DecisionOutcome.Deny, DenyReason = DenyReasons.InternalError,
            SessionId = sessionId, AgentId = request.AgentId ?? "", DecidedAt = time.GetUtcNow(),
        };
    }

    private async Task ReconcileAsync(string sessionId, Guid decisionId)
    {
        try
        {
            var until = time.GetUtcNow() + ReconcileFor;
            var delay = TimeSpan.FromMilliseconds(200);
            while (!lifetime.ApplicationStopping.IsCancellationRequested)
            {
                try
                {
                    await attempts.WaitAsync(lifetime.ApplicationStopping);
                    try { await grains.GetGrain<IAgentSessionGrain>(sessionId).SupersedeLostAnswer(decisionId); }
                    finally { attempts.Release(); }
                    return;
                }
                catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (time.GetUtcNow() < until)
                {
                    LogRetry(ex, sessionId, decisionId);
                }
                catch (Exception ex)
                {
                    LogGaveUp(ex, sessionId, decisionId);
                    return;
                }
                try { await Task.Delay(delay, time, lifetime.ApplicationStopping); }
                catch (OperationCanceledException) { break; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
            LogGaveUp(null, sessionId, decisionId);
        }
        finally
        {
            Interlocked.Decrement(ref pending);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Decision {DecisionId} for session {SessionId} failed; denying")]
    private partial void LogDenied(Exception ex, string sessionId, Guid decisionId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Decision {DecisionId} for session {SessionId}: the caller's access to the session could not be checked; denying")]
    private partial void LogUnasked(Exception ex, string sessionId, Guid decisionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telling session {SessionId} that decision {DecisionId} was answered Deny failed; retrying")]
    private partial void LogRetry(Exception ex, string sessionId, Guid decisionId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up telling session {SessionId} that decision {DecisionId} was answered Deny; its record may say otherwise")]
    private partial void LogGaveUp(Exception? ex, string sessionId, Guid decisionId);
}
