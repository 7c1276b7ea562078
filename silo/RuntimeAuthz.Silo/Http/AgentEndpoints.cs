using RuntimeAuthz.Contracts;

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
        });

        agents.MapGet("", async (HttpRequest request, IGrainFactory grains) =>
        {
            var (limit, continuation) = Paging.Read(request.Query, AgentDirectoryLimits.DefaultPageSize, AgentDirectoryLimits.MaxPageSize);
            var page = await grains.GetGrain<IAgentDirectoryGrain>(0).List(limit, continuation);
            if (!page.IsSuccess) return Problems.FromCommand(page);
            // An id listed by a registration whose identity write then failed has no agent: skipped.
            var found = await Task.WhenAll(page.Value!.AgentIds.Select(id => grains.GetGrain<IAgentGrain>(id).Get()));
            return Results.Ok(new AgentPageDto(found.OfType<AgentInfo>().Select(AgentDto.From).ToArray(), page.Value.Continuation));
        });

        agents.MapGet("/{id}", async (string id, IGrainFactory grains) =>
        {
            RequestReading.CheckId(id, "agent id");
            var agent = await grains.GetGrain<IAgentGrain>(id).Get();
            return agent is null ? Problems.NotFound($"agent '{id}' not found") : Results.Ok(AgentDto.From(agent));
        });

        agents.MapPost("/{id}/status", async (string id, HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "agent id");
            var body = new Fields(await RequestReading.ReadObjectAsync(request, ct));
            var statusText = body.RequiredString("status");
            var status = Words.AgentStatusFrom(statusText)
                ?? throw new BadRequestException($"status must be \"active\", \"suspended\" or \"revoked\", not \"{RequestReading.Shorten(statusText)}\"");
            var change = new AgentStatusChange
            {
                Status = status,
                Reason = body.String("reason", maxLength: 1024, allowEmpty: true) ?? "",
                Actor = body.String("actor") ?? "unknown",
            };
            var result = await grains.GetGrain<IAgentGrain>(id).SetStatus(change);
            return result.IsSuccess ? Results.Ok(AgentDto.From(result.Value!)) : Problems.FromCommand(result);
        });

        agents.MapPost("/{id}/delegations", async (string id, HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "agent id");
            var body = new Fields(await RequestReading.ReadObjectAsync(request, ct));
            var grant = GovernanceEndpoints.ReadGrant(body);
            var result = await grains.GetGrain<IAgentGrain>(id).AddDelegation(grant);
            return result.IsSuccess
                ? Results.Created($"/v1/agents/{Uri.EscapeDataString(id)}", DelegationDto.From(result.Value!))
                : Problems.FromCommand(result);
        });

        agents.MapDelete("/{id}/delegations/{delegationId}", async (string id, string delegationId, IGrainFactory grains) =>
        {
            RequestReading.CheckId(id, "agent id");
            // Revoked through governance so grants sub-delegated from it are revoked too.
            var result = await grains.GetGrain<IGovernanceGrain>(0).RevokeGrant(id, delegationId, new GovernanceActor { Actor = "unknown", Reason = "delegation removed" });
            if (!result.IsSuccess) return Problems.FromCommand(result);
            return Results.Ok(AgentDto.From((await grains.GetGrain<IAgentGrain>(id).Get())!));
        });
    }
}
