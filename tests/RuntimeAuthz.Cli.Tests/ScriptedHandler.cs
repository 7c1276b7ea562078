using System.Net;
using System.Text;

namespace RuntimeAuthz.Cli.Tests;

/// <summary>A fake service: answers scripted responses per "METHOD path" and records every request.</summary>
internal sealed class ScriptedHandler : HttpMessageHandler
{
    private readonly Dictionary<string, Func<RecordedRequest, HttpResponseMessage>> _routes = new(StringComparer.Ordinal);

    public List<RecordedRequest> Requests { get; } = [];

    public ScriptedHandler On(string method, string path, HttpStatusCode status, string body, string contentType = "application/json")
    {
        _routes[$"{method} {path}"] = _ => Respond(status, body, contentType);
        return this;
    }

    public ScriptedHandler On(string method, string path, Func<RecordedRequest, HttpResponseMessage> respond)
    {
        _routes[$"{method} {path}"] = respond;
        return this;
    }

    public static HttpResponseMessage Respond(HttpStatusCode status, string body, string contentType = "application/json") =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, contentType) };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var headers = request.Headers.ToDictionary(header => header.Key, header => string.Join(",", header.Value), StringComparer.OrdinalIgnoreCase);
        var recorded = new RecordedRequest(request.Method.Method, request.RequestUri!.AbsolutePath, body, headers) { Url = request.RequestUri };
        Requests.Add(recorded);
        return _routes.TryGetValue($"{recorded.Method} {recorded.Path}", out var respond)
            ? respond(recorded)
            : Respond(HttpStatusCode.NotFound, """{"title":"Not Found","status":404,"detail":"no scripted route"}""", "application/problem+json");
    }
}

internal sealed record RecordedRequest(string Method, string Path, string? Body, IReadOnlyDictionary<string, string> Headers)
{
    public Uri Url { get; init; } = null!;

    /// <summary>The bearer token sent, or null.</summary>
    public string? BearerToken => Headers.TryGetValue("Authorization", out var value) && value.StartsWith("Bearer ", StringComparison.Ordinal) ? value["Bearer ".Length..] : null;
}
