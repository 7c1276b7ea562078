using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Infrastructure;

/// <summary>
/// The token the CLI sends, chosen on first use: <c>--token</c>, else <c>AUTHZ_TOKEN</c>, else the
/// profile saved by <c>authz login</c> (only for the service it was made for), else a token from the
/// service's development issuer for the identity named by <c>--as</c> / <c>AUTHZ_AS</c> (default admin).
/// </summary>
public sealed class Credentials : IAccessTokenSource
{
    public const string TokenVariable = "AUTHZ_TOKEN";
    public const string AsVariable = "AUTHZ_AS";
    public const string LoginHint = "use authz login, --token or AUTHZ_TOKEN";

    private readonly Lazy<(IAccessTokenSource Source, string Description)> _chosen;

    public Credentials(string? tokenOption, string? asOption, Uri service, CliEnvironment environment, ProfileStore profiles, HttpClient http) =>
        _chosen = new(() => Choose(tokenOption, asOption, service, environment, profiles, http));

    /// <summary>Where the token comes from, for messages ("--token", "profile /home/me/...", "development issuer (--as governance)").</summary>
    public string Description => _chosen.Value.Description;

    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken) => _chosen.Value.Source.GetTokenAsync(cancellationToken);

    private static (IAccessTokenSource, string) Choose(string? tokenOption, string? asOption, Uri service, CliEnvironment environment, ProfileStore profiles, HttpClient http)
    {
        var configured = Configured(tokenOption, service, environment, profiles);
        if (configured is { } token)
        {
            return string.IsNullOrWhiteSpace(asOption)
                ? token
                : throw new UserInputException($"--as picks a development identity, but a token is configured ({token.Item2}); use one or the other");
        }
        var (who, source) = string.IsNullOrWhiteSpace(asOption)
            ? (environment.GetVariable(AsVariable) is { Length: > 0 } fromEnvironment ? (fromEnvironment, AsVariable) : ("admin", null))
            : (asOption, "--as");
        DevelopmentIdentity identity;
        try
        {
            identity = DevelopmentIdentity.Parse(who);
        }
        catch (FormatException exception)
        {
            throw new UserInputException($"{source}: {exception.Message}");
        }
        return (new DevelopmentTokenSource(http, service, identity, environment.Time), $"development issuer (--as {who.Trim()})");
    }

    private static (IAccessTokenSource, string)? Configured(string? tokenOption, Uri service, CliEnvironment environment, ProfileStore profiles)
    {
        if (!string.IsNullOrWhiteSpace(tokenOption))
        {
            return (new StaticTokenSource(tokenOption), "--token");
        }
        if (environment.GetVariable(TokenVariable) is { } fromEnvironment && !string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return (new StaticTokenSource(fromEnvironment), TokenVariable);
        }
        if (profiles.Load() is { } profile && profile.IsFor(service))
        {
            if (profile.ExpiresAt is { } expires && expires <= environment.Time.GetUtcNow())
            {
                throw new AuthzAuthenticationException($"the token saved in {profiles.Path} expired at {Display.Time(expires)}");
            }
            return (new StaticTokenSource(profile.Token, profile.ExpiresAt), $"profile {profiles.Path}");
        }
        return null;
    }
}
