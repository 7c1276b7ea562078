using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

public static class SessionEndpoints
{
    public const long DefaultLifetimeSeconds = 3600;
    public const long DefaultIdleTimeoutSeconds = 900;

    public static void MapSessionEndpoints(this IEndpointRouteBuilder app)
    {
        var sessions = app.MapGroup("/v1/sessions");

        sessions.MapPost("", async (HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            var agentId = RequestReading.CheckId(body.RequiredString("agentId"), "agentId");
            if (await access.RefuseUnlessActsForAsync(context, Permissions.SessionsOpen, agentId) is { } refused) return refused;
            var maxSeconds = (long)Grains.Sessions.SessionLimits.MaxLifetime.TotalSeconds;
            var lifetime = body.Long("lifetimeSeconds", min: 1, max: maxSeconds) ?? DefaultLifetimeSeconds;
            var idle = body.Long("idleTimeoutSeconds", min: 1, max: maxSeconds) ?? DefaultIdleTimeoutSeconds;
            var sessionId = Guid.NewGuid().ToString("N");
            var result = await grains.GetGrain<IAgentSessionGrain>(sessionId).Open(new SessionOpenRequest
            {
                AgentId = agentId, Lifetime = TimeSpan.FromSeconds(lifetime), IdleTimeout = TimeSpan.FromSeconds(idle), OpenedBy = access.CallerOf(context).Subject,
            });
            return result.IsSuccess
                ? Results.Created($"/v1/sessions/{sessionId}", SessionDto.From(result.Value!))
                : Problems.FromCommand(result);
        }).RequirePermission(Permissions.SessionsOpen).Reads<OpenSessionRequest>()
            .Describe<SessionDto>("OpenSession", "Open a session for an agent", StatusCodes.Status201Created, 400, 404, 409);

        sessions.MapGet("/{id}", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access) =>
        {
            RequestReading.CheckId(id, "session id");
            if (await access.RefuseUnlessOwnsSessionAsync(context, Permissions.SessionsRead, id) is { } refused) return refused;
            var session = await grains.GetGrain<IAgentSessionGrain>(id).Get();
            return session is null ? Problems.NotFound($"session '{id}' not found") : Results.Ok(SessionDto.From(session));
        }).RequirePermission(Permissions.SessionsRead).Describe<SessionDto>("GetSession", "Show a session: status, risk, counts and recent events", problems: [400, 404]);

        // The timeline, read from the session's evidence chain: ?after=<record seq>&limit=<1..1000>.
        sessions.MapGet("/{id}/timeline", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access) =>
        {
            RequestReading.CheckId(id, "session id");
            var after = QueryNumber(context.Request, "after", 0, long.MaxValue) ?? 0;
            var limit = QueryNumber(context.Request, "limit", 1, Grains.Sessions.SessionLimits.MaxTimelinePage) ?? Grains.Sessions.SessionLimits.TimelinePage;
            if (await access.RefuseUnlessOwnsSessionAsync(context, Permissions.SessionsRead, id) is { } refused) return refused;
            var page = await grains.GetGrain<IAgentSessionGrain>(id).GetTimeline(after, (int)limit);
            return page is null
                ? Problems.NotFound($"session '{id}' not found")
                : Results.Ok(new TimelineDto(page.Events.Select(SessionEventDto.From).ToArray(), page.NextAfter));
        }).RequirePermission(Permissions.SessionsRead)
            .Describe<TimelineDto>("GetSessionTimeline", "A session's timeline from its evidence chain (?after=&limit=)", problems: [400, 404]);

        sessions.MapPost("/{id}/close", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "session id");
            var reason = (await RequestReading.ReadOptionalObjectAsync(context.Request, ct))?.String("reason", maxLength: 1024, allowEmpty: true);
            if (await access.RefuseUnlessOwnsSessionAsync(context, Permissions.SessionsClose, id) is { } refused) return refused;
            var result = await grains.GetGrain<IAgentSessionGrain>(id).Close(reason);
            return result.IsSuccess ? Results.Ok(SessionDto.From(result.Value!)) : Problems.FromCommand(result);
        }).RequirePermission(Permissions.SessionsClose).Reads<OptionalReasonRequest>(optional: true)
            .Describe<SessionDto>("CloseSession", "Close a session", problems: [400, 404]);

        sessions.MapPost("/{id}/decisions", async (string id, HttpContext context, FailClosedDecider decider, CallerAccess access,
            PublicAddress address, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "session id");
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            var decisionRequest = DecisionInput.Build(
                agentId: null,
                action: body.RequiredString("action"),
                resource: body.Nested("resource", required: true)!,
                context: body.Object("context"),
                input: body.Any("input")) with
            {
                ApprovalId = ApprovalEndpoints.ReadApprovalId(body.String("approvalId", maxLength: ApprovalIds.MaxLength), "approvalId"),
            };
            var (refused, failure) = await access.CheckMayDecideInSessionAsync(context, id);
            if (refused is not null) return refused;
            if (failure is not null) return Results.Ok(DecisionDto.From(decider.Unasked(id, decisionRequest, failure), address.BaseUrl));
            var decision = await decider.DecideAsync(id, decisionRequest, access.CallerOf(context));
            return decision.DenyReason == DenyReasons.UnknownSession
                ? Problems.NotFound($"session '{id}' not found")
                : Results.Ok(DecisionDto.From(decision, address.BaseUrl));
        }).RequirePermission(Permissions.Decide).Reads<SessionDecisionRequest>()
            .Describe<DecisionDto>("DecideInSession", "Decide one tool call in a session (native API)", problems: [400, 404]);

        sessions.MapPost("/{id}/outcomes", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "session id");
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            var decisionText = body.RequiredString("decisionId");
            if (!Guid.TryParse(decisionText, out var decisionId))
                throw new BadRequestException($"decisionId '{RequestReading.Shorten(decisionText)}' is not a GUID");
            var kind = body.RequiredString("kind") switch
            {
                "response" => SessionEventKind.Response,
                "error" => SessionEventKind.Error,
                var other => throw new BadRequestException($"kind must be \"response\" or \"error\", not \"{RequestReading.Shorten(other)}\""),
            };
            // Provenance comes from the token: an enforcement point (pep) saw the tool's answer itself.
            var reporter = access.CallerOf(context);
            var report = new OutcomeReport
            {
                DecisionId = decisionId, Kind = kind,
                OutputJson = body.Any("output")?.ToJsonString(),
                Error = body.String("error", maxLength: 64 * 1024, allowEmpty: true),
                ReportedBy = reporter.Subject,
                ReporterKind = reporter.AgentId is null && reporter.Has(Roles.Pep) ? ReporterKind.EnforcementPoint : ReporterKind.Agent,
            };
            // A session's decisions are its agent's: owning the session is owning the decision.
            if (await access.RefuseUnlessOwnsSessionAsync(context, Permissions.OutcomesReport, id) is { } refused) return refused;
            var result = await grains.GetGrain<IAgentSessionGrain>(id).ReportOutcome(report);
            return result.IsSuccess
                ? Results.Accepted($"/v1/sessions/{id}", new OutcomeAcceptedDto(result.Value!.Seq, Words.Of(result.Value.Kind), decisionId))
                : Problems.FromCommand(result);
        }).RequirePermission(Permissions.OutcomesReport).Reads<OutcomeRequest>()
            .Describe<OutcomeAcceptedDto>("ReportOutcome", "Report what an allowed call returned (or its error)", StatusCodes.Status202Accepted, 400, 404, 409);
    }

    private static long? QueryNumber(HttpRequest request, string name, long min, long max)
    {
        if (!request.Query.TryGetValue(name, out var values)) return null;
        if (values.Count != 1 || !long.TryParse(values[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new BadRequestException($"query parameter '{name}' must be one integer from {min} to {max}");
        return value;
    }
}
