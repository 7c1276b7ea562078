using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace RuntimeAuthz.Silo.Http;

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>, from the endpoints' typed metadata) and the interactive reference
/// (<c>/docs</c>, Scalar). Both are anonymous: they describe the API's shape, which is public (docs/http-api.md), and hold no data.
/// </summary>
public static class ApiReference
{
    public const string DocumentName = "v1";
    public const string DocumentPattern = "/openapi/{documentName}.json";
    public const string DocumentPath = "/openapi/v1.json";
    public const string DocsPath = "/docs";
    public const string BearerScheme = "bearer";

    public static IServiceCollection AddApiReference(this IServiceCollection services) => services.AddOpenApi(DocumentName, options =>
    {
        // Anonymous operations need no token: their security requirement is empty (the document's default is the bearer token).
        options.AddOperationTransformer((operation, context, _) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            var anonymous = metadata.OfType<Microsoft.AspNetCore.Authorization.IAllowAnonymous>().Any();
            if (anonymous) operation.Security = [];
            // Route handlers reach the cluster; the decisions answer Deny when it does not answer.
            AddMiddlewareProblems(operation, rateLimited: true, mayBeUnavailable: !anonymous && metadata.OfType<Security.Permission>().FirstOrDefault() != Security.Permissions.Decide);
            return Task.CompletedTask;
        });
        options.AddDocumentTransformer((document, context, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "RuntimeAuthz.Cluster HTTP API",
                Version = DocumentName,
                Description = "Runtime authorization for AI-agent fleets: AuthZEN 1.0 decisions, sessions, agents and delegation governance, "
                    + "policy versions, approvals and evidence. Every call except the anonymous ones needs a bearer token (docs/security.md).",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT",
                Description = "An access token from the configured issuer (or /dev/token on a development silo).",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] }];
            AddMiddlewareEndpoints(document, context.ApplicationServices.GetRequiredService<EndpointDataSource>());
            return Task.CompletedTask;
        });
    });

    public static void MapApiReference(this WebApplication app)
    {
        app.MapOpenApi(DocumentPattern).AllowAnonymous();
        app.MapScalarApiReference(DocsPath, options => options
            .WithTitle("RuntimeAuthz.Cluster API reference")
            .WithOpenApiRoutePattern(DocumentPattern)).AllowAnonymous();
    }

    /// <summary>
    /// Names and describes a route handler for the document: its reply type and status, and the problems it answers besides
    /// 401/403 (which <see cref="Security.Permissions.RequirePermission"/> declares).
    /// </summary>
    public static RouteHandlerBuilder Describe<TResponse>(this RouteHandlerBuilder endpoint, string name, string summary, int status = StatusCodes.Status200OK,
        params int[] problems)
    {
        endpoint.WithName(name).WithSummary(summary).Produces<TResponse>(status);
        foreach (var problem in problems) endpoint.ProducesProblem(problem);
        return endpoint;
    }

    /// <summary>The JSON body the handler reads (through <see cref="RequestReading"/>, not model binding).</summary>
    public static RouteHandlerBuilder Reads<TRequest>(this RouteHandlerBuilder endpoint, bool optional = false) where TRequest : notnull =>
        endpoint.Accepts<TRequest>(optional, "application/json");

    /// <summary>Names and describes an endpoint that is a middleware pipeline (health checks, the Prometheus scrape), not a route handler.</summary>
    public static TBuilder DescribeMiddleware<TBuilder>(this TBuilder endpoint, string name, string summary, params IProducesResponseTypeMetadata[] responses)
        where TBuilder : IEndpointConventionBuilder =>
        endpoint.WithMetadata([new EndpointNameMetadata(name), new EndpointSummaryAttribute(summary), .. responses]);

    public static IProducesResponseTypeMetadata Text(int status) => new ProducesResponseTypeMetadata(status, typeof(string), ["text/plain"]);

    public static IProducesResponseTypeMetadata Problem(int status) => new ProducesResponseTypeMetadata(status, typeof(ProblemDetails), ["application/problem+json"]);

    /// <summary>
    /// Problems answered by middleware in front of the handlers, which their own metadata does not declare: 429 from the
    /// per-caller rate limit (everything but the health probes), and 503 when the cluster or its storage did not answer
    /// (<see cref="ApiErrorMiddleware"/>; every protected operation but the decisions, which answer Deny instead). Both carry
    /// <c>Retry-After</c>. Their body schema is the one of the operation's other problem replies.
    /// </summary>
    private static void AddMiddlewareProblems(OpenApiOperation operation, bool rateLimited, bool mayBeUnavailable)
    {
        operation.Responses ??= [];
        // An operation without problem replies of its own (anonymous metadata) gets a plain object schema.
        var problem = operation.Responses.Values.FirstOrDefault(r => r.Content?.ContainsKey("application/problem+json") == true)?.Content
            ?? new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.Object } } };
        void Add(int status, string description)
        {
            var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var retryAfter = new OpenApiHeader { Description = "Seconds to wait before trying again", Schema = new OpenApiSchema { Type = JsonSchemaType.Integer } };
            // A handler's own reply of that status (what-if's time limit) keeps its description; the middleware's header is added.
            if (operation.Responses.TryGetValue(key, out var declared) && declared is OpenApiResponse own)
            {
                own.Headers ??= new Dictionary<string, IOpenApiHeader>();
                own.Headers.TryAdd("Retry-After", retryAfter);
                return;
            }
            operation.Responses[key] = new OpenApiResponse
            {
                Description = description,
                Content = problem.ToDictionary(c => c.Key, c => c.Value),
                Headers = new Dictionary<string, IOpenApiHeader> { ["Retry-After"] = retryAfter },
            };
        }
        if (rateLimited) Add(StatusCodes.Status429TooManyRequests, "Too many requests from this caller (per-caller rate limit)");
        if (mayBeUnavailable) Add(StatusCodes.Status503ServiceUnavailable, "The cluster or its storage did not answer in time; the same call may succeed later");
    }

    /// <summary>
    /// ASP.NET Core describes route handlers only; endpoints built from middleware (named through <see cref="Describe"/>) are added
    /// here from their own metadata, so the document lists every endpoint the silo serves.
    /// </summary>
    private static void AddMiddlewareEndpoints(OpenApiDocument document, EndpointDataSource endpoints)
    {
        document.Paths ??= [];
        foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<MethodInfo>() is not null || endpoint.Metadata.GetMetadata<EndpointNameMetadata>() is not { } name) continue;
            var path = "/" + (endpoint.RoutePattern.RawText ?? "").Trim('/');
            if (!document.Paths.TryGetValue(path, out var item)) document.Paths[path] = item = new OpenApiPathItem();
            var operation = new OpenApiOperation
            {
                OperationId = name.EndpointName,
                Summary = endpoint.Metadata.GetMetadata<IEndpointSummaryMetadata>()?.Summary,
                Responses = [],
            };
            foreach (var response in endpoint.Metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>())
            {
                var type = response.Type == typeof(ProblemDetails) ? "object" : "string";
                operation.Responses[response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new OpenApiResponse
                {
                    Description = Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(response.StatusCode),
                    Content = response.ContentTypes.ToDictionary(c => c, _ => new OpenApiMediaType
                    {
                        Schema = new OpenApiSchema { Type = type == "object" ? JsonSchemaType.Object : JsonSchemaType.String },
                    }),
                };
            }
            if (endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null) operation.Security = [];
            // Health probes are not rate limited; these pipelines answer from the silo itself (no 503 of the error middleware).
            AddMiddlewareProblems(operation, rateLimited: !path.StartsWith("/health", StringComparison.Ordinal), mayBeUnavailable: false);
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                (item as OpenApiPathItem)!.AddOperation(HttpMethod.Parse(method), operation);
        }
    }
}
