using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Silo.Http;

public static class SessionEndpoints
{
    public const long DefaultLifetimeSeconds = 3600;
    public const long DefaultIdleTimeoutSeconds = 900;

    public static void MapSessionEndpoints(this IEndpointRouteBuilder app)
    {
        var sessions = app.MapGroup("/v1/sessions");

        sessions.MapPost("", async (HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
        {
            var body = new Fields(await RequestReading.ReadObjectAsync(request, ct));
            var agentId = RequestReading.CheckId(body.RequiredString("agentId"), "agentId");
            var maxSeconds = (long)Grains.SessionLimits.MaxLifetime.TotalSeconds;
            var lifetime = body.Long("lifetimeSeconds", min: 1, max: maxSeconds) ?? DefaultLifetimeSeconds;
            var idle = body.Long("idleTimeoutSeconds", min: 1, max: maxSeconds) ?? DefaultIdleTimeoutSeconds;
            var sessionId = Guid.NewGuid().ToString("N");
            var result = await grains.GetGrain<IAgentSessionGrain>(sessionId).Open(new SessionOpenRequest
            {
                AgentId = agentId, Lifetime = TimeSpan.FromSeconds(lifetime), IdleTimeout = TimeSpan.FromSeconds(idle),
            });
            return result.IsSuccess
                ? Results.Created($"/v1/sessions/{sessionId}", SessionDto.From(result.Value!))
                : Problems.FromCommand(result);
        });

        sessions.MapGet("/{id}", async (string id, IGrainFactory grains) =>
        {
            RequestReading.CheckId(id, "session id");
            var session = await grains.GetGrain<IAgentSessionGrain>(id).Get();
            return session is null ? Problems.NotFound($"session '{id}' not found") : Results.Ok(SessionDto.From(session));
        });

        // The timeline, read from the session's evidence chain: ?after=<record seq>&limit=<1..1000>.
        sessions.MapGet("/{id}/timeline", async (string id, HttpRequest request, IGrainFactory grains) =>
        {
            RequestReading.CheckId(id, "session id");
            var after = QueryNumber(request, "after", 0, long.MaxValue) ?? 0;
            var limit = QueryNumber(request, "limit", 1, Grains.SessionLimits.MaxTimelinePage) ?? Grains.SessionLimits.TimelinePage;
            var page = await grains.GetGrain<IAgentSessionGrain>(id).GetTimeline(after, (int)limit);
            return page is null
                ? Problems.NotFound($"session '{id}' not found")
                : Results.Ok(new { events = page.Events.Select(SessionEventDto.From).ToArray(), nextAfter = page.NextAfter });
        });

        sessions.MapPost("/{id}/close", async (string id, HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "session id");
            string? reason = null;
            if (request.ContentLength is null or > 0)
            {
                var raw = await ReadOptionalObject(request, ct);
                reason = raw?.String("reason", maxLength: 1024, allowEmpty: true);
            }
            var result = await grains.GetGrain<IAgentSessionGrain>(id).Close(reason);
            return result.IsSuccess ? Results.Ok(SessionDto.From(result.Value!)) : Problems.FromCommand(result);
        });

        sessions.MapPost("/{id}/decisions", async (string id, HttpRequest request, IGrainFactory grains, TimeProvider time, ILogger<AuthzDecision> logger, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "session id");
            var body = new Fields(await RequestReading.ReadObjectAsync(request, ct));
            var decisionRequest = DecisionInput.Build(
                agentId: null,
                action: body.RequiredString("action"),
                resource: body.Nested("resource", required: true)!,
                context: body.Object("context"),
                input: body.Any("input"));
            var decision = await DecideFailClosed(grains, id, decisionRequest, time, logger);
            return decision.DenyReason == DenyReasons.UnknownSession
                ? Problems.NotFound($"session '{id}' not found")
                : Results.Ok(DecisionDto.From(decision));
        });

        sessions.MapPost("/{id}/outcomes", async (string id, HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "session id");
            var body = new Fields(await RequestReading.ReadObjectAsync(request, ct));
            var decisionText = body.RequiredString("decisionId");
            if (!Guid.TryParse(decisionText, out var decisionId))
                throw new BadRequestException($"decisionId '{RequestReading.Shorten(decisionText)}' is not a GUID");
            var kind = body.RequiredString("kind") switch
            {
                "response" => SessionEventKind.Response,
                "error" => SessionEventKind.Error,
                var other => throw new BadRequestException($"kind must be \"response\" or \"error\", not \"{RequestReading.Shorten(other)}\""),
            };
            var report = new OutcomeReport
            {
                DecisionId = decisionId, Kind = kind,
                OutputJson = body.Any("output")?.ToJsonString(),
                Error = body.String("error", maxLength: 64 * 1024, allowEmpty: true),
            };
            var result = await grains.GetGrain<IAgentSessionGrain>(id).ReportOutcome(report);
            return result.IsSuccess
                ? Results.Accepted($"/v1/sessions/{id}", new OutcomeAcceptedDto(result.Value!.Seq, Words.Of(result.Value.Kind), decisionId))
                : Problems.FromCommand(result);
        });
    }

    /// <summary>Asks the session grain; a failed call (e.g. cluster unavailable) is a Deny, never an error that a caller might ignore.</summary>
    public static async Task<AuthzDecision> DecideFailClosed(IGrainFactory grains, string sessionId, DecisionRequest request, TimeProvider time, ILogger logger)
    {
        try
        {
            return await grains.GetGrain<IAgentSessionGrain>(sessionId).Decide(request);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Decision call for session {SessionId} failed; denying", sessionId);
            return new AuthzDecision
            {
                DecisionId = Guid.NewGuid(), Outcome = DecisionOutcome.Deny, DenyReason = DenyReasons.InternalError,
                SessionId = sessionId, AgentId = request.AgentId ?? "", DecidedAt = time.GetUtcNow(),
            };
        }
    }

    private static long? QueryNumber(HttpRequest request, string name, long min, long max)
    {
        if (!request.Query.TryGetValue(name, out var values)) return null;
        if (values.Count != 1 || !long.TryParse(values[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new BadRequestException($"query parameter '{name}' must be one integer from {min} to {max}");
        return value;
    }

    private static async Task<Fields?> ReadOptionalObject(HttpRequest request, CancellationToken ct)
    {
        try
        {
            return new Fields(await RequestReading.ReadObjectAsync(request, ct));
        }
        catch (BadRequestException ex) when (ex.Message.StartsWith("request body is required", StringComparison.Ordinal))
        {
            return null;
        }
    }
}
