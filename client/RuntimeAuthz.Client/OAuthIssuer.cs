using System.Text.Json;
using Duende.IdentityModel.Client;

namespace RuntimeAuthz.Client;

/// <summary>A device-code sign-in in progress (RFC 8628): show the user the URI and code, then poll.</summary>
public sealed record DeviceAuthorization(string UserCode, Uri VerificationUri, Uri? VerificationUriComplete, DateTimeOffset ExpiresAt, TimeSpan Interval)
{
    internal string DeviceCode { get; init; } = string.Empty;
    internal string ClientId { get; init; } = string.Empty;
    internal string? ClientSecret { get; init; }

    /// <summary>Never the device code, which is a credential until it expires.</summary>
    public override string ToString() => $"device sign-in at {VerificationUri} with code {UserCode}";
}

/// <summary>
/// An OAuth 2.0 / OpenID Connect issuer, found through its discovery document
/// (<c>{issuer}/.well-known/openid-configuration</c>): client-credentials tokens and device-code sign-in.
/// </summary>
public sealed class OAuthIssuer
{
    /// <summary>RFC 8628 §3.5: on <c>slow_down</c> the polling interval grows by 5 seconds.</summary>
    public static readonly TimeSpan SlowDownStep = TimeSpan.FromSeconds(5);

    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    private OAuthIssuer(HttpClient http, TimeProvider time, Uri issuer, string tokenEndpoint, string? deviceAuthorizationEndpoint)
    {
        _http = http;
        _time = time;
        Issuer = issuer;
        TokenEndpoint = tokenEndpoint;
        DeviceAuthorizationEndpoint = deviceAuthorizationEndpoint;
    }

    /// <summary>The issuer address as given (and as its discovery document names itself).</summary>
    public Uri Issuer { get; }
    public string TokenEndpoint { get; }
    public string? DeviceAuthorizationEndpoint { get; }

    /// <summary>
    /// Reads the issuer's discovery document (<c>{issuer}/.well-known/openid-configuration</c>). The
    /// document must name <paramref name="issuer"/> as its issuer (OpenID Connect Discovery §4.3), and
    /// plain http is accepted only on loopback. Keys are not fetched: the service validates tokens.
    /// </summary>
    public static async Task<OAuthIssuer> DiscoverAsync(HttpClient httpClient, Uri issuer, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(issuer);
        var authority = issuer.AbsoluteUri.TrimEnd('/');
        string Refuse(string why) => throw new AuthzAuthenticationException($"cannot use issuer {authority}: {why}");
        if (!IsSecureOrLoopback(issuer))
        {
            Refuse("plain http is only accepted on loopback; use https");
        }
        var address = $"{authority}/.well-known/openid-configuration";
        string text;
        try
        {
            using var response = await httpClient.GetAsync(address, cancellationToken).ConfigureAwait(false);
            text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                Refuse($"{address} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }
        }
        catch (HttpRequestException exception)
        {
            throw new AuthzAuthenticationException($"cannot use issuer {authority}: cannot reach {address} ({exception.GetBaseException().Message})", exception);
        }
        catch (TaskCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AuthzAuthenticationException($"cannot use issuer {authority}: no answer from {address} within {httpClient.Timeout.TotalSeconds:0.#} s", exception);
        }
        string? named = null, tokenEndpoint = null, deviceEndpoint = null;
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                named = Text(document.RootElement, "issuer");
                tokenEndpoint = Text(document.RootElement, "token_endpoint");
                deviceEndpoint = Text(document.RootElement, "device_authorization_endpoint");
            }
        }
        catch (JsonException)
        {
            Refuse($"{address} is not a JSON discovery document");
        }
        if (named is null || !string.Equals(named.TrimEnd('/'), authority, StringComparison.Ordinal))
        {
            Refuse($"its discovery document names the issuer '{named}', not {authority}");
        }
        var endpoint = Endpoint(tokenEndpoint) ?? Refuse("its discovery document names no usable token_endpoint");
        return new OAuthIssuer(httpClient, time ?? TimeProvider.System, new Uri(authority), endpoint, Endpoint(deviceEndpoint));
    }

    private static string? Text(JsonElement document, string name) =>
        document.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? Endpoint(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var endpoint) && IsSecureOrLoopback(endpoint) ? endpoint.AbsoluteUri : null;

    private static bool IsSecureOrLoopback(Uri address) =>
        address.Scheme == Uri.UriSchemeHttps || (address.Scheme == Uri.UriSchemeHttp && address.IsLoopback);

    /// <summary>A token for the client itself (OAuth client credentials grant).</summary>
    public async Task<AccessToken> RequestClientCredentialsTokenAsync(string clientId, string clientSecret, string? scope = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        ArgumentException.ThrowIfNullOrEmpty(clientSecret);
        var response = await _http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = TokenEndpoint,
            ClientId = clientId,
            ClientSecret = clientSecret,
            Scope = scope,
        }, cancellationToken).ConfigureAwait(false);
        return ToAccessToken(response, "refused the client credentials");
    }

    /// <summary>Starts a device-code sign-in; show <see cref="DeviceAuthorization.VerificationUri"/> and the user code, then call <see cref="CompleteDeviceSignInAsync"/>.</summary>
    /// <param name="clientSecret">Only for confidential clients; public clients (the usual case for a CLI) have none.</param>
    public async Task<DeviceAuthorization> BeginDeviceSignInAsync(string clientId, string? scope = null, string? clientSecret = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        if (string.IsNullOrWhiteSpace(DeviceAuthorizationEndpoint))
        {
            throw new AuthzAuthenticationException($"issuer {Display} does not offer device sign-in (its discovery document names no device_authorization_endpoint)");
        }
        var response = await _http.RequestDeviceAuthorizationAsync(new DeviceAuthorizationRequest
        {
            Address = DeviceAuthorizationEndpoint,
            ClientId = clientId,
            ClientSecret = clientSecret,
            Scope = scope,
        }, cancellationToken).ConfigureAwait(false);
        if (response.IsError)
        {
            throw new AuthzAuthenticationException($"issuer {Display} refused device sign-in: {Describe(response)}");
        }
        if (string.IsNullOrWhiteSpace(response.DeviceCode) || string.IsNullOrWhiteSpace(response.UserCode)
            || !Uri.TryCreate(response.VerificationUri, UriKind.Absolute, out var verification))
        {
            throw new AuthzAuthenticationException($"issuer {Display} answered the device authorization without device_code, user_code or verification_uri");
        }
        Uri.TryCreate(response.VerificationUriComplete, UriKind.Absolute, out var complete);
        // RFC 8628 §3.2: interval defaults to 5 seconds; expires_in is required (assume 5 minutes if absent).
        var interval = response.Interval > 0 ? TimeSpan.FromSeconds(response.Interval) : TimeSpan.FromSeconds(5);
        var lifetime = response.ExpiresIn is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(5);
        return new DeviceAuthorization(response.UserCode, verification, complete, _time.GetUtcNow() + lifetime, interval)
        {
            DeviceCode = response.DeviceCode,
            ClientId = clientId,
            ClientSecret = clientSecret,
        };
    }

    /// <summary>
    /// Polls the token endpoint until the user has signed in (RFC 8628 §3.4-3.5): waits
    /// <see cref="DeviceAuthorization.Interval"/> between polls, 5 s more after each <c>slow_down</c>,
    /// and gives up on <c>access_denied</c>, <c>expired_token</c> or when the code's lifetime is over.
    /// </summary>
    /// <param name="delay">Waits between polls (tests pass a fake clock's delay).</param>
    public async Task<AccessToken> CompleteDeviceSignInAsync(DeviceAuthorization authorization, Func<TimeSpan, CancellationToken, Task>? delay = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(authorization);
        delay ??= (span, ct) => Task.Delay(span, _time, ct);
        var interval = authorization.Interval;
        while (true)
        {
            if (_time.GetUtcNow() + interval > authorization.ExpiresAt)
            {
                throw new AuthzAuthenticationException($"the device code expired before sign-in finished (at {authorization.ExpiresAt:u}); run the login again");
            }
            await delay(interval, cancellationToken).ConfigureAwait(false);
            var response = await _http.RequestDeviceTokenAsync(new DeviceTokenRequest
            {
                Address = TokenEndpoint,
                ClientId = authorization.ClientId,
                ClientSecret = authorization.ClientSecret,
                DeviceCode = authorization.DeviceCode,
            }, cancellationToken).ConfigureAwait(false);
            switch (response.IsError ? OAuthError(response) : null)
            {
                case "authorization_pending":
                    continue;
                case "slow_down":
                    interval += SlowDownStep;
                    continue;
                case "access_denied":
                    throw new AuthzAuthenticationException($"sign-in was refused at {Display} (access_denied)");
                case "expired_token":
                    throw new AuthzAuthenticationException("the device code expired before sign-in finished (expired_token); run the login again");
                default:
                    return ToAccessToken(response, "refused the device sign-in");
            }
        }
    }

    private string Display => Issuer.AbsoluteUri.TrimEnd('/');

    private AccessToken ToAccessToken(TokenResponse response, string refusal)
    {
        if (response.IsError)
        {
            throw new AuthzAuthenticationException($"issuer {Display} {refusal}: {Describe(response)}");
        }
        if (string.IsNullOrWhiteSpace(response.AccessToken))
        {
            throw new AuthzAuthenticationException($"issuer {Display} answered without an access_token");
        }
        DateTimeOffset? expiresAt = response.ExpiresIn > 0 ? _time.GetUtcNow().AddSeconds(response.ExpiresIn) : null;
        return new AccessToken(response.AccessToken, expiresAt);
    }

    // RFC 6749 §5.2 errors may come with 400 or 401; the "error" member is the answer either way.
    private static string? OAuthError(ProtocolResponse response) => response.Json is { ValueKind: JsonValueKind.Object } ? response.TryGet("error") ?? response.Error : response.Error;

    private static string Describe(ProtocolResponse response) =>
        Describe(OAuthError(response), response.Json is { ValueKind: JsonValueKind.Object } ? response.TryGet("error_description") : null, response.Exception);

    private static string Describe(string? error, string? description, Exception? exception)
    {
        var text = string.IsNullOrWhiteSpace(description) ? error ?? "unknown error" : $"{error}: {description}";
        return exception?.GetBaseException() is { } cause && !text.Contains(cause.Message, StringComparison.Ordinal) ? $"{text} ({cause.Message})" : text;
    }
}

/// <summary>Client-credentials tokens from an OAuth issuer, fetched again shortly before each expires.</summary>
public sealed class ClientCredentialsTokenSource(HttpClient httpClient, Uri issuer, string clientId, string clientSecret, string? scope = null, TimeProvider? time = null)
    : CachingTokenSource(time)
{
    private OAuthIssuer? _issuer;

    /// <inheritdoc />
    protected override async Task<AccessToken> FetchAsync(CancellationToken cancellationToken)
    {
        _issuer ??= await OAuthIssuer.DiscoverAsync(httpClient, issuer, Time, cancellationToken).ConfigureAwait(false);
        return await _issuer.RequestClientCredentialsTokenAsync(clientId, clientSecret, scope, cancellationToken).ConfigureAwait(false);
    }
}
