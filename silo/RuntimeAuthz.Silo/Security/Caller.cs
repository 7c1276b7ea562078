using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace RuntimeAuthz.Silo.Security;

/// <summary>The authenticated caller as the API sees it: read from the validated token, never from a request body.</summary>
public sealed record Caller(string Subject, string Issuer, IReadOnlyList<string> Roles, string? AgentId, IReadOnlyList<string>? Agents, DateTimeOffset? ExpiresAt)
{
    public const string AnyAgent = "*";

    /// <summary>
    /// Set when the token was exchanged for an agent acting for a user (RFC 8693 <c>act</c>): the user (the token's
    /// subject), whose own permission every decision also needs. <see cref="AgentId"/> is then the actor.
    /// </summary>
    public string? OnBehalfOf { get; init; }

    public bool Has(string role) => Roles.Contains(role);

    public bool Holds(Permission permission) => Roles.Any(permission.Roles.Contains);

    /// <summary>
    /// Whether the caller may act for <paramref name="agentId"/> under <paramref name="permission"/>: any role of the
    /// permission that is not agent-bound acts for every agent; an agent token only for its own agent; a pep for the
    /// agents its token or the configuration names.
    /// </summary>
    public bool MayActFor(Permission permission, string agentId)
    {
        var held = Roles.Where(permission.Roles.Contains).ToArray();
        if (held.Any(r => !Security.Roles.IsAgentBound(r))) return true;
        if (held.Contains(Security.Roles.Agent) && string.Equals(AgentId, agentId, StringComparison.Ordinal)) return true;
        return held.Contains(Security.Roles.Pep) && Agents is { } agents && (agents.Contains(AnyAgent) || agents.Contains(agentId));
    }

    /// <summary>How the caller is named in logs and refusals.</summary>
    public override string ToString() => OnBehalfOf is null ? $"{Subject} ({Issuer})" : $"agent {AgentId} for {Subject} ({Issuer})";
}

/// <summary>Reads a <see cref="Caller"/> from a validated principal using the configured claim names.</summary>
public sealed class CallerReader(IOptions<CallerAuthenticationOptions> options)
{
    private const int MaxListItems = 256;

    private readonly CallerAuthenticationOptions.ClaimNames claims = options.Value.Claims;
    private readonly IReadOnlyDictionary<string, CallerAuthenticationOptions.PepSettings> peps = options.Value.Peps;

    /// <summary>
    /// Callers already read, by principal: a request reads its caller several times (rate limit, permission,
    /// endpoint checks), and its principal, made by authentication for this request only, does not change after.
    /// </summary>
    private readonly ConditionalWeakTable<ClaimsPrincipal, Caller> read = new();

    /// <summary>The caller, or null when the principal is not authenticated or names no subject.</summary>
    public Caller? Read(ClaimsPrincipal user)
    {
        if (read.TryGetValue(user, out var known)) return known;
        var caller = ReadClaims(user);
        if (caller is not null) read.AddOrUpdate(user, caller);
        return caller;
    }

    private Caller? ReadClaims(ClaimsPrincipal user)
    {
        if (user.Identity?.IsAuthenticated != true) return null;
        var subjectClaim = user.FindFirst(claims.Subject);
        if (subjectClaim is null || string.IsNullOrWhiteSpace(subjectClaim.Value)) return null;
        var subject = subjectClaim.Value;
        var issuer = user.FindFirst("iss")?.Value ?? subjectClaim.Issuer;
        var roles = Values(user, claims.Roles).Where(Roles.All.Contains).Distinct(StringComparer.Ordinal).ToArray();
        var agentId = user.FindFirst(claims.AgentId)?.Value is { Length: > 0 } id ? id : null;
        IReadOnlyList<string>? agents = null;
        if (roles.Contains(Roles.Pep))
        {
            var named = Values(user, claims.PepAgents);
            if (peps.TryGetValue(subject, out var configured)) named = named.Concat(configured.Agents);
            agents = named.Distinct(StringComparer.Ordinal).Take(MaxListItems).ToArray();
        }
        DateTimeOffset? expiresAt = long.TryParse(user.FindFirst("exp")?.Value, out var exp) ? DateTimeOffset.FromUnixTimeSeconds(exp) : null;
        if (user.FindFirst(claims.Actor) is { } act)
        {
            // A delegated token acts only as its agent, whatever else it names: the user's own roles never pass to the agent.
            var actor = ActorOf(act.Value);
            if (actor is null || (agentId is not null && !string.Equals(agentId, actor, StringComparison.Ordinal))) return null;
            return new Caller(subject, issuer, [Roles.Agent], actor, null, expiresAt) { OnBehalfOf = subject };
        }
        return new Caller(subject, issuer, roles, agentId, agents, expiresAt);
    }

    /// <summary>
    /// The acting agent of an <c>act</c> claim (<c>{"sub": "agent-id"}</c>), or null when it names none or is a chain
    /// (<c>act</c> within <c>act</c>): one agent for one user, never an agent acting for an agent acting for a user.
    /// </summary>
    private static string? ActorOf(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || root.TryGetProperty("act", out _)) return null;
            return root.TryGetProperty("sub", out var sub) && sub.ValueKind == JsonValueKind.String && sub.GetString() is { Length: > 0 } id && id.Trim() == id ? id : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A list claim: repeated claims, a JSON array in one claim, or space-separated words.</summary>
    private static IEnumerable<string> Values(ClaimsPrincipal user, string type)
    {
        foreach (var claim in user.FindAll(type))
        {
            var value = claim.Value.Trim();
            if (value.StartsWith('['))
            {
                string[]? items = null;
                try { items = JsonSerializer.Deserialize<string[]>(value); }
                catch (JsonException) { /* not a JSON array of strings: read as words below */ }
                if (items is not null)
                {
                    foreach (var item in items.Where(i => !string.IsNullOrWhiteSpace(i))) yield return item;
                    continue;
                }
            }
            foreach (var word in value.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) yield return word;
        }
    }
}
