using System.Globalization;
using System.Text.Json;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Enforcement;

/// <summary>
/// <see cref="IAuthorizationBackend"/> over the HTTP SDK. Decisions go through AuthZEN
/// (<c>POST /access/v1/evaluation</c>), which takes the approval a re-submitted call uses as
/// <c>context.approval_id</c>; the client's token should be an enforcement point's (<c>pep</c>) acting
/// for the agents it fronts, so the outcomes it reports are recorded as reported by an enforcement point.
/// </summary>
public sealed class AuthzClientBackend(AuthzClient client) : IAuthorizationBackend
{
    private const string SessionIdKey = "session_id";
    private const string ToolInputKey = "tool_input";
    private const string ApprovalIdKey = "approval_id";

    public async Task<string> OpenSessionAsync(string agentId, CancellationToken cancellationToken)
    {
        var session = await client.OpenSessionAsync(new OpenSessionRequest(agentId), cancellationToken).ConfigureAwait(false);
        return string.IsNullOrEmpty(session.Id) ? throw new MalformedAnswerException("the cluster opened a session without an id") : session.Id;
    }

    public Task CloseSessionAsync(string sessionId, string? reason, CancellationToken cancellationToken) =>
        client.CloseSessionAsync(sessionId, new CloseSessionRequest(reason), cancellationToken);

    public async Task<BackendDecision> DecideAsync(string sessionId, string agentId, GuardedCall call, string? approvalId, CancellationToken cancellationToken)
    {
        var request = new AuthZenEvaluationRequest(
            AuthZenSubject.Agent(agentId),
            new AuthZenAction(call.Action),
            new AuthZenResource(call.Resource.Type, call.Resource.Id, call.Resource.Properties),
            ContextOf(sessionId, call, approvalId));
        var answer = await client.EvaluateAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
        return Read(answer);
    }

    public Task ReportOutcomeAsync(string sessionId, Guid decisionId, CallOutcome outcome, CancellationToken cancellationToken) =>
        client.ReportOutcomeAsync(sessionId,
            new ReportOutcomeRequest(decisionId.ToString(), outcome.Kind, outcome.Output, outcome.Error), cancellationToken);

    public async Task<ApprovalStatus> GetApprovalAsync(string approvalId, CancellationToken cancellationToken) =>
        Read(await client.GetApprovalAsync(approvalId, cancellationToken).ConfigureAwait(false));

    public async Task<ApprovalStatus> WaitForApprovalAsync(string approvalId, TimeSpan timeout, CancellationToken cancellationToken) =>
        Read(await client.WaitForApprovalAsync(approvalId, timeout, cancellationToken).ConfigureAwait(false));

    private static JsonElement ContextOf(string sessionId, GuardedCall call, string? approvalId)
    {
        var context = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (call.Context is { } extra)
        {
            if (extra.ValueKind != JsonValueKind.Object) throw new ArgumentException("The call's context must be a JSON object.", nameof(call));
            foreach (var property in extra.EnumerateObject())
            {
                // The keys this backend sets itself are not the caller's to choose.
                if (property.Name is SessionIdKey or ToolInputKey or ApprovalIdKey) continue;
                context[property.Name] = property.Value;
            }
        }
        context[SessionIdKey] = JsonSerializer.SerializeToElement(sessionId);
        if (call.Input is { } input) context[ToolInputKey] = input;
        if (approvalId is not null) context[ApprovalIdKey] = JsonSerializer.SerializeToElement(approvalId);
        return JsonSerializer.SerializeToElement(context);
    }

    /// <summary>Reads an AuthZEN answer strictly: anything inconsistent is malformed, never a guess.</summary>
    internal static BackendDecision Read(AuthZenEvaluationResponse answer)
    {
        var context = answer.Context ?? throw new MalformedAnswerException("the decision has no context (no decision id or outcome)");
        if (!Guid.TryParse(context.DecisionId, out var decisionId)) throw new MalformedAnswerException("the decision has no valid decision_id");
        if (!Enum.IsDefined(context.Outcome)) throw new MalformedAnswerException("the decision has an unknown outcome");
        if (answer.Decision != (context.Outcome == DecisionOutcome.Allow))
            throw new MalformedAnswerException($"the decision says decision={answer.Decision} but outcome {context.Outcome}");
        var approval = ApprovalOf(context);
        if (context.Outcome == DecisionOutcome.ApprovalRequired && approval is not { Act: "requested" })
            throw new MalformedAnswerException("ApprovalRequired without the approval request it opened");
        return new BackendDecision(decisionId, context.Outcome, context.DenyReason, context.Reasons ?? [], context.PolicyVersion ?? 0, approval);
    }

    private static DecisionApproval? ApprovalOf(AuthZenDecisionContext context)
    {
        var extra = context.AdditionalProperties;
        if (extra is null) return null;
        if (extra.TryGetValue("access_request", out var request) && request.ValueKind == JsonValueKind.Object)
        {
            var id = StringOf(request, "id") ?? throw new MalformedAnswerException("the approval request has no id");
            DateTimeOffset? expires = StringOf(request, "expires_at") is { } text
                && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at) ? at : null;
            return new DecisionApproval(id, "requested", expires, null);
        }
        if (extra.TryGetValue("approval", out var presented) && presented.ValueKind == JsonValueKind.Object)
        {
            var id = StringOf(presented, "id") ?? throw new MalformedAnswerException("the decision's approval has no id");
            return new DecisionApproval(id, StringOf(presented, "act") ?? "presented", null, StringOf(presented, "reason"));
        }
        return null;
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    internal static ApprovalStatus Read(Approval approval) => new(approval.Id, approval.Status switch
    {
        "pending" => ApprovalState.Pending,
        "approved" => ApprovalState.Approved,
        "rejected" => ApprovalState.Rejected,
        "expired" => ApprovalState.Expired,
        "cancelled" => ApprovalState.Cancelled,
        "consumed" => ApprovalState.Consumed,
        _ => throw new MalformedAnswerException($"approval '{approval.Id}' has an unknown status"),
    }, approval.ExpiresAt, approval.Reason);
}
