using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using RuntimeAuthz.Cluster.Tests.Infrastructure;

namespace RuntimeAuthz.Cluster.Tests.ApiReference;

/// <summary>
/// The OpenAPI document the silo serves, read back with Microsoft.OpenApi: valid, every operation named with its replies and
/// problem replies, a request schema wherever a body is read, and complete against both docs/http-api.md and the silo's endpoints.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class OpenApiDocumentTests(ClusterEnvironment env)
{
    /// <summary>Endpoints that are not API operations: the document itself, the reference UI and its assets.</summary>
    /// <summary>Served files, not operations: the document itself, its reader, and the web console's pages.</summary>
    private static readonly string[] UndocumentedPrefixes = ["/openapi/", RuntimeAuthz.Silo.Http.ApiReference.DocsPath, RuntimeAuthz.Silo.WebConsole.ConsoleEndpoints.BasePath + "/{"];

    private static readonly HttpMethod[] BodyMethods = [HttpMethod.Post, HttpMethod.Put, HttpMethod.Patch];

    private async Task<(RunningHost Host, OpenApiDocument Document)> ReadDocumentAsync()
    {
        var host = await env.GetSharedHostAsync();
        // Anonymous: the document describes the API's shape and holds no data.
        using var reply = await host.ClientWith(null).GetAsync(RuntimeAuthz.Silo.Http.ApiReference.DocumentPath);
        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        var read = OpenApiDocument.Parse(await reply.Content.ReadAsStringAsync(), "json");
        Assert.True(read.Diagnostic is null || read.Diagnostic.Errors.Count == 0,
            "the document parses without errors: " + string.Join("; ", read.Diagnostic?.Errors.Select(e => $"{e.Pointer}: {e.Message}") ?? []));
        Assert.NotNull(read.Document);
        return (host, read.Document!);
    }

    private static IEnumerable<(string Path, HttpMethod Method, OpenApiOperation Operation)> Operations(OpenApiDocument document) =>
        document.Paths.SelectMany(p => (p.Value.Operations ?? []).Select(o => (p.Key, o.Key, o.Value)));

    [Fact]
    public async Task Every_operation_is_named_and_has_replies_problems_and_request_schemas()
    {
        var (_, document) = await ReadDocumentAsync();
        var operations = Operations(document).ToArray();
        Assert.True(operations.Length >= 50, $"only {operations.Length} operations");
        Assert.Contains(document.Components!.SecuritySchemes!, s => s.Key == RuntimeAuthz.Silo.Http.ApiReference.BearerScheme);
        var names = operations.Select(o => o.Operation.OperationId).ToArray();
        Assert.All(names, n => Assert.False(string.IsNullOrWhiteSpace(n)));
        Assert.Equal(names.Length, names.Distinct().Count());

        var failures = new List<string>();
        foreach (var (path, method, operation) in operations)
        {
            var at = $"{method} {path} ({operation.OperationId})";
            var responses = operation.Responses ?? [];
            if (!responses.Any(r => r.Key.StartsWith('2') && r.Value.Content?.Values.Any(c => c.Schema is not null) == true))
                failures.Add($"{at}: no success reply with a schema");
            var problems = responses.Where(r => r.Key.StartsWith('4')).ToArray();
            // Only an anonymous read without parameters (the AuthZEN metadata, the health probes) has no way to fail the caller.
            var anonymousRead = operation.Security is { Count: 0 } && method == HttpMethod.Get && !path.Contains('{');
            if (problems.Length == 0 && !anonymousRead) failures.Add($"{at}: no 4xx reply");
            foreach (var (status, problem) in problems)
            {
                if (problem.Content?.TryGetValue("application/problem+json", out var media) != true || media!.Schema is null)
                    failures.Add($"{at}: {status} is not an application/problem+json schema");
            }
            if (BodyMethods.Contains(method) && operation.RequestBody?.Content?.TryGetValue("application/json", out var body) != true)
                failures.Add($"{at}: reads a body but declares no application/json request");
            else if (operation.RequestBody?.Content?["application/json"].Schema is null && BodyMethods.Contains(method))
                failures.Add($"{at}: request body without a schema");
            if (path.StartsWith("/v1/", StringComparison.Ordinal) && !responses.ContainsKey("401"))
                failures.Add($"{at}: a protected operation without its 401");
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));

        // The body schemas are the JSON the endpoints read (spot checks of request and reply schemas).
        var open = document.Paths["/v1/sessions"].Operations![HttpMethod.Post];
        var openSchema = Resolve(document, open.RequestBody!.Content!["application/json"].Schema!);
        Assert.Contains("agentId", openSchema.Properties!.Keys);
        Assert.Contains("lifetimeSeconds", openSchema.Properties!.Keys);
        var decide = document.Paths["/v1/sessions/{id}/decisions"].Operations![HttpMethod.Post];
        Assert.Contains("resource", Resolve(document, decide.RequestBody!.Content!["application/json"].Schema!).Properties!.Keys);
        Assert.Contains("cumulativeRisk", Resolve(document, decide.Responses!["200"].Content!["application/json"].Schema!).Properties!.Keys);
        var evaluation = document.Paths["/access/v1/evaluation"].Operations![HttpMethod.Post];
        Assert.Contains("subject", Resolve(document, evaluation.RequestBody!.Content!["application/json"].Schema!).Properties!.Keys);
        Assert.Contains("decision", Resolve(document, evaluation.Responses!["200"].Content!["application/json"].Schema!).Properties!.Keys);
    }

    [Fact]
    public async Task Retryable_problems_are_declared_where_the_middleware_answers_them()
    {
        var (_, document) = await ReadDocumentAsync();
        string[] decisions = ["POST /access/v1/evaluation", "POST /access/v1/evaluations", "POST /v1/sessions/{id}/decisions"];
        var failures = new List<string>();
        foreach (var (path, method, operation) in Operations(document))
        {
            var at = $"{method} {path}";
            var responses = operation.Responses ?? [];
            // The health probes and the metrics scrape are middleware answering from the silo itself; health is not rate limited.
            var health = path.StartsWith("/health", StringComparison.Ordinal);
            var fromSilo = health || path == RuntimeAuthz.Silo.Telemetry.SiloTelemetry.ScrapePath;
            // Storage and cluster failures: 503 with Retry-After on every protected operation except the decisions, which answer Deny.
            var protectedOperation = operation.Security is not { Count: 0 };
            var wants503 = !fromSilo && protectedOperation && !decisions.Contains(at);
            if (!health && wants503 != responses.ContainsKey("503")) failures.Add($"{at}: 503 {(wants503 ? "missing" : "declared, but it answers Deny instead")}");
            if (!health && !responses.ContainsKey("429")) failures.Add($"{at}: 429 missing (the per-caller rate limit)");
            if (health && responses.ContainsKey("429")) failures.Add($"{at}: 429 declared, but health probes are not rate limited");
            foreach (var status in new[] { "429", "503" })
            {
                if (health) continue; // its 503 is the probe's own "not ready" text
                if (!responses.TryGetValue(status, out var reply)) continue;
                if (reply.Headers?.ContainsKey("Retry-After") != true) failures.Add($"{at}: {status} without its Retry-After header");
                if (reply.Content?.TryGetValue("application/problem+json", out var media) != true || media!.Schema is null)
                    failures.Add($"{at}: {status} is not an application/problem+json schema");
            }
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.True(document.Paths["/v1/sessions"].Operations![HttpMethod.Post].Responses!.ContainsKey("503"));
        Assert.False(document.Paths["/access/v1/evaluation"].Operations![HttpMethod.Post].Responses!.ContainsKey("503"));
    }

    private static IOpenApiSchema Resolve(OpenApiDocument document, IOpenApiSchema schema) =>
        schema is OpenApiSchemaReference reference ? document.Components!.Schemas![reference.Reference.Id!] : schema;

    [Fact]
    public async Task Every_endpoint_in_docs_http_api_md_is_in_the_document()
    {
        var (_, document) = await ReadDocumentAsync();
        var documented = Operations(document).Select(o => $"{o.Method.Method} {o.Path}").ToHashSet();
        var listed = HttpApiMarkdownEndpoints();
        Assert.True(listed.Count >= 50, $"only {listed.Count} endpoints found in docs/http-api.md");
        // The reference's own pages and the dashboard are listed there too, and are no API operations.
        string[] notOperations = [.. UndocumentedPrefixes, RuntimeAuthz.Silo.Telemetry.DashboardSettings.Path];
        var missing = listed.Where(e => !documented.Contains(e) && !notOperations.Any(p => e.Split(' ')[1].StartsWith(p, StringComparison.Ordinal))).ToArray();
        Assert.True(missing.Length == 0, "in docs/http-api.md but not in the OpenAPI document:\n" + string.Join('\n', missing));
        Assert.Contains($"GET {RuntimeAuthz.Silo.Telemetry.SiloTelemetry.ScrapePath}", listed);
    }

    [Fact]
    public async Task Every_endpoint_the_silo_serves_is_in_the_document()
    {
        var (host, document) = await ReadDocumentAsync();
        var documented = Operations(document).Select(o => $"{o.Method.Method} {o.Path}").ToHashSet();
        var missing = new List<string>();
        var excluded = new List<string>();
        foreach (var endpoint in host.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var path = "/" + (endpoint.RoutePattern.RawText ?? "").Trim('/');
            if (UndocumentedPrefixes.Any(p => path.StartsWith(p, StringComparison.Ordinal)))
            {
                excluded.Add(path);
                continue;
            }
            Assert.Null(endpoint.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is { ExcludeFromDescription: true } ? path : null);
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                if (!documented.Contains($"{method} {path}")) missing.Add($"{method} {path}");
        }
        Assert.True(missing.Count == 0, "served but not in the OpenAPI document:\n" + string.Join('\n', missing));
        Assert.Contains(RuntimeAuthz.Silo.Http.ApiReference.DocumentPattern, excluded);
        Assert.Contains(excluded, p => p.StartsWith(RuntimeAuthz.Silo.Http.ApiReference.DocsPath, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_interactive_reference_is_served_at_docs_without_a_token()
    {
        var host = await env.GetSharedHostAsync();
        var anonymous = host.ClientWith(null);
        using var page = await anonymous.GetAsync(RuntimeAuthz.Silo.Http.ApiReference.DocsPath + "/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("\"url\":\"openapi/v1.json\"", html, StringComparison.Ordinal);
        // Its script is served by the silo itself (no CDN needed).
        var script = ScriptSource().Matches(html).Select(m => m.Groups[1].Value).FirstOrDefault(s => s.Contains("scalar", StringComparison.OrdinalIgnoreCase));
        Assert.NotNull(script);
        Assert.False(Uri.TryCreate(script, UriKind.Absolute, out var absolute) && absolute.Host != host.BaseAddress.Host, $"script from {script}");
        using var js = await anonymous.GetAsync(new Uri(new Uri(host.BaseAddress, RuntimeAuthz.Silo.Http.ApiReference.DocsPath + "/"), script));
        Assert.Equal(HttpStatusCode.OK, js.StatusCode);
        // A document that does not exist is a 404, not an error.
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/openapi/v2.json")).StatusCode);
    }

    /// <summary>
    /// Every <c>`METHOD /path`</c> in docs/http-api.md (query strings dropped), with the shorthand siblings of a table cell
    /// (<c>`POST /v1/fleets/{fleet}/suspend`, `/reactivate`</c> and <c>`GET .../suspension`</c>) expanded.
    /// </summary>
    private static IReadOnlyCollection<string> HttpApiMarkdownEndpoints()
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(RepoPaths.Root, "docs", "http-api.md")))
        {
            var cell = line.StartsWith('|') ? line.Split('|')[1] : line;
            string? parent = null;
            string? method = null;
            foreach (Match code in InlineCode().Matches(cell))
            {
                var text = code.Groups[1].Value;
                if (MethodAndPath().Match(text) is { Success: true } full)
                {
                    method = full.Groups[1].Value;
                    var path = full.Groups[2].Value;
                    if (path.StartsWith("...", StringComparison.Ordinal) && parent is not null) path = parent + path[3..];
                    // A wildcard (`GET /health/*`) names a family, not an endpoint.
                    if (path.Contains('*')) continue;
                    found.Add($"{method} {path}");
                    parent ??= path[..path.LastIndexOf('/')];
                }
                else if (line.StartsWith('|') && method is not null && parent is not null && SiblingSegment().IsMatch(text))
                {
                    found.Add($"{method} {parent}{text}");
                }
            }
            foreach (Match more in MethodAndPath().Matches(line.StartsWith('|') ? "" : line))
                found.Add($"{more.Groups[1].Value} {more.Groups[2].Value}");
        }
        return found;
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"^(GET|POST|PUT|PATCH|DELETE) ((?:/|\.\.\.)[^\s?`]*)")]
    private static partial Regex MethodAndPath();

    [GeneratedRegex(@"^/[a-z-]+$")]
    private static partial Regex SiblingSegment();

    [GeneratedRegex("""<script[^>]*\ssrc="([^"]+)"[^>]*>""")]
    private static partial Regex ScriptSource();
}
