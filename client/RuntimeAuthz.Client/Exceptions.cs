using System.Net;
using System.Text.Json;

namespace RuntimeAuthz.Client;

/// <summary>Base of every error this SDK raises (other than cancellation and argument errors).</summary>
public class AuthzException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AuthzException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>
/// No token could be obtained (no development issuer, an issuer that refused the client, an
/// expired device code) or the profile holding one is unusable. The message never contains a token.
/// </summary>
public sealed class AuthzAuthenticationException : AuthzException
{
    /// <summary>Creates the exception.</summary>
    public AuthzAuthenticationException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>The service could not be reached (connection refused, DNS, TLS, or timeout).</summary>
public sealed class AuthzUnavailableException : AuthzException
{
    /// <summary>Creates the exception.</summary>
    public AuthzUnavailableException(Uri baseAddress, string reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        BaseAddress = baseAddress;
        Reason = reason;
    }

    /// <summary>Short cause: "connection refused", "host name not found", "timed out after 30 s".</summary>
    public string Reason { get; }

    /// <summary>The service address that was tried.</summary>
    public Uri BaseAddress { get; }
}

/// <summary>One entry of a problem's <c>errors</c> member (a policy parse error, or a field error).</summary>
/// <param name="Message">What is wrong.</param>
/// <param name="Line">1-based line, for policy/schema text errors.</param>
/// <param name="Column">1-based column, for policy/schema text errors.</param>
/// <param name="Source">Which text the position refers to (e.g. <c>policies</c> or <c>schema</c>).</param>
/// <param name="Field">The request field at fault, for validation errors.</param>
public sealed record ApiErrorItem(string Message, int? Line = null, int? Column = null, string? Source = null, string? Field = null)
{
    /// <summary><c>source:line:column: message</c> when a position is known, else <c>field: message</c> or the message.</summary>
    public override string ToString() => Line is { } line
        ? $"{Source ?? "input"}:{line}:{Column ?? 1}: {Message}"
        : Field is null ? Message : $"{Field}: {Message}";
}

/// <summary>The service answered with an error (an RFC 7807 problem, or another non-success status).</summary>
public sealed class AuthzApiException : AuthzException
{
    /// <summary>Creates the exception.</summary>
    public AuthzApiException(int status, string title, string? detail, string? type, IReadOnlyList<ApiErrorItem> errors, string? requestId)
        : base(ComposeMessage(status, title, detail))
    {
        Status = status;
        Title = title;
        Detail = detail;
        Type = type;
        Errors = errors;
        RequestId = requestId;
    }

    /// <summary>HTTP status code.</summary>
    public int Status { get; }
    /// <summary>Short summary of the problem type.</summary>
    public string Title { get; }
    /// <summary>Explanation specific to this occurrence.</summary>
    public string? Detail { get; }
    /// <summary>Problem type URI, if given.</summary>
    public string? Type { get; }
    /// <summary>Itemised errors (policy parse errors with positions, or field errors).</summary>
    public IReadOnlyList<ApiErrorItem> Errors { get; }
    /// <summary>The <c>X-Request-ID</c> the service echoed, if any.</summary>
    public string? RequestId { get; }

    /// <summary>True for 404 Not Found.</summary>
    public bool IsNotFound => Status == (int)HttpStatusCode.NotFound;
    /// <summary>True for 401 Unauthorized: no token, or one the service does not accept.</summary>
    public bool IsUnauthorized => Status == (int)HttpStatusCode.Unauthorized;
    /// <summary>True for 403 Forbidden: authenticated, but the caller's roles do not allow it (<see cref="Detail"/> names the permission).</summary>
    public bool IsForbidden => Status == (int)HttpStatusCode.Forbidden;
    /// <summary>
    /// True for the 409 to an outcome report whose decision already has its outcome recorded (<see cref="ProblemTypes.OutcomeAlreadyReported"/>):
    /// after a report whose answer was lost, the earlier attempt landed.
    /// </summary>
    public bool IsOutcomeAlreadyReported => Status == (int)HttpStatusCode.Conflict && Type == ProblemTypes.OutcomeAlreadyReported;
    /// <summary>True for 409 Conflict.</summary>
    public bool IsConflict => Status == (int)HttpStatusCode.Conflict;

    private static string ComposeMessage(int status, string title, string? detail) =>
        string.IsNullOrWhiteSpace(detail) || detail == title ? $"{title} ({status})" : $"{title} ({status}): {detail}";

    /// <summary>Builds the exception from a response body, tolerating non-JSON bodies.</summary>
    internal static AuthzApiException FromResponse(HttpStatusCode statusCode, string? reasonPhrase, string body, string? requestId, string? fallbackDetail = null)
    {
        var problem = ParseProblem(statusCode, reasonPhrase, body, requestId);
        return problem.Detail is null && fallbackDetail is not null
            ? new AuthzApiException(problem.Status, problem.Title, fallbackDetail, problem.Type, problem.Errors, requestId)
            : problem;
    }

    private static AuthzApiException ParseProblem(HttpStatusCode statusCode, string? reasonPhrase, string body, string? requestId)
    {
        var status = (int)statusCode;
        var fallbackTitle = string.IsNullOrWhiteSpace(reasonPhrase) ? statusCode.ToString() : reasonPhrase;
        if (string.IsNullOrWhiteSpace(body))
        {
            return new AuthzApiException(status, fallbackTitle, null, null, [], requestId);
        }
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new AuthzApiException(status, fallbackTitle, Truncate(body), null, [], requestId);
            }
            var title = GetString(root, "title") ?? fallbackTitle;
            var detail = GetString(root, "detail");
            var type = GetString(root, "type");
            var errors = root.TryGetProperty("errors", out var errorsElement) ? ReadErrors(errorsElement) : [];
            return new AuthzApiException(status, title, detail, type, errors, requestId);
        }
        catch (JsonException)
        {
            return new AuthzApiException(status, fallbackTitle, Truncate(body), null, [], requestId);
        }
    }

    private static List<ApiErrorItem> ReadErrors(JsonElement errors)
    {
        var items = new List<ApiErrorItem>();
        switch (errors.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var item in errors.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String)
                    {
                        items.Add(new ApiErrorItem(item.GetString()!));
                    }
                    else if (item.ValueKind == JsonValueKind.Object)
                    {
                        items.Add(new ApiErrorItem(
                            GetString(item, "message") ?? item.GetRawText(),
                            GetInt(item, "line"),
                            GetInt(item, "column"),
                            GetString(item, "source"),
                            GetString(item, "field") ?? GetString(item, "policyId")));
                    }
                }
                break;
            case JsonValueKind.Object:
                // ASP.NET validation problems: { "field": ["message", ...] }.
                foreach (var field in errors.EnumerateObject())
                {
                    if (field.Value.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var message in field.Value.EnumerateArray())
                        {
                            items.Add(new ApiErrorItem(message.ValueKind == JsonValueKind.String ? message.GetString()! : message.GetRawText(), Field: field.Name));
                        }
                    }
                    else
                    {
                        items.Add(new ApiErrorItem(field.Value.ValueKind == JsonValueKind.String ? field.Value.GetString()! : field.Value.GetRawText(), Field: field.Name));
                    }
                }
                break;
        }
        return items;
    }

    private static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int? GetInt(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : null;

    private static string Truncate(string body) => body.Length <= 500 ? body.Trim() : body[..500].Trim() + "…";
}
