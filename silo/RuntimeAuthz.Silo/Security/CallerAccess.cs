using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Silo.Http;

namespace RuntimeAuthz.Silo.Security;

/// <summary>
/// The resource-level checks the permission table cannot express: agent tokens act only for their own agent,
/// enforcement points only for the agents they are given, and nobody grants authority to an agent they own or are.
/// Every refusal is a 403 and a governance evidence record naming the caller.
/// </summary>
public sealed class CallerAccess(IGrainFactory grains, CallerReader callers, AuthzClock clock, ILogger<CallerAccess> logger)
{
    public const string RefusedAction = "access-refused";

    /// <summary>The authenticated caller (endpoints run only after authorization, so there always is one).</summary>
    public Caller CallerOf(HttpContext context) =>
        callers.Read(context.User) ?? throw new InvalidOperationException("no authenticated caller: the endpoint is missing its permission");

    /// <summary>Null when the caller may act for <paramref name="agentId"/>; otherwise the recorded 403.</summary>
    public async Task<IResult?> RefuseUnlessActsForAsync(HttpContext context, Permission permission, string agentId, string? sessionId = null)
    {
        var caller = CallerOf(context);
        if (caller.MayActFor(permission, agentId)) return null;
        var whom = caller.Has(Roles.Agent) && !caller.Has(Roles.Pep) ? $"agent '{caller.AgentId ?? "(none)"}'" : "the agents this enforcement point is given";
        return await RefuseAsync(context, caller, permission,
            $"{caller.Subject} may act only for {whom}, not for agent '{agentId}'", agentId, sessionId);
    }

    /// <summary>
    /// For a session endpoint: null when the caller may act for the session's agent (or the session does not exist,
    /// which the endpoint then reports as 404); otherwise the recorded 403.
    /// </summary>
    public async Task<IResult?> RefuseUnlessOwnsSessionAsync(HttpContext context, Permission permission, string sessionId)
    {
        var caller = CallerOf(context);
        if (!permission.Roles.Where(caller.Has).All(Roles.IsAgentBound)) return null;
        // An enforcement point given every agent acts for whichever agent the session has: no need to ask the session (one grain call less per decision).
        if (caller.Has(Roles.Pep) && permission.Roles.Contains(Roles.Pep) && caller.Agents is { } agents && agents.Contains(Caller.AnyAgent)) return null;
        var agentId = await grains.GetGrain<IAgentSessionGrain>(sessionId).AgentOf();
        return agentId is null ? null : await RefuseUnlessActsForAsync(context, permission, agentId, sessionId);
    }

    /// <summary>
    /// For a decision endpoint: <see cref="RefuseUnlessOwnsSessionAsync"/> for <see cref="Permissions.Decide"/>, with a
    /// failure to check (the session's grain or its storage did not answer) returned, not thrown, so that the endpoint
    /// answers Deny for it (fail closed) instead of an error a caller might ignore.
    /// </summary>
    public async Task<(IResult? Refused, Exception? Failure)> CheckMayDecideInSessionAsync(HttpContext context, string sessionId)
    {
        try
        {
            return (await RefuseUnlessOwnsSessionAsync(context, Permissions.Decide, sessionId), null);
        }
        catch (Exception ex) when (ex is not BadRequestException)
        {
            return (null, ex);
        }
    }

    /// <summary>Self-grant: null unless the caller is the agent, or owns it; then the recorded 403.</summary>
    public async Task<IResult?> RefuseSelfGrantAsync(HttpContext context, Permission permission, string agentId, string? sessionId = null)
    {
        var caller = CallerOf(context);
        string? why = null;
        if (string.Equals(caller.AgentId, agentId, StringComparison.Ordinal)) why = $"{caller.Subject} is agent '{agentId}'";
        else if (await grains.GetGrain<IAgentGrain>(agentId).Get() is { } agent && string.Equals(agent.Owner, caller.Subject, StringComparison.Ordinal))
            why = $"{caller.Subject} owns agent '{agentId}'";
        return why is null ? null : await RefuseAsync(context, caller, permission, $"self-grant refused: {why}; another principal must grant it authority", agentId, sessionId);
    }

    /// <summary>Records an attempt refused for lacking <paramref name="permission"/> (see <see cref="RefusalEvidence"/>).</summary>
    public Task RecordRefusalAsync(HttpContext context, Permission permission, string detail)
    {
        var caller = CallerOf(context);
        return RefuseAsync(context, caller, permission, $"{caller.Subject}: {detail}", caller.AgentId ?? "", sessionId: null);
    }

    /// <summary>Records the refused attempt (fail closed: the refusal stands even when the record cannot be written).</summary>
    private async Task<IResult> RefuseAsync(HttpContext context, Caller caller, Permission permission, string detail, string agentId, string? sessionId)
    {
        var request = context.Request;
        var input = new JsonObject
        {
            ["method"] = request.Method, ["path"] = request.Path.Value, ["permission"] = permission.Name,
            ["actorIssuer"] = caller.Issuer, ["roles"] = new JsonArray(caller.Roles.Select(r => (JsonNode?)r).ToArray()),
        };
        logger.LogWarning("Refused {Method} {Path} for {Caller}: {Detail}", request.Method, request.Path.Value, caller, detail);
        try
        {
            var recorded = await grains.GetGrain<IGovernanceEvidenceGrain>(0).Record(new GovernanceRecord
            {
                Kind = RuntimeAuthz.Evidence.EvidenceKinds.Governance, Action = RefusedAction, Actor = caller.Subject, At = clock.UtcNow,
                AgentId = agentId, SessionId = sessionId, Resource = $"{request.Method} {request.Path.Value}", Detail = detail,
                InputJson = input.ToJsonString(),
            });
            if (!recorded) logger.LogError("The refused attempt by {Caller} has no evidence record", caller);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "The refused attempt by {Caller} could not be recorded", caller);
        }
        return Problems.Create(StatusCodes.Status403Forbidden, detail);
    }
}
