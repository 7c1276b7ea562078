using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Client;

/// <summary>
/// Typed client for the RuntimeAuthz.Cluster HTTP API: agents and delegations, sessions and
/// decisions, versioned policies, AuthZEN 1.0 evaluation, and health. Thread-safe; keep one
/// per service address (or register it as a typed <see cref="HttpClient"/> client).
/// </summary>
/// <remarks>
/// Errors: an answer with a non-success status raises <see cref="AuthzApiException"/> (built
/// from the RFC 7807 problem body); a service that cannot be reached or does not answer in time
/// raises <see cref="AuthzUnavailableException"/>. Callers that gate tool calls must treat any
/// exception as a deny.
/// </remarks>
public sealed partial class AuthzClient : IDisposable
{
    /// <summary>The address the CLI and the quick start use.</summary>
    public static readonly Uri DefaultBaseAddress = new("http://127.0.0.1:5080/");

    /// <summary>JSON options matching the service's wire format (camelCase, enums as strings, nulls omitted).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = CreateJsonOptions();

    private const string RequestIdHeader = "X-Request-ID";
    private readonly HttpClient _http;
    private readonly IAccessTokenSource? _tokens;
    private readonly bool _ownsHttpClient;

    /// <summary>
    /// Wraps an <see cref="HttpClient"/> whose <see cref="HttpClient.BaseAddress"/> is the service address.
    /// Every request except health probes and the AuthZEN discovery document carries a bearer token from
    /// <paramref name="tokens"/> (without one the service answers 401).
    /// </summary>
    public AuthzClient(HttpClient httpClient, IAccessTokenSource? tokens = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        if (httpClient.BaseAddress is null)
        {
            throw new ArgumentException("The HttpClient needs a BaseAddress (the service address).", nameof(httpClient));
        }
        _http = httpClient;
        _tokens = tokens;
        BaseAddress = WithTrailingSlash(httpClient.BaseAddress);
    }

    /// <summary>Creates a client with its own <see cref="HttpClient"/> for <paramref name="baseAddress"/>.</summary>
    public AuthzClient(Uri baseAddress, IAccessTokenSource? tokens = null, TimeSpan? timeout = null)
        : this(new HttpClient { BaseAddress = WithTrailingSlash(baseAddress), Timeout = timeout ?? TimeSpan.FromSeconds(30) }, tokens) =>
        _ownsHttpClient = true;

    /// <summary>The service address requests are sent to.</summary>
    public Uri BaseAddress { get; }

    // ---- identity ----------------------------------------------------------------------

    /// <summary><c>GET /v1/whoami</c>: who the service takes the caller to be (subject, issuer, roles, agent, expiry).</summary>
    public Task<WhoAmI> WhoAmIAsync(CancellationToken cancellationToken = default) =>
        SendAsync<WhoAmI>(HttpMethod.Get, "v1/whoami", null, cancellationToken);

    // ---- agents ------------------------------------------------------------------------

    /// <summary><c>POST /v1/agents</c>: registers an agent identity (no authority yet). 409 if the id exists.</summary>
    public Task<Agent> RegisterAgentAsync(RegisterAgentRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Agent>(HttpMethod.Post, "v1/agents", request, cancellationToken);

    /// <summary><c>GET /v1/agents</c>, every page: the whole fleet (use <see cref="ListAgentsPageAsync"/> for large fleets).</summary>
    public async Task<IReadOnlyList<Agent>> ListAgentsAsync(CancellationToken cancellationToken = default)
    {
        var agents = new List<Agent>();
        string? continuation = null;
        do
        {
            var page = await ListAgentsPageAsync(continuation: continuation, cancellationToken: cancellationToken).ConfigureAwait(false);
            agents.AddRange(page.Agents);
            continuation = page.Continuation;
        }
        while (continuation is not null);
        return agents;
    }

    /// <summary><c>GET /v1/agents?limit=&amp;continuation=</c>: one page (server default size when <paramref name="limit"/> is null); pass <see cref="AgentPage.Continuation"/> back for the next.</summary>
    public Task<AgentPage> ListAgentsPageAsync(int? limit = null, string? continuation = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string>(2);
        if (limit is { } size) query.Add("limit=" + size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (continuation is not null) query.Add("continuation=" + Uri.EscapeDataString(continuation));
        return SendAsync<AgentPage>(HttpMethod.Get, query.Count == 0 ? "v1/agents" : "v1/agents?" + string.Join("&", query), null, cancellationToken);
    }

    /// <summary><c>GET /v1/agents/{id}</c>. 404 if unknown.</summary>
    public Task<Agent> GetAgentAsync(string agentId, CancellationToken cancellationToken = default) =>
        SendAsync<Agent>(HttpMethod.Get, $"v1/agents/{Segment(agentId)}", null, cancellationToken);

    /// <summary><c>POST /v1/agents/{id}/status</c>: suspends, reactivates or (finally) revokes an agent.</summary>
    public Task<Agent> SetAgentStatusAsync(string agentId, ChangeAgentStatusRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Agent>(HttpMethod.Post, $"v1/agents/{Segment(agentId)}/status", request, cancellationToken);

    /// <summary><c>POST /v1/agents/{id}/delegations</c>: grants time-bounded authority.</summary>
    public Task<Delegation> GrantDelegationAsync(string agentId, GrantDelegationRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Delegation>(HttpMethod.Post, $"v1/agents/{Segment(agentId)}/delegations", request, cancellationToken);

    /// <summary><c>DELETE /v1/agents/{id}/delegations/{delegationId}</c>: withdraws a delegation cluster-wide.</summary>
    public Task<Agent> RevokeDelegationAsync(string agentId, string delegationId, CancellationToken cancellationToken = default) =>
        SendAsync<Agent>(HttpMethod.Delete, $"v1/agents/{Segment(agentId)}/delegations/{Segment(delegationId)}", null, cancellationToken);

    // ---- sessions ----------------------------------------------------------------------

    /// <summary><c>POST /v1/sessions</c>: opens a session for an agent.</summary>
    public Task<Session> OpenSessionAsync(OpenSessionRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Session>(HttpMethod.Post, "v1/sessions", request, cancellationToken);

    /// <summary><c>GET /v1/sessions/{id}</c>: the session's state and event timeline.</summary>
    public Task<Session> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        SendAsync<Session>(HttpMethod.Get, $"v1/sessions/{Segment(sessionId)}", null, cancellationToken);

    /// <summary><c>POST /v1/sessions/{id}/close</c>.</summary>
    public Task<Session> CloseSessionAsync(string sessionId, CloseSessionRequest? request = null, CancellationToken cancellationToken = default) =>
        SendAsync<Session>(HttpMethod.Post, $"v1/sessions/{Segment(sessionId)}/close", request ?? new CloseSessionRequest(), cancellationToken);

    /// <summary><c>POST /v1/sessions/{id}/decisions</c>: decides one call before it runs.</summary>
    public Task<Decision> DecideAsync(string sessionId, DecisionRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<Decision>(HttpMethod.Post, $"v1/sessions/{Segment(sessionId)}/decisions", request, cancellationToken);

    /// <summary>
    /// <c>POST /v1/sessions/{id}/outcomes</c>: records what an allowed call returned (or its error), once per decision. A 503
    /// (<see cref="AuthzApiException.Status"/>) means it could not be recorded or confirmed just now: send the same report
    /// again after its <c>Retry-After</c>; a 409 with <see cref="AuthzApiException.IsOutcomeAlreadyReported"/> after such a retry
    /// means an earlier attempt landed.
    /// </summary>
    public Task ReportOutcomeAsync(string sessionId, ReportOutcomeRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, $"v1/sessions/{Segment(sessionId)}/outcomes", request, cancellationToken);

    // ---- policies ----------------------------------------------------------------------

    /// <summary><c>POST /v1/policies</c>: publishes a new policy version. Parse/validation errors come back as a 400 with positions in <see cref="AuthzApiException.Errors"/>.</summary>
    public Task<PolicyVersion> PublishPolicyAsync(PublishPolicyRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<PolicyVersion>(HttpMethod.Post, "v1/policies", request, cancellationToken);

    /// <summary><c>GET /v1/policies</c>: every version, newest first.</summary>
    public Task<IReadOnlyList<PolicyVersionSummary>> ListPoliciesAsync(CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<PolicyVersionSummary>>(HttpMethod.Get, "v1/policies", null, cancellationToken);

    /// <summary><c>GET /v1/policies/current</c>. 404 when nothing has been published.</summary>
    public Task<PolicyVersion> GetCurrentPolicyAsync(CancellationToken cancellationToken = default) =>
        SendAsync<PolicyVersion>(HttpMethod.Get, "v1/policies/current", null, cancellationToken);

    /// <summary><c>GET /v1/policies/{version}</c>.</summary>
    public Task<PolicyVersion> GetPolicyAsync(long version, CancellationToken cancellationToken = default) =>
        SendAsync<PolicyVersion>(HttpMethod.Get, $"v1/policies/{version}", null, cancellationToken);

    /// <summary><c>POST /v1/policies/rollback</c>: republishes an old version's text as a new version.</summary>
    public Task<PolicyVersion> RollbackPolicyAsync(RollbackPolicyRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<PolicyVersion>(HttpMethod.Post, "v1/policies/rollback", request, cancellationToken);

    // ---- AuthZEN 1.0 -------------------------------------------------------------------

    /// <summary><c>GET /.well-known/authzen-configuration</c>.</summary>
    public Task<AuthZenConfiguration> GetAuthZenConfigurationAsync(CancellationToken cancellationToken = default) =>
        SendAsync<AuthZenConfiguration>(HttpMethod.Get, ".well-known/authzen-configuration", null, cancellationToken, authenticate: false);

    /// <summary><c>POST /access/v1/evaluation</c>. <paramref name="requestId"/> is sent as <c>X-Request-ID</c>.</summary>
    public Task<AuthZenEvaluationResponse> EvaluateAsync(AuthZenEvaluationRequest request, string? requestId = null, CancellationToken cancellationToken = default) =>
        SendAsync<AuthZenEvaluationResponse>(HttpMethod.Post, "access/v1/evaluation", request, cancellationToken, requestId);

    /// <summary><c>POST /access/v1/evaluations</c>: a batch with top-level defaults and an evaluation semantic.</summary>
    public Task<AuthZenEvaluationsResponse> EvaluateManyAsync(AuthZenEvaluationsRequest request, string? requestId = null, CancellationToken cancellationToken = default) =>
        SendAsync<AuthZenEvaluationsResponse>(HttpMethod.Post, "access/v1/evaluations", request, cancellationToken, requestId);

    // ---- health ------------------------------------------------------------------------

    /// <summary><c>GET /health/live</c>. Does not throw on 503; throws <see cref="AuthzUnavailableException"/> when unreachable.</summary>
    public Task<HealthStatus> GetLivenessAsync(CancellationToken cancellationToken = default) =>
        GetHealthAsync("health/live", cancellationToken);

    /// <summary><c>GET /health/ready</c>. Does not throw on 503; throws <see cref="AuthzUnavailableException"/> when unreachable.</summary>
    public Task<HealthStatus> GetReadinessAsync(CancellationToken cancellationToken = default) =>
        GetHealthAsync("health/ready", cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttpClient)
        {
            _http.Dispose();
        }
    }

    // ---- plumbing ----------------------------------------------------------------------

    private async Task<HealthStatus> GetHealthAsync(string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        using var response = await TransmitAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return new HealthStatus(response.IsSuccessStatusCode, (int)response.StatusCode, body);
    }

    private async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken, string? requestId = null)
    {
        using var response = await SendCoreAsync(method, path, body, requestId, authenticate: true, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken, string? requestId = null, bool authenticate = true)
    {
        using var response = await SendCoreAsync(method, path, body, requestId, authenticate, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize<T>(text, JsonOptions)
                ?? throw new AuthzException($"{method} {path} answered {(int)response.StatusCode} with an empty body.");
        }
        catch (JsonException exception)
        {
            throw new AuthzException($"{method} {path} answered a body this client cannot read: {exception.Message}", exception);
        }
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpMethod method, string path, object? body, string? requestId, bool authenticate, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path);
            AccessToken? token = null;
            if (authenticate && _tokens is not null)
            {
                token = await _tokens.GetTokenAsync(cancellationToken).ConfigureAwait(false);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
            }
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/problem+json"));
            if (requestId is not null)
            {
                request.Headers.TryAddWithoutValidation(RequestIdHeader, requestId);
            }
            if (body is not null)
            {
                request.Content = JsonContent.Create(body, body.GetType(), options: JsonOptions);
            }
            var response = await TransmitAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return response;
            }
            // A refused cached token (a restarted development silo, a revoked key) is replaced once; the
            // service did not act on a 401, so sending the request again is safe.
            if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 1 && token is not null && _tokens is CachingTokenSource cache)
            {
                cache.Forget(token);
                response.Dispose();
                continue;
            }
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                var echoedRequestId = response.Headers.TryGetValues(RequestIdHeader, out var values) ? values.FirstOrDefault() : null;
                throw AuthzApiException.FromResponse(response.StatusCode, response.ReasonPhrase, text, echoedRequestId, BearerErrorDescription(response));
            }
        }
    }

    private Task<HttpResponseMessage> TransmitAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        TransmitAsync(_http, BaseAddress, request, cancellationToken);

    /// <summary>Sends to the service at <paramref name="service"/>; unreachable or silent becomes <see cref="AuthzUnavailableException"/>.</summary>
    internal static async Task<HttpResponseMessage> TransmitAsync(HttpClient http, Uri service, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException exception)
        {
            var reason = Describe(exception);
            throw new AuthzUnavailableException(service, reason, $"cannot reach the authorization service at {Display(service)}: {reason}", exception);
        }
        catch (TaskCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient reports its own timeout as a cancellation the caller did not ask for.
            var reason = $"no answer within {http.Timeout.TotalSeconds:0.#} s";
            throw new AuthzUnavailableException(service, reason, $"the authorization service at {Display(service)} gave {reason}", exception);
        }
    }

    private static string Describe(HttpRequestException exception)
    {
        var innermost = exception.GetBaseException();
        return exception.HttpRequestError switch
        {
            HttpRequestError.ConnectionError when innermost is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused } => "connection refused",
            HttpRequestError.NameResolutionError => "host name not found",
            _ => innermost.Message,
        };
    }

    // A 401 without a problem body still says why in WWW-Authenticate: Bearer error_description="...".
    private static string? BearerErrorDescription(HttpResponseMessage response)
    {
        foreach (var challenge in response.Headers.WwwAuthenticate)
        {
            if (challenge.Parameter is { } parameters
                && System.Text.RegularExpressions.Regex.Match(parameters, "error_description=\"(?<text>[^\"]*)\"") is { Success: true } match)
            {
                return match.Groups["text"].Value;
            }
        }
        return null;
    }

    /// <summary>The address as people type it (no trailing slash).</summary>
    public static string Display(Uri address) => address.ToString().TrimEnd('/');

    private static string Segment(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        return Uri.EscapeDataString(value);
    }

    private static Uri WithTrailingSlash(Uri address)
    {
        if (!address.IsAbsoluteUri)
        {
            throw new ArgumentException($"'{address}' is not an absolute address such as http://127.0.0.1:5080.", nameof(address));
        }
        return address.AbsoluteUri.EndsWith('/') ? address : new Uri(address.AbsoluteUri + "/");
    }

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
