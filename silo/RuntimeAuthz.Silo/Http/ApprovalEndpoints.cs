using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary>
/// Approval requests: list and show them, approve or reject (approvers), cancel (the requesting agent),
/// and wait for a decision (long poll). Each request lives in its session grain, which its id names.
/// </summary>
public static class ApprovalEndpoints
{
    public const int DefaultWaitSeconds = 30;
    public const int MaxWaitSeconds = 60;
    public const int DefaultListLimit = 100;
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromSeconds(1);

    public static void MapApprovalEndpoints(this IEndpointRouteBuilder app)
    {
        var approvals = app.MapGroup("/v1/approvals");

        approvals.MapGet("", async (HttpRequest request, IGrainFactory grains) =>
        {
            var status = request.Query["status"].ToString() switch
            {
                "" => (ApprovalStatus?)null,
                var text when Enum.TryParse<ApprovalStatus>(text, ignoreCase: true, out var parsed) && !int.TryParse(text, out _) => parsed,
                var other => throw new BadRequestException(
                    $"status must be one of {string.Join(", ", Enum.GetNames<ApprovalStatus>().Select(n => n.ToLowerInvariant()))}, not '{RequestReading.Shorten(other)}'"),
            };
            var limit = QueryInt(request, "limit", 1, 1000) ?? DefaultListLimit;
            var listed = await grains.GetGrain<IApprovalDirectoryGrain>(0).List(status, limit);
            return Results.Ok(listed.Select(ApprovalSummaryDto.From).ToArray());
        }).RequirePermission(Permissions.ApprovalsList)
            .Describe<ApprovalSummaryDto[]>("ListApprovals", "List recent approval requests, newest first (?status=&limit=)", problems: 400);

        approvals.MapGet("/{id}", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access, PublicAddress address) =>
        {
            var sessionId = SessionOf(id);
            if (await access.RefuseUnlessOwnsSessionAsync(context, Permissions.ApprovalsRead, sessionId) is { } refused) return refused;
            var approval = await grains.GetGrain<ISessionApprovalsGrain>(sessionId).GetApproval(id);
            return approval is null ? NotFound(id) : Results.Ok(ApprovalDto.From(approval, address.BaseUrl));
        }).RequirePermission(Permissions.ApprovalsRead).Describe<ApprovalDto>("GetApproval", "Show an approval request", problems: [400, 404]);

        approvals.MapGet("/{id}/wait", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access, PublicAddress address,
            TimeProvider time, CancellationToken ct) =>
        {
            var sessionId = SessionOf(id);
            var timeout = TimeSpan.FromSeconds(QueryInt(context.Request, "timeoutSeconds", 0, MaxWaitSeconds) ?? DefaultWaitSeconds);
            if (await access.RefuseUnlessOwnsSessionAsync(context, Permissions.ApprovalsRead, sessionId) is { } refused) return refused;
            var grain = grains.GetGrain<ISessionApprovalsGrain>(sessionId);
            var approval = await grain.GetApproval(id);
            if (approval is null) return NotFound(id);
            // Polls the session (cheap reads in its turn), backing off, until the request is decided or the wait is over.
            var deadline = time.GetUtcNow() + timeout;
            var pause = FirstPoll;
            while (approval.Status == ApprovalStatus.Pending && time.GetUtcNow() < deadline && !ct.IsCancellationRequested)
            {
                var left = deadline - time.GetUtcNow();
                try { await Task.Delay(left < pause ? left : pause, time, ct); }
                catch (OperationCanceledException) { break; }
                pause = TimeSpan.FromTicks(Math.Min(LongestPoll.Ticks, pause.Ticks * 2));
                approval = await grain.GetApproval(id) ?? approval;
            }
            return Results.Ok(ApprovalDto.From(approval, address.BaseUrl));
        }).RequirePermission(Permissions.ApprovalsRead)
            .Describe<ApprovalDto>("WaitForApproval", "Wait until an approval request is decided (long poll, ?timeoutSeconds=0..60)", problems: [400, 404]);

        approvals.MapPost("/{id}/approve", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access, PublicAddress address, CancellationToken ct) =>
        {
            var sessionId = SessionOf(id);
            var body = await RequestReading.ReadOptionalObjectAsync(context.Request, ct);
            body?.RefuseActorFields("actor", "approver", "approvedBy");
            var act = ActOf(context, access, body?.String("comment", maxLength: 1024, allowEmpty: true));
            var result = await grains.GetGrain<ISessionApprovalsGrain>(sessionId).Approve(id, act);
            return Answer(result, address);
        }).RequirePermission(Permissions.ApprovalsDecide).WithMetadata(RefusalEvidence.Instance).Reads<ApproveRequest>(optional: true)
            .Describe<ApprovalDto>("ApproveApproval", "Approve the exact held call", problems: [400, 404, 409]);

        approvals.MapPost("/{id}/reject", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access, PublicAddress address, CancellationToken ct) =>
        {
            var sessionId = SessionOf(id);
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            body.RefuseActorFields("actor", "approver", "rejectedBy");
            var act = ActOf(context, access, body.RequiredString("reason", maxLength: 1024));
            var result = await grains.GetGrain<ISessionApprovalsGrain>(sessionId).Reject(id, act);
            return Answer(result, address);
        }).RequirePermission(Permissions.ApprovalsDecide).WithMetadata(RefusalEvidence.Instance).Reads<RejectRequest>()
            .Describe<ApprovalDto>("RejectApproval", "Reject a held call, with a reason", problems: [400, 404, 409]);

        approvals.MapPost("/{id}/cancel", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access, PublicAddress address, CancellationToken ct) =>
        {
            var sessionId = SessionOf(id);
            var reason = (await RequestReading.ReadOptionalObjectAsync(context.Request, ct))?.String("reason", maxLength: 1024, allowEmpty: true);
            if (await access.RefuseUnlessOwnsSessionAsync(context, Permissions.ApprovalsCancel, sessionId) is { } refused) return refused;
            var result = await grains.GetGrain<ISessionApprovalsGrain>(sessionId).Cancel(id, ActOf(context, access, reason));
            return Answer(result, address);
        }).RequirePermission(Permissions.ApprovalsCancel).Reads<OptionalReasonRequest>(optional: true)
            .Describe<ApprovalDto>("CancelApproval", "Withdraw an approval request (the requesting agent)", problems: [400, 404, 409]);
    }

    /// <summary>The session an approval id names; 400 for something that is not an approval id.</summary>
    private static string SessionOf(string id) =>
        ApprovalIds.SessionOf(id) is { } session && RequestReading.IdShape().IsMatch(session)
            ? session
            : throw new BadRequestException($"'{RequestReading.Shorten(id)}' is not an approval id (<session id>~<16 hex digits>)");

    /// <summary>An approval id a decision request names (null when none), or 400.</summary>
    public static string? ReadApprovalId(string? text, string field) =>
        text is null || ApprovalIds.SessionOf(text) is not null
            ? text
            : throw new BadRequestException($"{field} '{RequestReading.Shorten(text)}' is not an approval id (<session id>~<16 hex digits>)");

    private static ApprovalAct ActOf(HttpContext context, CallerAccess access, string? reason)
    {
        var caller = access.CallerOf(context);
        return new ApprovalAct
        {
            Subject = caller.Subject, Issuer = caller.Issuer, CallerAgentId = caller.AgentId, Reason = reason,
            Via = $"{context.Request.Method} {context.Request.Path.Value}",
        };
    }

    private static IResult Answer(CommandResult<ApprovalInfo> result, PublicAddress address) =>
        result.IsSuccess ? Results.Ok(ApprovalDto.From(result.Value!, address.BaseUrl)) : Problems.FromCommand(result);

    private static IResult NotFound(string id) => Problems.NotFound($"approval '{id}' not found");

    private static int? QueryInt(HttpRequest request, string name, int min, int max)
    {
        var text = request.Query[name].ToString();
        if (text.Length == 0) return null;
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new BadRequestException($"{name} must be an integer from {min} to {max}, not '{RequestReading.Shorten(text)}'");
    }

    /// <summary>Where to wait for a request's decision (the AuthZEN reply and the approval's JSON name it).</summary>
    public static string WaitUrl(string baseUrl, string approvalId) => $"{baseUrl}/v1/approvals/{Uri.EscapeDataString(approvalId)}/wait";

    /// <summary>The AuthZEN reply's <c>context.access_request</c> for an ApprovalRequired decision (after the draft access-request profile).</summary>
    public static JsonObject AccessRequest(ApprovalTicket ticket, string baseUrl) => new()
    {
        ["id"] = ticket.Id,
        ["expires_at"] = ticket.ExpiresAt?.ToString("O"),
        ["binding_digest"] = ticket.BindingDigest,
        ["required_approvals"] = ticket.RequiredApprovals,
        ["status_endpoint"] = WaitUrl(baseUrl, ticket.Id),
        ["display"] = new JsonObject { ["title"] = "This call must be approved by a human before it runs" },
    };
}

/// <summary>Endpoint marker: a caller refused for lacking the permission leaves a governance record of the attempt (approving is such an act).</summary>
public sealed class RefusalEvidence
{
    public static readonly RefusalEvidence Instance = new();
}

public sealed record ApproverVoteDto(string Approver, DateTimeOffset At, string? Comment);

public sealed record ApprovalDto(string Id, string SessionId, string AgentId, string Status, string Action, string Resource, JsonNode? Call,
    string BindingDigest, IReadOnlyList<string> DeterminingPolicies, long PolicyVersion, long SessionRisk, IReadOnlyList<string> Timeline,
    string Requester, string WhoMayApprove, int RequiredApprovals, IReadOnlyList<ApproverVoteDto> Approvals, DateTimeOffset RequestedAt,
    DateTimeOffset ExpiresAt, DateTimeOffset? ClosedAt, string? ClosedBy, string? Reason, Guid RequestDecisionId, Guid? ConsumedByDecisionId, string WaitUrl)
{
    public static ApprovalDto From(ApprovalInfo a, string baseUrl) => new(a.Id, a.SessionId, a.AgentId, a.Status.ToString().ToLowerInvariant(),
        a.Action, a.Resource, CallOf(a.CallJson), a.BindingDigest, a.DeterminingPolicies, a.PolicyVersion, a.SessionRisk, a.Timeline, a.Requester,
        a.WhoMayApprove, a.RequiredApprovals, a.Approvals.Select(v => new ApproverVoteDto(v.Approver, v.At, v.Comment)).ToArray(), a.RequestedAt,
        a.ExpiresAt, a.ClosedAt, a.ClosedBy, a.Reason, a.RequestDecisionId, a.ConsumedByDecisionId, ApprovalEndpoints.WaitUrl(baseUrl, a.Id));

    /// <summary>The stored (redacted) call as JSON; a copy cut for size stays a string.</summary>
    private static JsonNode? CallOf(string? json)
    {
        if (json is null) return null;
        try { return JsonNode.Parse(json); }
        catch (System.Text.Json.JsonException) { return JsonValue.Create(json); }
    }
}

public sealed record ApprovalSummaryDto(string Id, string SessionId, string AgentId, string Action, string Resource, string Status,
    DateTimeOffset RequestedAt, DateTimeOffset ExpiresAt, int RequiredApprovals, int Approvals)
{
    public static ApprovalSummaryDto From(ApprovalSummary s) => new(s.Id, s.SessionId, s.AgentId, s.Action, s.Resource,
        s.Status.ToString().ToLowerInvariant(), s.RequestedAt, s.ExpiresAt, s.RequiredApprovals, s.Approvals);
}

public sealed record ApprovalTicketDto(string Id, string Act, string? BindingDigest, DateTimeOffset? ExpiresAt, int RequiredApprovals, string? Reason, string WaitUrl)
{
    public static ApprovalTicketDto? From(ApprovalTicket? t, string baseUrl) =>
        t is null ? null : new(t.Id, t.Act, t.BindingDigest, t.ExpiresAt, t.RequiredApprovals, t.Reason, ApprovalEndpoints.WaitUrl(baseUrl, t.Id));
}
