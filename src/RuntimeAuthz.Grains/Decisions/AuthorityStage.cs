using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Governance;

namespace RuntimeAuthz.Grains.Decisions;

/// <summary>
/// Second stage: who acts and with what authority. The session's agent must exist and be active,
/// and a live grant must cover the call through its whole delegation chain (<see cref="GrantAuthority"/>);
/// the grants' conditions are checked by the evaluation stage once the Cedar request exists.
/// </summary>
public static class AuthorityStage
{
    /// <summary>A denial for an agent that cannot act at all, or null for an active agent.</summary>
    public static Verdict? CheckIdentity(AgentInfo? agent) => agent switch
    {
        null => Denials.Deny(DenyReasons.UnknownAgent),
        { Status: AgentStatus.Revoked } => Denials.Deny(DenyReasons.AgentRevoked),
        { Status: AgentStatus.Suspended } => Denials.Deny(DenyReasons.AgentSuspended),
        _ => null,
    };

    /// <summary>The covering grants, or a denial (suspended scope, no live delegation, malformed request).</summary>
    public static async Task<(GrantAuthority.Resolution? Authority, Verdict? Denied)> ResolveGrantsAsync(
        AuthorityView authorityView, AgentInfo agent, DecisionCall call, long policyVersion)
    {
        var request = call.Request;
        if (string.IsNullOrWhiteSpace(request.Action) || string.IsNullOrWhiteSpace(request.ResourceType) || request.ResourceId is null)
            return (null, Denials.Deny(DenyReasons.InvalidRequest, policyVersion, "action and resource type are required"));
        var authority = await GrantAuthority.ResolveAsync(authorityView, agent, call.SessionId, request, call.Now);
        return authority.DenyReason is { } denied
            ? (null, Denials.Deny(denied, policyVersion, authority.Detail))
            : (authority, null);
    }
}
