using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace RuntimeAuthz.Client;

/// <summary>A bearer token and when it stops being valid (null: unknown, used until the service refuses it).</summary>
public sealed record AccessToken(string Value, DateTimeOffset? ExpiresAt)
{
    /// <summary>Never the token itself, so a token cannot reach a log through string formatting.</summary>
    public override string ToString() => ExpiresAt is { } expires ? $"access token (expires {expires:u})" : "access token";
}

/// <summary>
/// Where <see cref="AuthzClient"/> gets the bearer token it sends with every request. Implementations
/// must be thread-safe; they decide themselves when to fetch a new token.
/// </summary>
public interface IAccessTokenSource
{
    /// <summary>A token that is valid now. Throws <see cref="AuthzAuthenticationException"/> when none can be had.</summary>
    ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken);
}

/// <summary>A fixed token (from configuration, <c>--token</c> or <c>AUTHZ_TOKEN</c>).</summary>
public sealed class StaticTokenSource : IAccessTokenSource
{
    private readonly AccessToken _token;

    /// <summary>Wraps <paramref name="token"/>; <paramref name="expiresAt"/> is informational.</summary>
    public StaticTokenSource(string token, DateTimeOffset? expiresAt = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        _token = new AccessToken(token.Trim(), expiresAt);
    }

    /// <inheritdoc />
    public ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_token);
}

/// <summary>
/// Fetches a token when there is none or the current one is about to expire, and shares it
/// between concurrent callers (one fetch at a time).
/// </summary>
public abstract class CachingTokenSource : IAccessTokenSource
{
    /// <summary>How long before expiry a token is replaced (at most half its lifetime).</summary>
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _fetching = new(1, 1);
    private Cached? _cached;

    /// <summary>Creates the source; <paramref name="time"/> defaults to the system clock.</summary>
    protected CachingTokenSource(TimeProvider? time = null) => Time = time ?? TimeProvider.System;

    /// <summary>The clock expiry is judged by.</summary>
    protected TimeProvider Time { get; }

    /// <inheritdoc />
    public async ValueTask<AccessToken> GetTokenAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } token)
        {
            return token;
        }
        await _fetching.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Fresh() is { } fetchedMeanwhile)
            {
                return fetchedMeanwhile;
            }
            var fetchedAt = Time.GetUtcNow();
            var fetched = await FetchAsync(cancellationToken).ConfigureAwait(false);
            DateTimeOffset? refreshAt = fetched.ExpiresAt is { } expires
                ? expires - TimeSpan.FromTicks(Math.Min(RefreshMargin.Ticks, Math.Max(0, (expires - fetchedAt).Ticks / 2)))
                : null;
            _cached = new Cached(fetched, refreshAt);
            return fetched;
        }
        finally
        {
            _fetching.Release();
        }
    }

    /// <summary>
    /// The service refused <paramref name="refused"/>: drop it if it is still the cached token, so the
    /// next call fetches a new one (a token another caller already replaced is left alone).
    /// </summary>
    public void Forget(AccessToken refused)
    {
        if (Volatile.Read(ref _cached) is { } cached && ReferenceEquals(cached.Token, refused))
        {
            Interlocked.CompareExchange(ref _cached, null, cached);
        }
    }

    /// <summary>Obtains a new token from the issuer.</summary>
    protected abstract Task<AccessToken> FetchAsync(CancellationToken cancellationToken);

    private AccessToken? Fresh() =>
        Volatile.Read(ref _cached) is { } cached && (cached.RefreshAt is not { } refreshAt || Time.GetUtcNow() < refreshAt) ? cached.Token : null;

    private sealed record Cached(AccessToken Token, DateTimeOffset? RefreshAt);

    /// <summary>Expiry from an OAuth <c>expires_in</c> (seconds); null when absent or not positive.</summary>
    protected DateTimeOffset? ExpiryFrom(long? expiresInSeconds) =>
        expiresInSeconds is > 0 and var seconds ? Time.GetUtcNow().AddSeconds(seconds) : null;
}

/// <summary>
/// Who to be when asking a development silo's issuer (<c>POST /dev/token</c>) for a token:
/// <c>admin</c>, a role name (<c>governance</c>, <c>approver</c>, ...), <c>agent:&lt;id&gt;</c> or
/// <c>pep:&lt;id,id|*&gt;</c>.
/// </summary>
public sealed record DevelopmentIdentity(string Subject, IReadOnlyList<string> Roles, string? AgentId = null, IReadOnlyList<string>? Agents = null)
{
    /// <summary>The roles a development identity can take.</summary>
    public static readonly IReadOnlyList<string> RoleNames = ["admin", "governance", "approver", "responder", "auditor", "agent", "pep"];

    /// <summary>The identity used when nothing is chosen.</summary>
    public static DevelopmentIdentity Admin { get; } = Parse("admin");

    /// <summary>Parses <c>admin</c>, <c>governance</c>, <c>agent:demo-agent</c>, <c>pep:a,b</c> or <c>pep:*</c>.</summary>
    public static DevelopmentIdentity Parse(string who)
    {
        ArgumentNullException.ThrowIfNull(who);
        var text = who.Trim();
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var role = (colon < 0 ? text : text[..colon]).ToLowerInvariant();
        var argument = colon < 0 ? null : text[(colon + 1)..].Trim();
        switch (role)
        {
            case "agent" when !string.IsNullOrEmpty(argument) && !argument.Contains(',', StringComparison.Ordinal):
                return new DevelopmentIdentity($"agent-{argument}", ["agent"], AgentId: argument);
            case "agent":
                throw new FormatException($"'{who}': an agent identity names one agent, e.g. agent:demo-agent");
            case "pep" when !string.IsNullOrEmpty(argument):
                var agents = argument.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                return agents.Length == 0
                    ? throw new FormatException($"'{who}': a pep identity names the agents it acts for, e.g. pep:demo-agent,intern-bot or pep:*")
                    : new DevelopmentIdentity("dev-pep", ["pep"], Agents: agents);
            case "pep":
                throw new FormatException($"'{who}': a pep identity names the agents it acts for, e.g. pep:demo-agent,intern-bot or pep:*");
            case "admin" or "governance" or "approver" or "responder" or "auditor" when argument is null:
                return new DevelopmentIdentity($"dev-{role}", [role]);
            default:
                throw new FormatException($"'{who}' is not a development identity; use admin, governance, approver, responder, auditor, agent:<agent id> or pep:<agent id,...|*>");
        }
    }
}

/// <summary>
/// Tokens from a development silo's own issuer (<c>POST {service}/dev/token</c>), which exists only
/// when the silo runs in the Development environment with the development issuer enabled.
/// </summary>
public sealed class DevelopmentTokenSource : CachingTokenSource
{
    private readonly HttpClient _http;
    private readonly Uri _service;
    private readonly Uri _tokenEndpoint;
    private readonly DevelopmentIdentity _identity;

    /// <summary>Asks <paramref name="serviceAddress"/>'s development issuer for tokens of <paramref name="identity"/>.</summary>
    public DevelopmentTokenSource(HttpClient httpClient, Uri serviceAddress, DevelopmentIdentity identity, TimeProvider? time = null)
        : base(time)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(serviceAddress);
        _http = httpClient;
        _service = new Uri(serviceAddress.AbsoluteUri.TrimEnd('/') + "/");
        _tokenEndpoint = new Uri(_service, "dev/token");
        _identity = identity ?? throw new ArgumentNullException(nameof(identity));
    }

    /// <summary>The identity tokens are asked for.</summary>
    public DevelopmentIdentity Identity => _identity;

    /// <inheritdoc />
    protected override async Task<AccessToken> FetchAsync(CancellationToken cancellationToken)
    {
        var body = new { subject = _identity.Subject, roles = _identity.Roles, agentId = _identity.AgentId, agents = _identity.Agents };
        using var request = new HttpRequestMessage(HttpMethod.Post, _tokenEndpoint) { Content = JsonContent.Create(body, options: AuthzClient.JsonOptions) };
        using (var response = await AuthzClient.TransmitAsync(_http, _service, request, cancellationToken).ConfigureAwait(false))
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
            {
                throw new AuthzAuthenticationException($"no token configured and {AuthzClient.Display(_service)} has no development issuer (POST /dev/token answered {(int)response.StatusCode})");
            }
            if (!response.IsSuccessStatusCode)
            {
                var problem = AuthzApiException.FromResponse(response.StatusCode, response.ReasonPhrase, text, null);
                throw new AuthzAuthenticationException($"the development issuer refused a token for {_identity.Subject}: {problem.Message}");
            }
            return ReadTokenResponse(text, "the development issuer");
        }
    }

    private AccessToken ReadTokenResponse(string text, string issuer)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("access_token", out var token) && token.ValueKind == JsonValueKind.String
                && !string.IsNullOrWhiteSpace(token.GetString()))
            {
                long? expiresIn = root.TryGetProperty("expires_in", out var lifetime) && lifetime.TryGetInt64(out var seconds) ? seconds : null;
                return new AccessToken(token.GetString()!, ExpiryFrom(expiresIn));
            }
        }
        catch (JsonException)
        {
            // Reported below as a body without a token.
        }
        throw new AuthzAuthenticationException($"{issuer} answered without an access_token");
    }
}
