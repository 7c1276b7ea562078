using System.Net;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace RuntimeAuthz.TestIssuer;

/// <summary>
/// Builds the issuer: OpenIddict in degraded mode (no database), the client-credentials grant with clients from
/// <see cref="ClientCatalog"/>, OAuth 2.0 token exchange (RFC 8693, OpenIddict's own grant support: an agent client trades
/// a user's access token for one with the user as <c>sub</c> and itself as <c>act</c>), unencrypted JWT access tokens
/// signed by <see cref="SigningKeyRing"/>, and <c>POST /test/rotate-key</c> for tests.
/// </summary>
public static class IssuerServer
{
    public const string TokenPath = "connect/token";
    public const string JwksPath = ".well-known/jwks";
    public const string RotateKeyPath = "/test/rotate-key";
    /// <summary>RFC 8693's actor claim (OpenIddict's <c>Claims.Actor</c> is OpenID's <c>actor</c>, a different name).</summary>
    public const string ActClaim = "act";

    public static WebApplication Build(IssuerCommandLine commandLine, ClientCatalog clients)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, commandLine.Port));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // The in-memory data-protection key ring warns that it is unencrypted; this process keeps nothing on disk worth protecting.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        // A port in use is reported by Program in one line; the host would log it again with a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

        var keys = new SigningKeyRing();
        builder.Services.AddSingleton(keys);
        builder.Services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>>(keys);
        builder.Services.AddSingleton<IOptionsChangeTokenSource<OpenIddictServerOptions>>(keys);

        builder.Services.AddOpenIddict().AddServer(server =>
        {
            server.SetIssuer(commandLine.BaseAddress);
            server.SetConfigurationEndpointUris(".well-known/openid-configuration");
            server.SetJsonWebKeySetEndpointUris(JwksPath);
            server.SetTokenEndpointUris(TokenPath);
            server.AllowClientCredentialsFlow();
            server.AllowTokenExchangeFlow();
            server.SetAccessTokenLifetime(commandLine.TokenLifetime);
            server.DisableAccessTokenEncryption();
            // Degraded mode: no application/token stores; the handlers below authenticate clients and build the tokens.
            server.EnableDegradedMode();
            // OpenIddict requires an encryption key even when access tokens are not encrypted (it protects other token types).
            server.AddEphemeralEncryptionKey();
            server.AddEventHandler<ValidateTokenRequestContext>(handler => handler.UseInlineHandler(context => AuthenticateClient(context, clients)));
            server.AddEventHandler<HandleTokenRequestContext>(handler => handler.UseInlineHandler(context => IssueToken(context, clients, commandLine.Audience)));
            server.AddEventHandler<GenerateTokenContext>(handler => handler
                .UseInlineHandler(context =>
                {
                    // Sign with the ring's current key explicitly rather than rely on how OpenIddict orders equal keys.
                    if (context.SigningCredentials is not null) context.SigningCredentials = keys.Current;
                    return default;
                })
                .SetOrder(OpenIddictServerHandlers.Protection.AttachSecurityCredentials.Descriptor.Order + 1));
            // Plain HTTP on loopback only: the tests' silo reads discovery with RequireHttpsMetadata=false.
            server.UseAspNetCore().DisableTransportSecurityRequirement();
        });

        var app = builder.Build();
        app.MapPost(RotateKeyPath, RotateKey);
        return app;
    }

    private static ValueTask AuthenticateClient(ValidateTokenRequestContext context, ClientCatalog clients)
    {
        if (clients.Authenticate(context.ClientId, context.ClientSecret) is null)
            context.Reject(Errors.InvalidClient, "unknown client or wrong client secret");
        return default;
    }

    private static ValueTask IssueToken(HandleTokenRequestContext context, ClientCatalog clients, string defaultAudience)
    {
        // Validated in AuthenticateClient; looked up again because validation and handling are separate events.
        var client = clients.Authenticate(context.ClientId, context.Request.ClientSecret)
            ?? throw new InvalidOperationException("a token request reached the handler without an authenticated client");
        if (context.Request.IsTokenExchangeGrantType())
        {
            ExchangeToken(context, client, defaultAudience);
            return default;
        }

        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Subject, "roles");
        identity.SetClaim(Claims.Subject, client.EffectiveSubject);
        // OpenIddict writes one value as a JSON string and several as a JSON array; the silo must accept both shapes.
        if (client.Roles is { Count: > 0 } roles) identity.SetClaims("roles", JsonSerializer.SerializeToElement(roles));
        if (client.AgentId is { } agentId) identity.SetClaim("agent_id", agentId);
        if (client.AuthzAgents is { Count: > 0 } agents) identity.SetClaims("authz_agents", JsonSerializer.SerializeToElement(agents));

        var principal = new ClaimsPrincipal(identity);
        // Agents a user's token may be exchanged by are its audiences too: the token was given to them.
        principal.SetAudiences([client.Audience ?? defaultAudience, .. client.MayAct ?? []]);
        if (client.TokenLifetimeSeconds is { } seconds) principal.SetAccessTokenLifetime(TimeSpan.FromSeconds(seconds));
        principal.SetDestinations(static _ => [Destinations.AccessToken]);
        context.SignIn(principal);
        return default;
    }

    /// <summary>
    /// Delegation, not impersonation: the new token keeps the user (the subject token's <c>sub</c>) and names the agent
    /// that asked as <c>act</c> (<c>{"sub": "&lt;agent id&gt;"}</c>). Only an agent client may act, only for a subject token
    /// that names it (OpenIddict has already validated the subject token: signature, lifetime, and that it was issued to
    /// or for this client), and never for a token that is itself delegated (no chains).
    /// </summary>
    private static void ExchangeToken(HandleTokenRequestContext context, IssuerClient actor, string defaultAudience)
    {
        var subject = context.SubjectTokenPrincipal?.GetClaim(Claims.Subject);
        if (actor.AgentId is not { } agentId)
        {
            context.Reject(Errors.UnauthorizedClient, "only an agent client (one with an agent_id) may act on behalf of a user");
            return;
        }
        if (string.IsNullOrEmpty(subject) || context.SubjectTokenPrincipal!.HasClaim(ActClaim))
        {
            context.Reject(Errors.InvalidGrant, "the subject token names no user, or is already a delegated token");
            return;
        }
        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Subject, "roles");
        identity.SetClaim(Claims.Subject, subject);
        identity.SetClaim(ActClaim, JsonSerializer.SerializeToElement(new Dictionary<string, string> { [Claims.Subject] = agentId }));
        identity.SetClaims("roles", JsonSerializer.SerializeToElement(new[] { "agent" }));
        var principal = new ClaimsPrincipal(identity);
        principal.SetAudiences(actor.Audience ?? defaultAudience);
        principal.SetDestinations(static _ => [Destinations.AccessToken]);
        context.SignIn(principal);
    }

    /// <summary>POST /test/rotate-key[?retire=true]: a new current signing key; with retire, the old keys leave JWKS.</summary>
    private static Results<Ok<RotatedKeys>, ProblemHttpResult> RotateKey(HttpContext http, SigningKeyRing keys, string? retire)
    {
        if (http.Connection.RemoteIpAddress is not { } caller || !IPAddress.IsLoopback(caller))
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, detail: "key rotation is allowed from loopback only");
        if (!bool.TryParse(retire ?? "false", out var retirePrevious))
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, detail: $"retire must be true or false, not '{retire}'");
        return TypedResults.Ok(keys.Rotate(retirePrevious));
    }
}
