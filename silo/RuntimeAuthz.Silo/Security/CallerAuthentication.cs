using System.Collections.Concurrent;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using RuntimeAuthz.Bearer;
using RuntimeAuthz.Silo.Http;

namespace RuntimeAuthz.Silo.Security;

/// <summary>
/// Bearer-token authentication and permission-based authorization for the HTTP API.
/// Two JwtBearer schemes: <see cref="AuthorityScheme"/> (the configured OIDC authority, discovery + JWKS)
/// and <see cref="DevelopmentScheme"/> (the development issuer); <see cref="DefaultScheme"/> picks one by the token's issuer.
/// </summary>
public static class CallerAuthentication
{
    public const string DefaultScheme = "Token";
    public const string AuthorityScheme = "Authority";
    public const string DevelopmentScheme = "Development";

    public static IServiceCollection AddCallerAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(CallerAuthenticationOptions.Section);
        services.AddOptions<CallerAuthenticationOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CallerAuthenticationOptions>, CallerAuthenticationOptionsValidator>();
        services.AddSingleton<CallerReader>();
        services.AddSingleton<DevelopmentIssuer>();
        services.AddSingleton<CallerAccess>();
        services.AddSingleton<IAuthorizationHandler, PermissionHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();

        var settings = section.Get<CallerAuthenticationOptions>() ?? new CallerAuthenticationOptions();
        services.AddAuthentication(DefaultScheme)
            .AddPolicyScheme(DefaultScheme, "Bearer token", o => o.ForwardDefaultSelector = context =>
                SchemeFor(context.Request.Headers.Authorization.ToString(), settings))
            .AddJwtBearer(AuthorityScheme, _ => { })
            .AddJwtBearer(DevelopmentScheme, _ => { });

        services.AddOptions<JwtBearerOptions>(AuthorityScheme).Configure<IOptions<CallerAuthenticationOptions>, TimeProvider>((o, auth, time) =>
        {
            var a = auth.Value;
            Common(o, a, time);
            o.Authority = a.HasAuthority ? a.Authority!.TrimEnd('/') : null;
            o.RequireHttpsMetadata = a.RequireHttpsMetadata;
            o.RefreshOnIssuerKeyNotFound = true;
            o.AutomaticRefreshInterval = TimeSpan.FromMinutes(a.MetadataRefreshMinutes);
            o.RefreshInterval = TimeSpan.FromSeconds(30);
        });
        // JwtBearer keeps "last known good" configurations for an hour and retries them when a
        // key is not found, so a key the issuer retired from its JWKS would still be accepted.
        services.PostConfigure<JwtBearerOptions>(AuthorityScheme, o =>
        {
            if (o.ConfigurationManager is BaseConfigurationManager manager) manager.UseLastKnownGoodConfiguration = false;
        });
        services.AddOptions<JwtBearerOptions>(DevelopmentScheme).Configure<IOptions<CallerAuthenticationOptions>, DevelopmentIssuer, TimeProvider>((o, auth, issuer, time) =>
        {
            Common(o, auth.Value, time);
            o.TokenValidationParameters.ValidIssuer = DevelopmentIssuer.Issuer;
            if (auth.Value.DevelopmentIssuer.Enabled) o.TokenValidationParameters.IssuerSigningKey = issuer.VerificationKey;
        });

        services.AddAuthorization(o =>
        {
            o.AddPermissionPolicies();
            // An endpoint that forgot to declare its permission still needs a valid token.
            o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
        });
        return services;
    }

    /// <summary>The development scheme for tokens whose (unvalidated) issuer is the development issuer, else the authority.</summary>
    private static string SchemeFor(string authorization, CallerAuthenticationOptions settings)
    {
        if (!settings.DevelopmentIssuer.Enabled) return AuthorityScheme;
        if (!settings.HasAuthority) return DevelopmentScheme;
        const string prefix = "Bearer ";
        if (!authorization.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return AuthorityScheme;
        var token = authorization[prefix.Length..].Trim();
        try
        {
            return new JsonWebToken(token).Issuer == DevelopmentIssuer.Issuer ? DevelopmentScheme : AuthorityScheme;
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException)
        {
            return AuthorityScheme; // not a JWT: the authority scheme refuses it with a 401
        }
    }

    private static void Common(JwtBearerOptions o, CallerAuthenticationOptions auth, TimeProvider time)
    {
        BearerTokens.RequireValidToken(o, auth.Audience, auth.ClockSkewSeconds, auth.Claims.Subject, WriteUnauthorizedAsync);
        // Each scheme its own cache: a token is only ever reused under the parameters that validated it.
        o.TokenHandlers.Clear();
        o.TokenHandlers.Add(new CachingJsonWebTokenHandler(time, TimeSpan.FromSeconds(auth.ClockSkewSeconds)) { MapInboundClaims = false });
        o.IncludeErrorDetails = true;
        o.TokenValidationParameters.RoleClaimType = auth.Claims.Roles;
    }

    /// <summary>401 as problem details, with WWW-Authenticate saying why a presented token was refused (never echoing it).</summary>
    private static Task WriteUnauthorizedAsync(JwtBearerChallengeContext context) =>
        Problems.Create(StatusCodes.Status401Unauthorized, BearerTokens.Challenge(context, "a bearer token is required (Authorization: Bearer <token>)"))
            .ExecuteAsync(context.HttpContext);
}

/// <summary>403 as problem details naming the permission the caller lacks; challenges go to the bearer scheme (401).</summary>
public sealed class ProblemAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler fallback = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden && context.User.Identity?.IsAuthenticated == true)
        {
            var missing = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<PermissionRequirement>().FirstOrDefault()?.Permission;
            var detail = missing?.Refusal ?? "the token does not allow this request";
            if (missing is not null && context.GetEndpoint()?.Metadata.GetMetadata<RefusalEvidence>() is not null)
                await context.RequestServices.GetRequiredService<CallerAccess>().RecordRefusalAsync(context, missing, detail);
            await Problems.Create(StatusCodes.Status403Forbidden, detail).ExecuteAsync(context);
            return;
        }
        await fallback.HandleAsync(next, context, policy, authorizeResult);
    }
}

/// <summary>
/// JSON web token validation that remembers a token it validated, by its exact text, so a caller that
/// presents the same token on every request pays for the signature check once. A remembered token
/// counts as valid while the key that verified it is still among the keys the scheme trusts (a key
/// retired from the issuer's JWKS is refused as soon as the silo has re-read it), until the token
/// expires (plus the clock skew the validation allowed), and at most <see cref="MaxAge"/> after it was
/// validated; only valid tokens are kept, at most <see cref="Capacity"/>.
/// </summary>
public sealed class CachingJsonWebTokenHandler(TimeProvider time, TimeSpan clockSkew) : JsonWebTokenHandler
{
    public const int Capacity = 10_000;
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, Validated> validated = new(StringComparer.Ordinal);

    private sealed record Validated(TokenValidationResult Result, DateTimeOffset Until);

    public int Count => validated.Count;

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var now = time.GetUtcNow();
        if (validated.TryGetValue(token, out var known))
        {
            if (now < known.Until && StillTrusted(known.Result.SecurityToken.SigningKey, validationParameters)) return Copy(known.Result);
            validated.TryRemove(new KeyValuePair<string, Validated>(token, known));
        }
        var result = await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        if (result is { IsValid: true, SecurityToken: { } securityToken, ClaimsIdentity: not null })
        {
            var expires = new DateTimeOffset(DateTime.SpecifyKind(securityToken.ValidTo, DateTimeKind.Utc)) + clockSkew;
            var until = expires < now + MaxAge ? expires : now + MaxAge;
            if (validated.Count >= Capacity) Prune(now);
            if (validated.Count < Capacity && until > now) validated[token] = new Validated(result, until);
        }
        return result;
    }

    /// <summary>
    /// Whether the key that verified the token is still one the parameters trust (the same object: a
    /// re-read of the issuer's keys makes new ones, so a key retired from JWKS is never honoured again).
    /// </summary>
    private static bool StillTrusted(SecurityKey? signedWith, TokenValidationParameters parameters) =>
        signedWith is not null && (ReferenceEquals(parameters.IssuerSigningKey, signedWith) || parameters.IssuerSigningKeys?.Any(k => ReferenceEquals(k, signedWith)) == true);

    /// <summary>Each request gets its own identity: nothing one request does to it reaches another.</summary>
    private static TokenValidationResult Copy(TokenValidationResult known) => new()
    {
        IsValid = true, SecurityToken = known.SecurityToken, ClaimsIdentity = known.ClaimsIdentity.Clone(),
        Issuer = known.Issuer, TokenType = known.TokenType,
    };

    /// <summary>Drops the expired entries; when all are still live, the cache stays full and new tokens are validated every time.</summary>
    private void Prune(DateTimeOffset now)
    {
        foreach (var (token, entry) in validated)
            if (now >= entry.Until) validated.TryRemove(new KeyValuePair<string, Validated>(token, entry));
    }
}
