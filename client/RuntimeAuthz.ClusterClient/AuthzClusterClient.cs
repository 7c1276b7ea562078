using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Client;
using Wire = RuntimeAuthz.Contracts;

namespace RuntimeAuthz.ClusterClient;

/// <summary>
/// The HTTP SDK's session operations (<see cref="AuthzClient"/>: open, decide, report outcome, read and wait for
/// approvals) as grain calls through the Orleans gateway, answering with the SDK's own records. Thread-safe; one per process.
/// </summary>
/// <remarks>
/// <para><b>A decision is never repeated.</b> <see cref="DecideAsync"/> makes exactly one grain call. When its answer is lost
/// (silo killed, connection dropped, <see cref="AuthzClusterOptions.ResponseTimeout"/>) it throws
/// <see cref="DecisionUnknownException"/>, which the caller must treat as Deny. It is not retried, and no request id makes a
/// retry idempotent: the session grain records every request it receives as a new decision (history, risk, approvals), so a
/// second ask would be a second decision. <see cref="ReportOutcomeAsync"/> is not retried either: the grain accepts one
/// outcome per decision, and a report whose answer was lost throws <see cref="ClusterUnavailableException"/>
/// (reporting again then answers 409 if the first one landed).</para>
/// <para><b>Reads and opens retry</b> (<see cref="AuthzClusterOptions.ReadAttempts"/>): reading twice changes nothing, and an
/// open uses a session id chosen here, so an open whose answer was lost is recognised on the next attempt.</para>
/// <para>Errors: a refused command is an <see cref="AuthzApiException"/> with the status the HTTP API would answer (404, 409,
/// 400, 403, and 503 when the command may be sent again shortly); bad arguments are <see cref="ArgumentException"/>s before any call. No roles apply: a cluster client has the
/// grains' full access, which is why the gateway is closed by default and needs client certificates beyond loopback.</para>
/// </remarks>
public sealed partial class AuthzClusterClient(IClusterClient cluster, AuthzClusterOptions options, TimeProvider time, ILogger<AuthzClusterClient> logger)
{
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromSeconds(1);

    /// <summary>Opens a session for <see cref="OpenSessionRequest.AgentId"/> (null lifetimes: 3600 s and 900 s idle, as over HTTP).</summary>
    public async Task<Session> OpenSessionAsync(OpenSessionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckId(request.AgentId, nameof(request.AgentId));
        var lifetime = Seconds(request.LifetimeSeconds ?? 3600, nameof(request.LifetimeSeconds));
        var idle = Seconds(request.IdleTimeoutSeconds ?? 900, nameof(request.IdleTimeoutSeconds));
        var sessionId = Guid.NewGuid().ToString("N");
        var grain = cluster.GetGrain<Wire.IAgentSessionGrain>(sessionId);
        var open = new Wire.SessionOpenRequest { AgentId = request.AgentId, Lifetime = lifetime, IdleTimeout = idle };
        var attempts = 0;
        return await WithRetriesAsync("open session", async () =>
        {
            var retried = attempts++ > 0;
            var result = await grain.Open(open);
            if (result.IsSuccess) return WireMapping.ToSession(result.Value!);
            // Nobody else knows this fresh id: "already opened" on a later attempt is our earlier open, whose answer was lost.
            if (retried && result.Error == Wire.CommandError.Conflict && await grain.Get() is { } landed && landed.AgentId == request.AgentId)
                return WireMapping.ToSession(landed);
            throw WireMapping.ToException(result);
        }, cancellationToken);
    }

    /// <summary>The session's state and latest events; 404 when it was never opened.</summary>
    public async Task<Session> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        CheckId(sessionId, nameof(sessionId));
        var session = await WithRetriesAsync("read session", () => cluster.GetGrain<Wire.IAgentSessionGrain>(sessionId).Get(), cancellationToken);
        return session is null ? throw NotFound($"session '{sessionId}' not found") : WireMapping.ToSession(session);
    }

    /// <summary>Closes the session (one call, not retried).</summary>
    public async Task<Session> CloseSessionAsync(string sessionId, string? reason = null, CancellationToken cancellationToken = default)
    {
        CheckId(sessionId, nameof(sessionId));
        var result = await OnceAsync("close session", () => cluster.GetGrain<Wire.IAgentSessionGrain>(sessionId).Close(reason), cancellationToken);
        return result.IsSuccess ? WireMapping.ToSession(result.Value!) : throw WireMapping.ToException(result);
    }

    /// <summary>
    /// Decides one call before it runs: exactly one grain call, never repeated. Anything but an Allow answer means: do not run
    /// the call, and so does every exception, <see cref="DecisionUnknownException"/> above all (see the remarks on the class).
    /// A session that was never opened is answered Deny (<see cref="DenyReasons.UnknownSession"/>), as every refusal is.
    /// </summary>
    public async Task<Decision> DecideAsync(string sessionId, DecisionRequest request, CancellationToken cancellationToken = default)
    {
        CheckId(sessionId, nameof(sessionId));
        var wire = ToWire(request);
        var grain = cluster.GetGrain<Wire.IAgentSessionGrain>(sessionId);
        try
        {
            return WireMapping.ToDecision(await grain.Decide(wire).WaitAsync(cancellationToken));
        }
        catch (Exception e) when (IsTransport(e))
        {
            logger.LogWarning(e, "The decision for session {SessionId} was lost ({Reason}); the caller must treat it as Deny", sessionId, Describe(e));
            throw new DecisionUnknownException(sessionId, Describe(e), e);
        }
    }

    /// <summary>
    /// Records what an allowed call returned (<see cref="OutcomeKind.Response"/> with its output) or its error, at most once per
    /// decision (one call, not retried); 404 for a decision not of this session, 409 for a denied decision or a second report.
    /// </summary>
    public async Task<SessionEvent> ReportOutcomeAsync(string sessionId, ReportOutcomeRequest request, CancellationToken cancellationToken = default)
    {
        CheckId(sessionId, nameof(sessionId));
        ArgumentNullException.ThrowIfNull(request);
        if (!Guid.TryParse(request.DecisionId, out var decisionId))
            throw new ArgumentException($"DecisionId '{Shorten(request.DecisionId)}' is not a decision id (a GUID)", nameof(request));
        if (!Enum.IsDefined(request.Kind)) throw new ArgumentException($"Kind {(int)request.Kind} is neither Response nor Error", nameof(request));
        var report = new Wire.OutcomeReport
        {
            DecisionId = decisionId,
            Kind = request.Kind == OutcomeKind.Error ? Wire.SessionEventKind.Error : Wire.SessionEventKind.Response,
            OutputJson = request.Output is { } output ? JsonText(output, nameof(request.Output), mustBeObject: false) : null,
            Error = request.Error,
            ReportedBy = options.Caller,
            ReporterKind = options.Reporter,
        };
        var result = await OnceAsync("report outcome", () => cluster.GetGrain<Wire.IAgentSessionGrain>(sessionId).ReportOutcome(report), cancellationToken);
        return result.IsSuccess ? WireMapping.ToEvent(result.Value!) : throw WireMapping.ToException(result);
    }

    /// <summary>An approval request (as the agent sees it; <see cref="Approval.WaitUrl"/> is empty here); 404 when unknown.</summary>
    public async Task<Approval> GetApprovalAsync(string approvalId, CancellationToken cancellationToken = default)
    {
        var grain = cluster.GetGrain<Wire.ISessionApprovalsGrain>(SessionOfApproval(approvalId));
        var approval = await WithRetriesAsync("read approval", () => grain.GetApproval(approvalId), cancellationToken);
        return approval is null ? throw NotFound($"approval '{approvalId}' not found") : WireMapping.ToApproval(approval);
    }

    /// <summary>
    /// Waits until the approval request is decided (or expired, cancelled) or <paramref name="timeout"/> passes, and returns it
    /// as it then is (<see cref="Approval.IsPending"/> when the wait ran out). Then decide again with its id in
    /// <see cref="DecisionRequest.ApprovalId"/>.
    /// </summary>
    public async Task<Approval> WaitForApprovalAsync(string approvalId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        var approval = await GetApprovalAsync(approvalId, cancellationToken);
        var deadline = time.GetUtcNow() + timeout;
        var pause = FirstPoll;
        while (approval.IsPending && time.GetUtcNow() < deadline)
        {
            var left = deadline - time.GetUtcNow();
            await Task.Delay(left < pause ? left : pause, time, cancellationToken);
            pause = TimeSpan.FromTicks(Math.Min(LongestPoll.Ticks, pause.Ticks * 2));
            approval = await GetApprovalAsync(approvalId, cancellationToken);
        }
        return approval;
    }

    private static Wire.DecisionRequest ToWire(DecisionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Action) || request.Action.Length > 256)
            throw new ArgumentException("Action must be an action name of 1-256 characters", nameof(request));
        if (request.Resource is null) throw new ArgumentException("Resource is required", nameof(request));
        if (!EntityTypeShape().IsMatch(request.Resource.Type ?? ""))
            throw new ArgumentException($"Resource.Type '{Shorten(request.Resource.Type)}' is not a Cedar entity type (Document, Ns::Document)", nameof(request));
        if (string.IsNullOrEmpty(request.Resource.Id)) throw new ArgumentException("Resource.Id must not be empty", nameof(request));
        if (request.ApprovalId is { } approvalId && Wire.ApprovalIds.SessionOf(approvalId) is null)
            throw new ArgumentException($"ApprovalId '{Shorten(approvalId)}' is not an approval id (<session id>~<16 hex digits>)", nameof(request));
        return new Wire.DecisionRequest
        {
            Action = request.Action,
            ResourceType = request.Resource.Type!,
            ResourceId = request.Resource.Id,
            ResourcePropertiesJson = request.Resource.Properties is { } properties ? JsonText(properties, "Resource.Properties", mustBeObject: true) : null,
            ContextJson = request.Context is { } context ? JsonText(context, nameof(request.Context), mustBeObject: true) : null,
            InputJson = request.Input is { } input ? JsonText(input, nameof(request.Input), mustBeObject: false) : null,
            ApprovalId = request.ApprovalId,
        };
    }

    /// <summary>Once, then again after a pause while the cluster is unreachable (reads and opens only).</summary>
    private async Task<T> WithRetriesAsync<T>(string operation, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var pause = options.RetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call().WaitAsync(cancellationToken);
            }
            catch (Exception e) when (IsTransport(e) && attempt < options.ReadAttempts)
            {
                logger.LogDebug(e, "{Operation} failed ({Reason}), attempt {Attempt} of {Attempts}; retrying", operation, Describe(e), attempt, options.ReadAttempts);
                await Task.Delay(pause, time, cancellationToken);
                pause *= 2;
            }
            catch (Exception e) when (IsTransport(e))
            {
                throw new ClusterUnavailableException(operation, Describe(e), attempt, e);
            }
        }
    }

    private static async Task<T> OnceAsync<T>(string operation, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().WaitAsync(cancellationToken);
        }
        catch (Exception e) when (IsTransport(e))
        {
            throw new ClusterUnavailableException(operation, Describe(e), 1, e);
        }
    }

    /// <summary>Failures of the call's delivery or answer, not of the grain's logic (the grains answer refusals as values).</summary>
    private static bool IsTransport(Exception e) => e is TimeoutException or OrleansException or ObjectDisposedException;

    private static string Describe(Exception e) => e switch
    {
        SiloUnavailableException => "silo unavailable",
        TimeoutException => "timed out",
        Orleans.Runtime.Messaging.ConnectionFailedException => "connection failed",
        OrleansMessageRejectionException => "call rejected",
        ObjectDisposedException => "client stopped",
        _ => e.GetType().Name,
    };

    private static AuthzApiException NotFound(string detail) => new(404, "Not Found", detail, type: null, [], requestId: null);

    private static void CheckId(string? id, string name)
    {
        if (id is null || !IdShape().IsMatch(id))
            throw new ArgumentException($"{name} '{Shorten(id)}' is not a valid id: use 1-128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit", name);
    }

    private static string SessionOfApproval(string approvalId) =>
        approvalId is not null && Wire.ApprovalIds.SessionOf(approvalId) is { } session && IdShape().IsMatch(session)
            ? session
            : throw new ArgumentException($"'{Shorten(approvalId)}' is not an approval id (<session id>~<16 hex digits>)", nameof(approvalId));

    private static TimeSpan Seconds(int seconds, string name) =>
        seconds > 0 ? TimeSpan.FromSeconds(seconds) : throw new ArgumentOutOfRangeException(name, seconds, $"{name} must be at least 1");

    private static string JsonText(JsonElement value, string name, bool mustBeObject)
    {
        if (value.ValueKind == JsonValueKind.Undefined) throw new ArgumentException($"{name} holds no JSON value", name);
        if (mustBeObject && value.ValueKind != JsonValueKind.Object) throw new ArgumentException($"{name} must be a JSON object, not {value.ValueKind}", name);
        return value.GetRawText();
    }

    private static string Shorten(string? text) => text is null ? "(null)" : text.Length <= 64 ? text : text[..61] + "...";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdShape();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex EntityTypeShape();
}
