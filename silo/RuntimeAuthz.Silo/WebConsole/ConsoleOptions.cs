using Microsoft.Extensions.Options;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.WebConsole;

/// <summary>The "Console" section: where the built web console is and how it signs people in (docs/configuration.md).</summary>
public sealed class ConsoleOptions
{
    public const string Section = "Console";

    /// <summary>Folder of the built console (npm run build:console); relative to the content root. Default: <c>console</c>.</summary>
    public string Directory { get; set; } = "console";

    public OidcSettings Oidc { get; set; } = new();

    public sealed class OidcSettings
    {
        /// <summary>The console's public client at the authority (authorization code + PKCE, no secret). Unset: no OIDC login.</summary>
        public string? ClientId { get; set; }

        /// <summary>Scopes asked for; the access token must carry the API's audience and the role claims.</summary>
        public string Scope { get; set; } = "openid profile";

        /// <summary>Issuer the console signs in at; default <c>Authentication:Authority</c> (the issuer whose tokens the API accepts).</summary>
        public string? Authority { get; set; }

        /// <summary>Extra authorize-request parameter <c>resource</c> (RFC 8707) for authorities that pick the token's audience from it.</summary>
        public string? Resource { get; set; }
    }
}

/// <summary>Refuses a console configuration that could not sign anybody in, naming the key.</summary>
public sealed class ConsoleOptionsValidator(IOptions<CallerAuthenticationOptions> authentication) : IValidateOptions<ConsoleOptions>
{
    public ValidateOptionsResult Validate(string? name, ConsoleOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Directory)) failures.Add($"{ConsoleOptions.Section}:Directory must name a folder");
        var oidc = options.Oidc;
        if (oidc.ClientId is { } clientId && string.IsNullOrWhiteSpace(clientId))
            failures.Add($"{ConsoleOptions.Section}:Oidc:ClientId must not be empty when set");
        if (!string.IsNullOrWhiteSpace(oidc.ClientId))
        {
            var authority = oidc.Authority ?? authentication.Value.Authority;
            if (string.IsNullOrWhiteSpace(authority))
                failures.Add($"{ConsoleOptions.Section}:Oidc:ClientId is set but there is no authority: set {CallerAuthenticationOptions.AuthorityKey} (or {ConsoleOptions.Section}:Oidc:Authority)");
            else if (!Uri.TryCreate(authority, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && !uri.IsLoopback))
                failures.Add($"{ConsoleOptions.Section}:Oidc:Authority '{authority}' must be an absolute https URL (http only on loopback)");
            if (string.IsNullOrWhiteSpace(oidc.Scope) || !oidc.Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("openid"))
                failures.Add($"{ConsoleOptions.Section}:Oidc:Scope must include 'openid'");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
