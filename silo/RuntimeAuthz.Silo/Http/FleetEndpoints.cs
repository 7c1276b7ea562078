using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo.Security;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Silo.Http;

/// <summary>Finding an agent's sessions through the session index, page by page.</summary>
public static class FleetEndpoints
{
    public static void MapFleetEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/agents/{id}/sessions", async (string id, HttpContext context, SessionIndex sessionIndex, CallerAccess access, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "agent id");
            var (limit, continuation) = Paging.Read(context.Request.Query, AgentDirectoryLimits.DefaultPageSize, AgentDirectoryLimits.MaxPageSize);
            if (await access.RefuseUnlessActsForAsync(context, Permissions.SessionsRead, id) is { } refused) return refused;
            var page = await sessionIndex.ListAgentSessionsAsync(id, limit, continuation, ct);
            return page.IsSuccess
                ? Results.Ok(new SessionPageDto(page.Value!.Sessions.Select(s => new IndexedSessionDto(s.SessionId, s.OpenedAt)).ToArray(), page.Value.Continuation))
                : Problems.FromCommand(page);
        }).RequirePermission(Permissions.SessionsRead)
            .Describe<SessionPageDto>("ListAgentSessions", "An agent's sessions in id order, a page at a time", problems: [400, 404]);
    }
}

public sealed record IndexedSessionDto(string Id, DateTimeOffset OpenedAt);

/// <summary>A page of <c>GET /v1/agents/{id}/sessions</c>; <c>continuation</c> is absent on the last page.</summary>
public sealed record SessionPageDto(IReadOnlyList<IndexedSessionDto> Sessions, string? Continuation);
