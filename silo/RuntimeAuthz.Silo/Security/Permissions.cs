using Microsoft.AspNetCore.Authorization;

namespace RuntimeAuthz.Silo.Security;

/// <summary>The role claim values the API knows.</summary>
public static class Roles
{
    public const string Agent = "agent";
    public const string Pep = "pep";
    public const string Governance = "governance";
    public const string Approver = "approver";
    public const string Responder = "responder";
    public const string Auditor = "auditor";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Agent, Pep, Governance, Approver, Responder, Auditor, Admin];

    /// <summary>Roles whose holders act only for particular agents (checked per resource, see <see cref="CallerAccess"/>).</summary>
    public static bool IsAgentBound(string role) => role is Agent or Pep;
}

/// <summary>A named permission and the roles that hold it. Each endpoint requires exactly one (its authorization policy).</summary>
public sealed record Permission(string Name, IReadOnlyList<string> Roles)
{
    public string Refusal => $"requires permission '{Name}' (roles: {string.Join(", ", Roles)})";
}

/// <summary>
/// The permission table: the one place that says which role may do what. docs/security.md's
/// matrix is checked against it (SecurityMatrixTests), so the two cannot drift.
/// </summary>
public static class Permissions
{
    private const string Agent = Roles.Agent, Pep = Roles.Pep, Governance = Roles.Governance, Approver = Roles.Approver,
        Responder = Roles.Responder, Auditor = Roles.Auditor, Admin = Roles.Admin;

    public static readonly Permission Identity = new("identity:read", Roles.All);

    public static readonly Permission AgentsRead = new("agents:read", [Governance, Responder, Admin]);
    public static readonly Permission AgentsRegister = new("agents:register", [Governance, Admin]);
    /// <summary>Any status change; setting "suspended" only needs <see cref="AgentsSuspend"/> (the responders' kill switch).</summary>
    public static readonly Permission AgentsStatus = new("agents:status", [Governance, Admin]);
    public static readonly Permission AgentsSuspend = new("agents:suspend", [Governance, Responder, Admin]);

    public static readonly Permission GrantsWrite = new("grants:write", [Governance, Admin]);
    public static readonly Permission GrantsRevoke = new("grants:revoke", [Governance, Admin]);

    public static readonly Permission SuspensionsRead = new("suspensions:read", [Governance, Responder, Admin]);
    public static readonly Permission SuspensionsSuspend = new("suspensions:suspend", [Governance, Responder, Admin]);
    public static readonly Permission SuspensionsReactivate = new("suspensions:reactivate", [Governance, Admin]);

    public static readonly Permission PoliciesRead = new("policies:read", [Governance, Responder, Admin]);
    public static readonly Permission PoliciesPublish = new("policies:publish", [Governance, Admin]);
    /// <summary>Re-decide recorded traffic with a candidate policy; the report names agents, actions and resources of recorded decisions.</summary>
    public static readonly Permission PoliciesWhatIf = new("policies:what-if", [Governance, Admin]);

    public static readonly Permission SessionsOpen = new("sessions:open", [Agent, Pep, Admin]);
    public static readonly Permission SessionsRead = new("sessions:read", [Agent, Pep, Approver, Responder, Admin]);
    public static readonly Permission SessionsClose = new("sessions:close", [Agent, Pep, Admin]);
    public static readonly Permission Decide = new("decisions:decide", [Agent, Pep, Admin]);
    /// <summary>Search the session index; agents and peps only for an agent they act for, which they must name.</summary>
    public static readonly Permission SessionsSearch = new("sessions:search", [Agent, Pep, Approver, Responder, Auditor, Admin]);
    public static readonly Permission OutcomesReport = new("outcomes:report", [Agent, Pep, Admin]);

    /// <summary>The AuthZEN search APIs (they reveal who may do what over the entity store).</summary>
    public static readonly Permission Search = new("decisions:search", [Pep, Governance, Responder, Admin]);

    public static readonly Permission EntitiesRead = new("entities:read", [Governance, Responder, Admin]);
    public static readonly Permission EntitiesWrite = new("entities:write", [Governance, Admin]);

    public static readonly Permission EvidenceRead = new("evidence:read", [Responder, Auditor, Admin]);

    /// <summary>The action catalog (publishing it is <see cref="PoliciesPublish"/>: it is published with the policy).</summary>
    public static readonly Permission CatalogRead = new("catalog:read", [Governance, Approver, Responder, Admin]);

    public static readonly Permission ApprovalsList = new("approvals:list", [Approver, Responder, Admin]);
    /// <summary>Show or wait for one request; agents and peps only for their own agents' requests.</summary>
    public static readonly Permission ApprovalsRead = new("approvals:read", [Agent, Pep, Approver, Responder, Admin]);
    /// <summary>Approve or reject; never the agent, its owner or the requester (checked per request).</summary>
    public static readonly Permission ApprovalsDecide = new("approvals:decide", [Approver, Admin]);
    public static readonly Permission ApprovalsCancel = new("approvals:cancel", [Agent, Pep, Admin]);

    /// <summary>The web console's pages (each page's data still needs that API's own permission); never agent or pep tokens.</summary>
    public static readonly Permission ConsoleOpen = new("console:open", [Governance, Approver, Responder, Auditor, Admin]);
    /// <summary>The Prometheus scrape (<c>/metrics</c>): aggregate counts, no ids; for the people who watch, and admins.</summary>
    public static readonly Permission MetricsRead = new("metrics:read", [Responder, Auditor, Admin]);
    /// <summary>The Orleans Dashboard: it can show any grain's state, so admins only.</summary>
    public static readonly Permission DashboardView = new("dashboard:view", [Admin]);

    public static readonly IReadOnlyList<Permission> All =
    [
        Identity, AgentsRead, AgentsRegister, AgentsStatus, AgentsSuspend, GrantsWrite, GrantsRevoke,
        SuspensionsRead, SuspensionsSuspend, SuspensionsReactivate, PoliciesRead, PoliciesPublish,
        SessionsOpen, SessionsRead, SessionsSearch, SessionsClose, Decide, OutcomesReport, EvidenceRead,
        ApprovalsList, ApprovalsRead, ApprovalsDecide, ApprovalsCancel, CatalogRead, PoliciesWhatIf, Search, EntitiesRead, EntitiesWrite,
        ConsoleOpen, MetricsRead, DashboardView,
    ];

    /// <summary>Declares the endpoint's permission (its authorization policy is named after it).</summary>
    /// <remarks>Also documents the two refusals every such endpoint can answer (401 without a valid token, 403 without the permission).</remarks>
    public static TBuilder RequirePermission<TBuilder>(this TBuilder endpoint, Permission permission) where TBuilder : IEndpointConventionBuilder =>
        endpoint.RequireAuthorization(permission.Name).WithMetadata(permission,
            Http.ApiReference.Problem(StatusCodes.Status401Unauthorized), Http.ApiReference.Problem(StatusCodes.Status403Forbidden));

    /// <summary>One authorization policy per permission: an authenticated caller holding one of its roles.</summary>
    public static void AddPermissionPolicies(this AuthorizationOptions options)
    {
        foreach (var permission in All)
        {
            options.AddPolicy(permission.Name, policy => policy.RequireAuthenticatedUser().AddRequirements(new PermissionRequirement(permission)));
        }
    }
}

public sealed record PermissionRequirement(Permission Permission) : IAuthorizationRequirement;

/// <summary>Grants a <see cref="PermissionRequirement"/> when the caller's token carries one of its roles.</summary>
public sealed class PermissionHandler(CallerReader callers) : AuthorizationHandler<PermissionRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, PermissionRequirement requirement)
    {
        if (callers.Read(context.User) is { } caller && caller.Holds(requirement.Permission)) context.Succeed(requirement);
        return Task.CompletedTask;
    }
}
