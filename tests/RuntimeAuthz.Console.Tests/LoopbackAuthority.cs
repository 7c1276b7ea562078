using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace RuntimeAuthz.Console.Tests;

/// <summary>
/// A small OIDC authority on loopback for the console's production sign-in: discovery, JWKS, an authorization endpoint
/// that signs one configured person in at once (the authority's own login screen is not what is tested), and a token
/// endpoint that redeems a code only with the PKCE verifier of its S256 challenge. The access token is one the silo
/// accepts from its configured authority (issuer, audience, roles); CORS lets the console call it from the silo's origin.
/// </summary>
public sealed class LoopbackAuthority : IAsyncDisposable
{
    public const string ClientId = "authz-console";
    public const string Audience = "runtimeauthz";

    private readonly WebApplication app;
    private readonly ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly string keyId = Guid.NewGuid().ToString("N");
    private readonly ConcurrentDictionary<string, PendingCode> codes = new();

    private sealed record PendingCode(string Challenge, string RedirectUri, string? Nonce);

    /// <summary>One request to the authorization endpoint, as the browser sent it.</summary>
    public sealed record AuthorizeRequest(string ResponseType, string? CodeChallenge, string? CodeChallengeMethod, string Scope, string? Resource);

    private LoopbackAuthority(WebApplication app, string subject, string[] roles)
    {
        this.app = app;
        Subject = subject;
        Roles = roles;
    }

    public Uri Issuer { get; private set; } = null!;
    public string Subject { get; }
    public string[] Roles { get; }
    public ConcurrentQueue<AuthorizeRequest> AuthorizeRequests { get; } = new();
    public int RedeemedCodes => redeemed;
    private int redeemed;

    public static async Task<LoopbackAuthority> StartAsync(string subject, params string[] roles)
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Services.AddCors(o => o.AddDefaultPolicy(p => p
            .SetIsOriginAllowed(origin => Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.IsLoopback).AllowAnyHeader().AllowAnyMethod()));
        var authority = new LoopbackAuthority(builder.Build(), subject, roles);
        authority.Map();
        var address = await authority.app.StartOnLoopbackAsync();
        authority.Issuer = new Uri(address.GetLeftPart(UriPartial.Authority));
        return authority;
    }

    private string IssuerText => Issuer.GetLeftPart(UriPartial.Authority);

    private void Map()
    {
        app.UseCors();
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = IssuerText, ["authorization_endpoint"] = IssuerText + "/authorize", ["token_endpoint"] = IssuerText + "/token",
            ["jwks_uri"] = IssuerText + "/jwks", ["response_types_supported"] = new[] { "code" }, ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "ES256" }, ["code_challenge_methods_supported"] = new[] { "S256" },
        }));
        app.MapGet("/jwks", () =>
        {
            var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(key) { KeyId = keyId });
            return Results.Json(new { keys = new[] { new { kty = jwk.Kty, crv = jwk.Crv, x = jwk.X, y = jwk.Y, kid = keyId, use = "sig", alg = "ES256" } } });
        });
        app.MapGet("/authorize", (HttpRequest request) =>
        {
            var q = request.Query;
            AuthorizeRequests.Enqueue(new AuthorizeRequest(q["response_type"].ToString(), q["code_challenge"], q["code_challenge_method"], q["scope"].ToString(), q["resource"]));
            var redirect = q["redirect_uri"].ToString();
            if (q["client_id"] != ClientId || q["response_type"] != "code" || q["code_challenge_method"] != "S256" || string.IsNullOrEmpty(q["code_challenge"]))
                return Results.BadRequest(new { error = "invalid_request" });
            var code = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            codes[code] = new PendingCode(q["code_challenge"]!, redirect, q["nonce"]);
            return Results.Redirect($"{redirect}?code={code}&state={Uri.EscapeDataString(q["state"].ToString())}");
        });
        app.MapPost("/token", async (HttpRequest request) =>
        {
            var form = await request.ReadFormAsync();
            if (form["grant_type"] != "authorization_code" || form["client_id"] != ClientId || !codes.TryRemove(form["code"].ToString(), out var pending))
                return Results.BadRequest(new { error = "invalid_grant" });
            var verifier = form["code_verifier"].ToString();
            var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
            if (challenge != pending.Challenge || form["redirect_uri"] != pending.RedirectUri)
                return Results.BadRequest(new { error = "invalid_grant", error_description = "PKCE verifier or redirect_uri does not match" });
            Interlocked.Increment(ref redeemed);
            var idClaims = new Dictionary<string, object> { ["sub"] = Subject };
            if (pending.Nonce is not null) idClaims["nonce"] = pending.Nonce;
            return Results.Json(new Dictionary<string, object>
            {
                ["access_token"] = Token(Audience, new Dictionary<string, object> { ["sub"] = Subject, ["roles"] = Roles }),
                ["id_token"] = Token(ClientId, idClaims),
                ["token_type"] = "Bearer", ["expires_in"] = 600, ["scope"] = "openid profile",
            });
        });
    }

    private string Token(string audience, Dictionary<string, object> claims)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = IssuerText, Audience = audience, Claims = claims, IssuedAt = now, NotBefore = now, Expires = now.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key) { KeyId = keyId }, SecurityAlgorithms.EcdsaSha256),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        key.Dispose();
    }
}
