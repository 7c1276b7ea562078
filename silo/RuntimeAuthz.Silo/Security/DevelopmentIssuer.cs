using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using RuntimeAuthz.Silo.Http;

namespace RuntimeAuthz.Silo.Security;

/// <summary>
/// A token issuer for local development only (Authentication:DevelopmentIssuer:Enabled in the Development
/// environment): anyone who can reach the silo may mint any role, so it must never run anywhere else.
/// Its ES256 key is made per process; tokens from a previous run are refused.
/// </summary>
public sealed class DevelopmentIssuer(IOptions<CallerAuthenticationOptions> options, TimeProvider time) : IDisposable
{
    public const string Issuer = "runtimeauthz-development";
    public const long DefaultLifetimeSeconds = 3600;
    public const long MaxLifetimeSeconds = 86400;

    private readonly ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly string keyId = Guid.NewGuid().ToString("N");

    public SecurityKey VerificationKey => new ECDsaSecurityKey(key) { KeyId = keyId };

    public bool Enabled => options.Value.DevelopmentIssuer.Enabled;

    public void Dispose() => key.Dispose();

    /// <summary>The token for one /dev/token request (already checked).</summary>
    public string Mint(string subject, IReadOnlyList<string> roles, string? agentId, IReadOnlyList<string>? agents, TimeSpan lifetime)
    {
        var auth = options.Value;
        var now = time.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object>
        {
            [auth.Claims.Subject] = subject,
            [auth.Claims.Roles] = roles.ToList(),
            [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
        };
        if (agentId is not null) claims[auth.Claims.AgentId] = agentId;
        if (agents is not null) claims[auth.Claims.PepAgents] = agents.ToList();
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = auth.Audience,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            SigningCredentials = new SigningCredentials(VerificationKey, SecurityAlgorithms.EcdsaSha256),
        });
    }
}

/// <summary>POST /dev/token and GET /v1/whoami.</summary>
public static class IdentityEndpoints
{
    public static void MapIdentityEndpoints(this IEndpointRouteBuilder app)
    {
        // Mapped always so that a silo without the development issuer answers 404 (the CLI reads that as "log in").
        app.MapPost("/dev/token", async (HttpRequest request, DevelopmentIssuer issuer, CancellationToken ct) =>
        {
            if (!issuer.Enabled) return Problems.NotFound("the development token issuer is not enabled on this silo");
            var body = await RequestReading.ReadOptionalObjectAsync(request, ct) ?? new Fields([]);
            var roles = body.StringArray("roles", maxItems: Roles.All.Count) ?? [Roles.Admin];
            if (roles.Count == 0) throw new BadRequestException("roles must name at least one role");
            foreach (var role in roles)
            {
                if (!Roles.All.Contains(role))
                    throw new BadRequestException($"roles: '{RequestReading.Shorten(role)}' is not a role (use {string.Join(", ", Roles.All)})");
            }
            var agentId = body.String("agentId") is { } id ? RequestReading.CheckId(id, "agentId") : null;
            if (roles.Contains(Roles.Agent) && agentId is null) throw new BadRequestException("agentId is required for a token with the agent role");
            var agents = body.StringArray("agents", maxItems: 256);
            foreach (var agent in agents ?? [])
            {
                if (agent != Caller.AnyAgent) RequestReading.CheckId(agent, "agents[]");
            }
            var subject = body.String("subject") ?? $"dev-{roles[0]}";
            var lifetime = body.Long("lifetimeSeconds", min: 1, max: DevelopmentIssuer.MaxLifetimeSeconds) ?? DevelopmentIssuer.DefaultLifetimeSeconds;
            var token = issuer.Mint(subject, roles.Distinct(StringComparer.Ordinal).ToArray(), agentId, agents, TimeSpan.FromSeconds(lifetime));
            return Results.Json(new Dictionary<string, object>
            {
                ["access_token"] = token, ["token_type"] = "Bearer", ["expires_in"] = lifetime,
            });
        }).AllowAnonymous().Reads<DevTokenRequest>(optional: true)
            .Describe<DevTokenDto>("MintDevelopmentToken", "Mint a token with any roles (development silos only; 404 elsewhere)", problems: [400, 404]);

        app.MapGet("/v1/whoami", (HttpContext context, CallerReader callers) =>
        {
            var caller = callers.Read(context.User)!;
            return Results.Ok(new WhoAmIDto(caller.Subject, caller.Issuer, caller.Roles, caller.AgentId, caller.Agents, caller.ExpiresAt));
        }).RequirePermission(Permissions.Identity).Describe<WhoAmIDto>("WhoAmI", "The caller as the silo sees its token");
    }
}

public sealed record WhoAmIDto(string Subject, string Issuer, IReadOnlyList<string> Roles, string? AgentId, IReadOnlyList<string>? Agents, DateTimeOffset? ExpiresAt);
