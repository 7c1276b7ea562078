using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.McpGateway;

/// <summary>
/// Authenticates the upstream MCP client by asking the cluster who its bearer token is (<c>GET /v1/whoami</c> with that
/// token), so the gateway accepts exactly the tokens the silos accept (same issuer, audience, keys, expiry rules) and
/// learns the agent from the token, never from the request. Answers are cached briefly by a hash of the token.
/// </summary>
public sealed class ClusterTokenAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions, ILoggerFactory loggers, UrlEncoder encoder,
    IHttpClientFactory httpClients, IOptions<GatewayOptions> gateway, IMemoryCache cache, TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggers, encoder)
{
    public const string SchemeName = "ClusterToken";
    public const string AgentIdClaim = "agent_id";
    public const string SubjectClaim = "sub";
    public const string AgentPolicy = "agent";
    private const string FailureKey = "runtimeauthz.authentication-failure";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        if (!header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return AuthenticateResult.NoResult();
        var token = header[prefix.Length..].Trim();
        if (token.Length == 0) return Fail("the bearer token is empty");

        var key = "whoami:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (!cache.TryGetValue(key, out WhoAmI? caller) || caller is null)
        {
            try
            {
                using var client = new AuthzClient(httpClients.CreateClient(GatewayHost.ClusterHttpClient), new StaticTokenSource(token));
                caller = await client.WhoAmIAsync(Context.RequestAborted);
            }
            catch (AuthzApiException refused) when (refused.IsUnauthorized)
            {
                return Fail($"the authorization service refused the token: {refused.Detail ?? refused.Title}");
            }
            catch (AuthzException unavailable)
            {
                Logger.LogWarning(unavailable, "Could not verify an upstream token with the cluster");
                return Fail("the token could not be verified: the authorization service did not answer");
            }
            var lifetime = TimeSpan.FromSeconds(gateway.Value.Cluster.IdentityCacheSeconds);
            if (caller.ExpiresAt is { } expires && expires - time.GetUtcNow() < lifetime) lifetime = expires - time.GetUtcNow();
            if (lifetime > TimeSpan.Zero) cache.Set(key, caller, lifetime);
        }

        var claims = new List<Claim> { new(SubjectClaim, caller.Subject), new(ClaimTypes.NameIdentifier, caller.Subject) };
        if (caller.AgentId is { } agentId) claims.Add(new Claim(AgentIdClaim, agentId));
        var identity = new ClaimsIdentity(claims, SchemeName, SubjectClaim, ClaimTypes.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private AuthenticateResult Fail(string why)
    {
        Context.Items[FailureKey] = why;
        return AuthenticateResult.Fail(why);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var detail = "an agent's bearer token is required (Authorization: Bearer <token>)";
        var header = "Bearer";
        if (Context.Items[FailureKey] is string why)
        {
            detail = $"the bearer token was refused: {why}";
            header = $"Bearer error=\"invalid_token\", error_description=\"{new string(why.Select(c => c == '"' ? '\'' : char.IsControl(c) ? ' ' : c).ToArray())}\"";
        }
        Response.Headers.WWWAuthenticate = header;
        return WriteProblemAsync(Context, StatusCodes.Status401Unauthorized, "Unauthorized", detail);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(Context, StatusCodes.Status403Forbidden, "Forbidden",
            "the MCP gateway serves agents: the token must be an agent token (one that names agent_id)");

    internal static Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { type = "about:blank", title, status, detail }));
    }
}
