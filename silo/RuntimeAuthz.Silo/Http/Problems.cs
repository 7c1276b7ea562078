using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Silo.Http;

/// <summary>RFC 7807 problem responses.</summary>
public static class Problems
{
    public static IResult Create(int status, string detail, object? errors = null, string? type = null)
    {
        var extensions = errors is null ? null : new Dictionary<string, object?> { ["errors"] = errors };
        return Results.Problem(detail: detail, statusCode: status, title: Title(status), type: type, extensions: extensions);
    }

    public static IResult NotFound(string detail) => Create(StatusCodes.Status404NotFound, detail);

    /// <summary>503 with <c>Retry-After</c>: the cluster or its storage did not answer (or throttled); the same call may succeed later.</summary>
    public static IResult Unavailable(string detail) => new RetryLater(Create(StatusCodes.Status503ServiceUnavailable, detail));

    private sealed class RetryLater(IResult problem) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = TransientFailures.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return problem.ExecuteAsync(httpContext);
        }
    }

    /// <summary>Maps a refused grain command to 404 / 409 / 403 / 400 (with located issues for policy texts), or 503 with Retry-After when it may be sent again.</summary>
    public static IResult FromCommand<T>(CommandResult<T> result)
    {
        if (result.Error == CommandError.Unavailable) return Unavailable(result.Message ?? "try again shortly");
        var status = result.Error switch
        {
            CommandError.NotFound => StatusCodes.Status404NotFound,
            CommandError.Conflict => StatusCodes.Status409Conflict,
            CommandError.Forbidden => StatusCodes.Status403Forbidden,
            _ => StatusCodes.Status400BadRequest,
        };
        object? errors = result.Issues.Count == 0
            ? null
            : result.Issues.Select(i => new { line = i.Line, column = i.Column, message = i.Message, source = i.Source }).ToArray();
        return Create(status, result.Message ?? result.Error.ToString(), errors, result.ProblemType);
    }

    /// <summary>
    /// Unexpected failures (500) say only that they happened and under which trace id they are logged:
    /// no exception text, stack trace or file path reaches the caller, in any environment. A 415 says what was sent.
    /// </summary>
    public static void HideInternals(ProblemDetailsContext context)
    {
        // An endpoint declaring its JSON body (Accepts, for the OpenAPI document) is not even matched by another content type:
        // routing answers 415 before the handler's own check could name what was sent.
        if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && string.IsNullOrEmpty(context.ProblemDetails.Detail))
            context.ProblemDetails.Detail = RequestReading.NotJson(context.HttpContext.Request);
        // AuthZEN answers every malformed request 400, a body that is not JSON included.
        if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && AuthZenEndpoints.Owns(context.HttpContext.Request.Path)
            && !context.HttpContext.Response.HasStarted)
        {
            context.ProblemDetails.Status = context.HttpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
            context.ProblemDetails.Title = Title(StatusCodes.Status400BadRequest);
        }
        if (context.ProblemDetails.Status is not >= 500) return;
        context.ProblemDetails.Extensions.Remove("exception");
        context.ProblemDetails.Extensions.Remove("errors");
        if (context.Exception is not null || string.IsNullOrEmpty(context.ProblemDetails.Detail))
        {
            context.ProblemDetails.Detail = $"an unexpected error occurred; it is logged under trace id {context.HttpContext.TraceIdentifier}";
        }
    }

    private static string Title(int status) => status switch
    {
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not found",
        409 => "Conflict",
        413 => "Payload too large",
        415 => "Unsupported media type",
        429 => "Too many requests",
        503 => "Service unavailable",
        _ => "Error",
    };
}

/// <summary>Turns refused input into problem responses and echoes X-Request-ID on every response.</summary>
public sealed class ApiErrorMiddleware(RequestDelegate next, ILogger<ApiErrorMiddleware> logger)
{
    public const string RequestIdHeader = "X-Request-ID";

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Headers.TryGetValue(RequestIdHeader, out var requestId) && requestId.Count > 0)
        {
            var echoed = requestId.ToString();
            context.Response.OnStarting(() =>
            {
                context.Response.Headers[RequestIdHeader] = echoed;
                return Task.CompletedTask;
            });
        }
        try
        {
            await next(context);
        }
        catch (BadRequestException ex) when (!context.Response.HasStarted)
        {
            await Problems.Create(ex.StatusCode, ex.Message, ex.Errors).ExecuteAsync(context);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            logger.LogDebug(ex, "Bad HTTP request");
            await Problems.Create(ex.StatusCode, ex.Message).ExecuteAsync(context);
        }
        catch (Exception ex) when (!context.Response.HasStarted && TransientFailures.Classify(ex, context.RequestAborted) is { } reason)
        {
            // The cluster or its storage is reachable in principle but did not answer (or was throttled): the caller may
            // retry. The message names the kind of failure only; what failed is in the log. Decision endpoints answer
            // Deny for these themselves (FailClosedDecider), so nothing a caller could read as a decision ends up here.
            logger.LogWarning(ex, "Unavailable for {Method} {Path}: {Reason}", context.Request.Method, context.Request.Path, reason);
            await Problems.Unavailable(reason).ExecuteAsync(context);
        }
    }
}
