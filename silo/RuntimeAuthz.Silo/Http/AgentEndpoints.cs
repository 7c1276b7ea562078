using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

public static class AgentEndpoints
{
    public static void MapAgentEndpoints(this IEndpointRouteBuilder app)
    {
        var agents = app.MapGroup("/v1/agents");

        agents.MapPost("", async (HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
        {
            var body = new Fields(await RequestReading.ReadObjectAsync(request, ct));
            var id = RequestReading.CheckId(body.RequiredString("id"), "agent id");
            var registration = new AgentRegistration
            {
                Name = body.RequiredString("name"),
                Owner = body.RequiredString("owner"),
                Fleet = body.RequiredString("fleet"),
                Labels = body.StringMap("labels") ?? new Dictionary<string, string>(),
            };
            var result = await grains.GetGrain<IAgentGrain>(id).Register(registration);
            return result.IsSuccess
                ? Results.Created($"/v1/agents/{Uri.EscapeDataString(id)}", AgentDto.From(result.Value!))
                : Problems.FromCommand(result);
        }).RequirePermission(Permissions.AgentsRegister).Reads<RegisterAgentRequest>()
            .Describe<AgentDto>("RegisterAgent", "Register an agent", StatusCodes.Status201Created, 400, 409);

        agents.MapGet("", async (HttpRequest request, IGrainFactory grains) =>
        {
            var (limit, continuation) = Paging.Read(request.Query, AgentDirectoryLimits.DefaultPageSize, AgentDirectoryLimits.MaxPageSize);
            var page = await grains.GetGrain<IAgentDirectoryGrain>(0).List(limit, continuation);
            if (!page.IsSuccess) return Problems.FromCommand(page);
            // An id listed by a registration whose identity write then failed has no agent: skipped.
            var found = await Task.WhenAll(page.Value!.AgentIds.Select(id => grains.GetGrain<IAgentGrain>(id).Get()));
            return Results.Ok(new AgentPageDto(found.OfType<AgentInfo>().Select(AgentDto.From).ToArray(), page.Value.Continuation));
        }).RequirePermission(Permissions.AgentsRead).Describe<AgentPageDto>("ListAgents", "List agents, a page at a time (?limit=&continuation=)", problems: 400);

        agents.MapGet("/{id}", async (string id, IGrainFactory grains) =>
        {
            RequestReading.CheckId(id, "agent id");
            var agent = await grains.GetGrain<IAgentGrain>(id).Get();
            return agent is null ? Problems.NotFound($"agent '{id}' not found") : Results.Ok(AgentDto.From(agent));
        }).RequirePermission(Permissions.AgentsRead).Describe<AgentDto>("GetAgent", "Show an agent and its delegations", problems: [400, 404]);

        agents.MapPost("/{id}/status", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "agent id");
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            body.RefuseActorFields("actor");
            var statusText = body.RequiredString("status");
            var status = Words.AgentStatusFrom(statusText)
                ?? throw new BadRequestException($"status must be \"active\", \"suspended\" or \"revoked\", not \"{RequestReading.Shorten(statusText)}\"");
            var caller = access.CallerOf(context);
            // Suspending is the responders' kill switch; reactivating or revoking is governance.
            if (status != AgentStatus.Suspended && !caller.Holds(Permissions.AgentsStatus))
                return Problems.Create(StatusCodes.Status403Forbidden, $"setting status \"{statusText}\" {Permissions.AgentsStatus.Refusal}");
            var change = new AgentStatusChange
            {
                Status = status,
                Reason = body.String("reason", maxLength: 1024, allowEmpty: true) ?? "",
                Actor = caller.Subject,
                ActorIssuer = caller.Issuer,
            };
            var result = await grains.GetGrain<IAgentGrain>(id).SetStatus(change);
            return result.IsSuccess ? Results.Ok(AgentDto.From(result.Value!)) : Problems.FromCommand(result);
        }).RequirePermission(Permissions.AgentsSuspend).Reads<AgentStatusRequest>()
            .Describe<AgentDto>("SetAgentStatus", "Suspend (kill switch), reactivate or revoke an agent", problems: [400, 404, 409]);

        agents.MapPost("/{id}/delegations", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "agent id");
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            var grant = GovernanceEndpoints.ReadGrant(body, access.CallerOf(context));
            if (await access.RefuseSelfGrantAsync(context, Permissions.GrantsWrite, id) is { } refused) return refused;
            var result = await grains.GetGrain<IAgentGrain>(id).AddDelegation(grant);
            return result.IsSuccess
                ? Results.Created($"/v1/agents/{Uri.EscapeDataString(id)}", DelegationDto.From(result.Value!))
                : Problems.FromCommand(result);
        }).RequirePermission(Permissions.GrantsWrite).Reads<GrantRequest>()
            .Describe<DelegationDto>("AddDelegation", "Delegate authority to an agent (as /grants)", StatusCodes.Status201Created, 400, 404, 409);

        agents.MapDelete("/{id}/delegations/{delegationId}", async (string id, string delegationId, HttpContext context, IGrainFactory grains, CallerAccess access) =>
        {
            RequestReading.CheckId(id, "agent id");
            var caller = access.CallerOf(context);
            // Revoked through governance so grants sub-delegated from it are revoked too.
            var by = new GovernanceActor { Actor = caller.Subject, Issuer = caller.Issuer, Reason = "delegation removed" };
            var result = await grains.GetGrain<IGovernanceGrain>(0).RevokeGrant(id, delegationId, by);
            if (!result.IsSuccess) return Problems.FromCommand(result);
            return Results.Ok(AgentDto.From((await grains.GetGrain<IAgentGrain>(id).Get())!));
        }).RequirePermission(Permissions.GrantsRevoke).Describe<AgentDto>("RemoveDelegation", "Revoke one delegation (and what was sub-delegated from it)", problems: [400, 404, 409]);
    }
}
