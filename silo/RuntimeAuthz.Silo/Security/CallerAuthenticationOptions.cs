using Microsoft.Extensions.Options;

namespace RuntimeAuthz.Silo.Security;

/// <summary>The "Authentication" section: who issues the bearer tokens the API accepts, and which claims say what.</summary>
public sealed class CallerAuthenticationOptions
{
    public const string Section = "Authentication";
    public const string AuthorityKey = Section + ":Authority";
    public const string DevelopmentIssuerKey = Section + ":DevelopmentIssuer:Enabled";

    /// <summary>OIDC issuer URL; discovery and JWKS are read from it (and refreshed, so key rotation needs no restart).</summary>
    public string? Authority { get; set; }

    public string Audience { get; set; } = "runtimeauthz";

    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Tolerated clock difference between the issuer and the silo when checking exp/nbf.</summary>
    public int ClockSkewSeconds { get; set; } = 60;

    /// <summary>How often signing keys are re-read from the authority even without an unknown key id.</summary>
    public int MetadataRefreshMinutes { get; set; } = 10;

    public ClaimNames Claims { get; set; } = new();

    /// <summary>Per enforcement-point subject: the agents it may act for (in addition to its token's claim).</summary>
    public Dictionary<string, PepSettings> Peps { get; set; } = new(StringComparer.Ordinal);

    public DevelopmentIssuerSettings DevelopmentIssuer { get; set; } = new();

    public bool HasAuthority => !string.IsNullOrWhiteSpace(Authority);

    public sealed class ClaimNames
    {
        public string Subject { get; set; } = "sub";
        public string Roles { get; set; } = "roles";
        public string AgentId { get; set; } = "agent_id";
        public string PepAgents { get; set; } = "authz_agents";
        /// <summary>RFC 8693 actor claim: a token with <c>{"sub": "&lt;agent-id&gt;"}</c> here is that agent acting on behalf of the token's subject.</summary>
        public string Actor { get; set; } = "act";
        /// <summary>The Cedar entity type of the user an agent acts for (<c>context.onBehalfOf</c>, and the principal of the user's own evaluation).</summary>
        public string OnBehalfOfType { get; set; } = "User";
    }

    public sealed class PepSettings
    {
        public List<string> Agents { get; set; } = [];
    }

    public sealed class DevelopmentIssuerSettings
    {
        public bool Enabled { get; set; }
    }
}

/// <summary>Refuses to start with a configuration that would accept the wrong callers (or none), naming the setting.</summary>
public sealed class CallerAuthenticationOptionsValidator(IHostEnvironment environment) : IValidateOptions<CallerAuthenticationOptions>
{
    public ValidateOptionsResult Validate(string? name, CallerAuthenticationOptions options)
    {
        var failures = new List<string>();
        if (options.DevelopmentIssuer.Enabled && !environment.IsDevelopment())
        {
            failures.Add($"{CallerAuthenticationOptions.DevelopmentIssuerKey} is true in the '{environment.EnvironmentName}' environment: " +
                "the development token issuer is only allowed in Development (anyone could mint an admin token)");
        }
        if (!options.HasAuthority && !options.DevelopmentIssuer.Enabled)
        {
            failures.Add($"{CallerAuthenticationOptions.AuthorityKey} is required: the OIDC issuer URL whose tokens the API accepts " +
                $"(or, in Development only, {CallerAuthenticationOptions.DevelopmentIssuerKey}=true)");
        }
        if (options.HasAuthority && !Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority))
            failures.Add($"{CallerAuthenticationOptions.AuthorityKey} '{options.Authority}' is not an absolute URL");
        else if (options.HasAuthority && options.RequireHttpsMetadata && Uri.TryCreate(options.Authority, UriKind.Absolute, out authority) && authority.Scheme != Uri.UriSchemeHttps)
            failures.Add($"{CallerAuthenticationOptions.AuthorityKey} must be an https URL (or set {CallerAuthenticationOptions.Section}:RequireHttpsMetadata=false for a loopback test issuer)");
        if (string.IsNullOrWhiteSpace(options.Audience))
            failures.Add($"{CallerAuthenticationOptions.Section}:Audience must not be empty");
        if (options.ClockSkewSeconds is < 0 or > 600)
            failures.Add($"{CallerAuthenticationOptions.Section}:ClockSkewSeconds must be between 0 and 600");
        if (options.MetadataRefreshMinutes is < 1 or > 1440)
            failures.Add($"{CallerAuthenticationOptions.Section}:MetadataRefreshMinutes must be between 1 and 1440");
        foreach (var (claim, value) in new[]
                 {
                     ("Subject", options.Claims.Subject), ("Roles", options.Claims.Roles),
                     ("AgentId", options.Claims.AgentId), ("PepAgents", options.Claims.PepAgents), ("Actor", options.Claims.Actor),
                     ("OnBehalfOfType", options.Claims.OnBehalfOfType),
                 })
        {
            if (string.IsNullOrWhiteSpace(value)) failures.Add($"{CallerAuthenticationOptions.Section}:Claims:{claim} must name a claim");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
