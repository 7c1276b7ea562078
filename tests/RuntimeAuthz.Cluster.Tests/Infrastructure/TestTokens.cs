using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Cluster.Tests.Infrastructure;

/// <summary>
/// Tokens for the test hosts, signed with a key the hosts trust as their authority's (configured directly, so no
/// discovery request is made; real discovery and JWKS are covered by the real-issuer tests).
/// </summary>
public static class TestTokens
{
    public const string Issuer = "https://issuer.tests.runtimeauthz.invalid";
    public const string OtherIssuer = "https://other-issuer.tests.runtimeauthz.invalid";
    public const string Audience = "runtimeauthz";
    public const string AdminSubject = "test-admin";

    private static readonly ECDsaSecurityKey TrustedKey = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "tests-trusted" };
    private static readonly ECDsaSecurityKey OtherKey = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "tests-other" };

    public static string AuthorityArgument => $"--{CallerAuthenticationOptions.AuthorityKey}={Issuer}";

    /// <summary>Makes the host's authority scheme trust <see cref="TrustedKey"/> for <see cref="Issuer"/>.</summary>
    public static void Trust(WebApplicationBuilder builder) =>
        builder.Services.PostConfigure<JwtBearerOptions>(CallerAuthentication.AuthorityScheme, o =>
        {
            var configuration = new OpenIdConnectConfiguration { Issuer = Issuer };
            configuration.SigningKeys.Add(TrustedKey);
            o.Configuration = configuration;
        });

    /// <summary>A token; the defaults make it valid for the test hosts.</summary>
    public static string Mint(string subject, IReadOnlyList<string> roles, string? agentId = null, IReadOnlyList<string>? agents = null,
        string issuer = Issuer, string audience = Audience, bool otherKey = false, TimeSpan? lifetime = null, DateTimeOffset? issuedAt = null,
        IReadOnlyDictionary<string, object>? extraClaims = null)
    {
        var now = (issuedAt ?? DateTimeOffset.UtcNow).UtcDateTime;
        var claims = new Dictionary<string, object> { ["sub"] = subject, ["roles"] = roles.ToList(), ["jti"] = Guid.NewGuid().ToString("N") };
        if (agentId is not null) claims["agent_id"] = agentId;
        if (agents is not null) claims["authz_agents"] = agents.ToList();
        foreach (var (name, value) in extraClaims ?? new Dictionary<string, object>()) claims[name] = value;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + (lifetime ?? TimeSpan.FromHours(1)),
            SigningCredentials = new SigningCredentials(otherKey ? OtherKey : TrustedKey, SecurityAlgorithms.EcdsaSha256),
        });
    }

    public static string ForRole(string role) => Mint($"test-{role}", [role]);

    public static string ForAgent(string agentId) => Mint($"agent-{agentId}", [Roles.Agent], agentId: agentId);

    public static string ForPep(string subject, params string[] agents) => Mint(subject, [Roles.Pep], agents: agents);

    public static HttpClient Client(Uri baseAddress, string? token)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
