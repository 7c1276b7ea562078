using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Silo.Security;
using RuntimeAuthz.Grains.Governance;

namespace RuntimeAuthz.Silo.Http;

public sealed record GrantDto(string Id, IReadOnlyList<string> Actions, IReadOnlyList<string> Resources, string GrantedBy, string? Purpose,
    DateTimeOffset GrantedAt, DateTimeOffset ExpiresAt, DateTimeOffset? NotBefore, string? Condition, string? DelegatorAgentId, string? ParentGrantId,
    string? SessionId, int Depth, string Status, DateTimeOffset? RevokedAt, string? RevokedBy, string? RevokeReason, string? GrantedByIssuer, string? RevokedByIssuer)
{
    /// <summary>A grant just made, as of when it was made: the grain's clock may be ahead of this silo's, and a grant in force is never "pending".</summary>
    public static GrantDto Made(Delegation d, DateTimeOffset now) => From(d, now > d.GrantedAt ? now : d.GrantedAt);

    public static GrantDto From(Delegation d, DateTimeOffset now) => new(d.Id, d.Actions, d.Resources, d.GrantedBy, d.Purpose, d.GrantedAt, d.ExpiresAt,
        d.NotBefore, d.Condition, d.DelegatorAgentId, d.ParentGrantId, d.SessionId, d.Depth,
        d.RevokedAt is not null ? "revoked" : now >= d.ExpiresAt ? "expired" : now < d.StartsAt ? "pending" : "active",
        d.RevokedAt, d.RevokedBy, d.RevokeReason, d.GrantedByIssuer, d.RevokedByIssuer);
}

public sealed record GrantListDto(string AgentId, IReadOnlyList<GrantDto> Grants, IReadOnlyList<GrantDto> Revoked);

public sealed record RevokedGrantDto(string AgentId, GrantDto Grant);

public sealed record RevocationDto(DateTimeOffset RevokedAt, int Count, IReadOnlyList<RevokedGrantDto> Revoked)
{
    public static RevocationDto From(RevocationResult r) =>
        new(r.RevokedAt, r.Revoked.Count, r.Revoked.Select(g => new RevokedGrantDto(g.AgentId, GrantDto.From(g.Grant, r.RevokedAt))).ToArray());
}

public sealed record SuspensionChangeDto(bool Suspended, DateTimeOffset At, string Actor, string Reason, string? ActorIssuer);

public sealed record SuspensionDto(string Scope, bool Suspended, DateTimeOffset? ChangedAt, string? ChangedBy, string? Reason, IReadOnlyList<SuspensionChangeDto> History,
    string? ChangedByIssuer)
{
    public static SuspensionDto From(SuspensionInfo s) => new(s.Scope, s.Suspended, s.ChangedAt, s.ChangedBy, s.Reason,
        s.History.Select(h => new SuspensionChangeDto(h.Suspended, h.At, h.Actor, h.Reason, h.ActorIssuer)).ToArray(), s.ChangedByIssuer);
}

/// <summary>Delegation governance: grants, sub-delegation, elevations, revocation, fleet/label suspension (docs/http-api.md).</summary>
public static class GovernanceEndpoints
{
    public static void MapGovernanceEndpoints(this IEndpointRouteBuilder app)
    {
        var agents = app.MapGroup("/v1/agents");

        agents.MapPost("/{id}/grants", async (string id, HttpContext context, IGrainFactory grains, AuthzClock clock, CallerAccess access, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "agent id");
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            var grant = ReadGrant(body, access.CallerOf(context));
            if (await access.RefuseSelfGrantAsync(context, Permissions.GrantsWrite, id) is { } refused) return refused;
            var result = await grains.GetGrain<IAgentGrain>(id).AddDelegation(grant);
            return result.IsSuccess
                ? Results.Created($"/v1/agents/{Uri.EscapeDataString(id)}/grants/{result.Value!.Id}", GrantDto.Made(result.Value!, clock.UtcNow))
                : Problems.FromCommand(result);
        }).RequirePermission(Permissions.GrantsWrite).Reads<GrantRequest>()
            .Describe<GrantDto>("AddGrant", "Delegate authority to an agent", StatusCodes.Status201Created, 400, 404, 409);

        agents.MapGet("/{id}/grants", async (string id, IGrainFactory grains, AuthzClock clock) =>
        {
            RequestReading.CheckId(id, "agent id");
            var agent = await grains.GetGrain<IAgentGrain>(id).Get();
            if (agent is null) return Problems.NotFound($"agent '{id}' not found");
            var now = clock.UtcNow;
            return Results.Ok(new GrantListDto(agent.Id, agent.Delegations.Select(d => GrantDto.From(d, now)).ToArray(),
                agent.RevokedDelegations.Reverse().Select(d => GrantDto.From(d, now)).ToArray()));
        }).RequirePermission(Permissions.AgentsRead).Describe<GrantListDto>("ListGrants", "An agent's grants in force and revoked", problems: [400, 404]);

        agents.MapGet("/{id}/grants/{grantId}", async (string id, string grantId, IGrainFactory grains, AuthzClock clock) =>
        {
            RequestReading.CheckId(id, "agent id");
            var link = await grains.GetGrain<IAgentGrain>(id).GetGrantLink(grantId);
            if (link.HolderStatus is null) return Problems.NotFound($"agent '{id}' not found");
            return link.Grant is null ? Problems.NotFound($"grant '{grantId}' not found on agent '{id}'") : Results.Ok(GrantDto.From(link.Grant, clock.UtcNow));
        }).RequirePermission(Permissions.AgentsRead).Describe<GrantDto>("GetGrant", "One grant of an agent", problems: [400, 404]);

        agents.MapPost("/{id}/grants/{grantId}/revoke", async (string id, string grantId, HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "agent id");
            var by = await ReadActorAsync(context, access, ct);
            var result = await grains.GetGrain<IGovernanceGrain>(0).RevokeGrant(id, grantId, by);
            return result.IsSuccess ? Results.Ok(RevocationDto.From(result.Value!)) : Problems.FromCommand(result);
        }).RequirePermission(Permissions.GrantsRevoke).Reads<ReasonRequest>()
            .Describe<RevocationDto>("RevokeGrant", "Revoke a grant and, cascading, what was sub-delegated from it", problems: [400, 404, 409]);

        agents.MapPost("/{id}/revoke", async (string id, HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "agent id");
            var by = await ReadActorAsync(context, access, ct);
            var result = await grains.GetGrain<IGovernanceGrain>(0).RevokeAgent(id, by);
            return result.IsSuccess ? Results.Ok(RevocationDto.From(result.Value!)) : Problems.FromCommand(result);
        }).RequirePermission(Permissions.GrantsRevoke).Reads<ReasonRequest>()
            .Describe<RevocationDto>("RevokeAgentGrants", "Revoke every grant of an agent (cascading)", problems: [400, 404, 409]);

        app.MapPost("/v1/delegators/revoke", async (HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            var agent = body.String("agent");
            var principal = body.String("principal");
            if ((agent is null) == (principal is null))
                throw new BadRequestException("give exactly one of \"agent\" (an agent that sub-delegated) or \"principal\" (a human grantedBy)");
            var key = agent is not null ? DelegatorKeys.Agent(RequestReading.CheckId(agent, "agent")) : DelegatorKeys.Principal(principal!);
            var result = await grains.GetGrain<IGovernanceGrain>(0).RevokeByDelegator(key, ReadActor(body, access.CallerOf(context)));
            return result.IsSuccess ? Results.Ok(RevocationDto.From(result.Value!)) : Problems.FromCommand(result);
        }).RequirePermission(Permissions.GrantsRevoke).Reads<DelegatorRevokeRequest>()
            .Describe<RevocationDto>("RevokeByDelegator", "Revoke everything a delegator (agent or human) granted", problems: 400);

        app.MapPost("/v1/sessions/{id}/elevations", async (string id, HttpContext context, IGrainFactory grains, AuthzClock clock, CallerAccess access,
            Microsoft.Extensions.Options.IOptions<DelegationOptions> options, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "session id");
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            body.RefuseActorFields("grantedBy");
            var caller = access.CallerOf(context);
            var maxSeconds = (long)options.Value.MaxElevationLifetime.TotalSeconds;
            var seconds = body.Long("durationSeconds", required: true, min: 1, max: maxSeconds)!.Value;
            var session = await grains.GetGrain<IAgentSessionGrain>(id).Get();
            if (session is null) return Problems.NotFound($"session '{id}' not found");
            if (session.Status != SessionStatus.Open)
                return Problems.Create(StatusCodes.Status409Conflict, $"session '{id}' is {session.Status.ToString().ToLowerInvariant()}");
            if (await access.RefuseSelfGrantAsync(context, Permissions.GrantsWrite, session.AgentId, id) is { } refused) return refused;
            var now = clock.UtcNow;
            var expiresAt = now.AddSeconds(seconds);
            if (expiresAt > session.ExpiresAt) expiresAt = session.ExpiresAt;
            var grant = new DelegationGrant
            {
                Actions = body.StringArray("actions", required: true)!,
                Resources = body.StringArray("resources", required: true, maxLength: AgentGrain.MaxResourcePatternLength)!,
                ExpiresAt = expiresAt,
                GrantedBy = caller.Subject,
                GrantedByIssuer = caller.Issuer,
                Purpose = body.String("purpose", maxLength: 1024),
                Condition = body.String("condition", maxLength: GrantRules.MaxConditionLength),
                SessionId = id,
            };
            var result = await grains.GetGrain<IAgentGrain>(session.AgentId).AddDelegation(grant);
            return result.IsSuccess
                ? Results.Created($"/v1/agents/{Uri.EscapeDataString(session.AgentId)}/grants/{result.Value!.Id}", GrantDto.Made(result.Value!, clock.UtcNow))
                : Problems.FromCommand(result);
        }).RequirePermission(Permissions.GrantsWrite).Reads<ElevationRequest>()
            .Describe<GrantDto>("ElevateSession", "A short grant bound to one session (elevation)", StatusCodes.Status201Created, 400, 404, 409);

        MapSuspension(app, "Fleet", "/v1/fleets/{fleet}", r => SuspensionScopes.Fleet(Name(r, "fleet")));
        MapSuspension(app, "Label", "/v1/labels/{key}/{value}", r => SuspensionScopes.Label(Name(r, "key"), Name(r, "value", allowEmpty: true)));
    }

    /// <param name="scopeName">Names the operations (GetFleetSuspension, SuspendLabel, ...).</param>
    private static void MapSuspension(IEndpointRouteBuilder app, string scopeName, string prefix, Func<HttpRequest, string> scopeOf)
    {
        app.MapGet(prefix + "/suspension", async (HttpRequest request, IGrainFactory grains) =>
            Results.Ok(SuspensionDto.From(await grains.GetGrain<ISuspensionGrain>(scopeOf(request)).Get())))
            .RequirePermission(Permissions.SuspensionsRead).Describe<SuspensionDto>($"Get{scopeName}Suspension", $"Whether a {scopeName.ToLowerInvariant()} is suspended, and its history", problems: 400);
        foreach (var (verb, suspended, permission) in new[] { ("suspend", true, Permissions.SuspensionsSuspend), ("reactivate", false, Permissions.SuspensionsReactivate) })
        {
            app.MapPost(prefix + "/" + verb, async (HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
            {
                var scope = scopeOf(context.Request);
                var by = await ReadActorAsync(context, access, ct);
                var result = await grains.GetGrain<ISuspensionGrain>(scope).Set(suspended, by);
                return result.IsSuccess ? Results.Ok(SuspensionDto.From(result.Value!)) : Problems.FromCommand(result);
            }).RequirePermission(permission).Reads<ReasonRequest>()
                .Describe<SuspensionDto>($"{(suspended ? "Suspend" : "Reactivate")}{scopeName}", $"{(suspended ? "Suspend" : "Reactivate")} every agent of a {scopeName.ToLowerInvariant()}", problems: [400, 409]);
        }
    }

    private static string Name(HttpRequest request, string key, bool allowEmpty = false)
    {
        var value = request.RouteValues[key]?.ToString() ?? "";
        if ((!allowEmpty && string.IsNullOrWhiteSpace(value)) || value.Length > AgentGrain.MaxTextLength || value.Any(char.IsControl) || RequestReading.HasLoneSurrogate(value))
            throw new BadRequestException($"{key} '{RequestReading.Shorten(value)}' is not a valid name: use {(allowEmpty ? 0 : 1)}-{AgentGrain.MaxTextLength} characters, no control characters");
        return value;
    }

    /// <summary>The grant fields shared by <c>/grants</c> and <c>/delegations</c>; the grantor is the caller.</summary>
    public static DelegationGrant ReadGrant(Fields body, Caller caller)
    {
        body.RefuseActorFields("grantedBy");
        return new()
        {
            Actions = body.StringArray("actions", required: true)!,
            Resources = body.StringArray("resources", required: true, maxLength: AgentGrain.MaxResourcePatternLength)!,
            ExpiresAt = body.Timestamp("expiresAt", required: true)!.Value,
            NotBefore = body.Timestamp("notBefore"),
            GrantedBy = caller.Subject,
            GrantedByIssuer = caller.Issuer,
            Purpose = body.String("purpose", maxLength: 1024),
            Condition = body.String("condition", maxLength: GrantRules.MaxConditionLength),
            DelegatorAgentId = body.String("delegatorAgentId") is { } delegator ? RequestReading.CheckId(delegator, "delegatorAgentId") : null,
            ParentGrantId = body.String("parentGrantId"),
        };
    }

    private static async Task<GovernanceActor> ReadActorAsync(HttpContext context, CallerAccess access, CancellationToken ct) =>
        ReadActor(new Fields(await RequestReading.ReadObjectAsync(context.Request, ct)), access.CallerOf(context));

    /// <summary>Who acted (the caller) and why (the body's reason).</summary>
    private static GovernanceActor ReadActor(Fields body, Caller caller)
    {
        body.RefuseActorFields("actor");
        return new() { Actor = caller.Subject, Issuer = caller.Issuer, Reason = body.RequiredString("reason", maxLength: 1024) };
    }
}
