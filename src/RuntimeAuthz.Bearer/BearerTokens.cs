using Microsoft.AspNetCore.Authentication.JwtBearer;

namespace RuntimeAuthz.Bearer;

/// <summary>The bearer-token rules the silo and the HTTP gateway both apply, so a token one accepts the other does too.</summary>
public static class BearerTokens
{
    /// <summary>
    /// A token must be for <paramref name="audience"/>, from the scheme's issuer and within its lifetime (which it must state),
    /// give or take <paramref name="clockSkewSeconds"/>; its <paramref name="subjectClaim"/> names the caller. Claims keep
    /// their names as issued, and a refusal is answered by <paramref name="challenge"/>.
    /// </summary>
    public static void RequireValidToken(JwtBearerOptions options, string? audience, int clockSkewSeconds, string subjectClaim, Func<JwtBearerChallengeContext, Task> challenge)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.MapInboundClaims = false;
        var parameters = options.TokenValidationParameters;
        parameters.ValidAudience = audience;
        parameters.ValidateAudience = true;
        parameters.ValidateIssuer = true;
        parameters.ValidateLifetime = true;
        parameters.RequireExpirationTime = true;
        parameters.ClockSkew = TimeSpan.FromSeconds(clockSkewSeconds);
        parameters.NameClaimType = subjectClaim;
        options.Events = new JwtBearerEvents { OnChallenge = challenge };
    }

    /// <summary>
    /// Takes over a 401 challenge: sets <c>WWW-Authenticate</c> (with the reason when a presented token was refused, never
    /// the token) and returns the problem detail to answer with; <paramref name="required"/> is the detail when no token came.
    /// </summary>
    public static string Challenge(JwtBearerChallengeContext context, string required)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.HandleResponse();
        var header = "Bearer";
        var detail = required;
        if (context.AuthenticateFailure is not null)
        {
            var description = HeaderText(string.IsNullOrEmpty(context.ErrorDescription) ? "the token is not valid" : context.ErrorDescription);
            header = $"Bearer error=\"invalid_token\", error_description=\"{description}\"";
            detail = $"the bearer token was refused: {description}";
        }
        context.Response.Headers.WWWAuthenticate = header;
        return detail;
    }

    /// <summary>Text fit for a quoted header parameter: no quote that would end it, no line break.</summary>
    public static string HeaderText(string text) =>
        new(text.Select(c => c == '"' ? '\'' : char.IsControl(c) ? ' ' : c).ToArray());
}
