using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using RuntimeAuthz.Bearer;

namespace RuntimeAuthz.HttpGateway;

/// <summary>The gateway's own answers, all RFC 7807 problems: they say why a call was not forwarded, never anything secret.</summary>
public static class GatewayProblems
{
    public static Task WriteAsync(HttpContext context, int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        Results.Problem(detail: detail, statusCode: status, title: title, extensions: extensions).ExecuteAsync(context);

    /// <summary>Everything no route maps: refused, so only configured calls ever reach an upstream.</summary>
    public static Task NotRouted(HttpContext context) => WriteAsync(context, StatusCodes.Status404NotFound, "Not routed",
        $"no gateway route maps {context.Request.Method} {context.Request.Path}; the gateway forwards configured routes only");

    /// <summary>401 with WWW-Authenticate saying why a presented token was refused (never echoing it).</summary>
    public static Task WriteUnauthorizedAsync(JwtBearerChallengeContext context) =>
        WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "Unauthorized",
            BearerTokens.Challenge(context, "an agent's bearer token is required (Authorization: Bearer <token>)"));

    /// <summary>403 as a problem (the default would be an empty body).</summary>
    public sealed class ForbiddenAsProblem : IAuthorizationMiddlewareResultHandler
    {
        private readonly AuthorizationMiddlewareResultHandler fallback = new();

        public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult) =>
            authorizeResult.Forbidden && context.User.Identity?.IsAuthenticated == true
                ? WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", "the token does not allow calls through this gateway")
                : fallback.HandleAsync(next, context, policy, authorizeResult);
    }
}
