using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RuntimeAuthz.Cluster.Tests.Hardening;

/// <summary>
/// A bounded, seeded HTTP fuzzer over every endpoint the silo maps (read from its endpoint data source, so a new
/// endpoint is fuzzed without editing this test): mutated paths, queries, headers and bodies. No answer may be a 500
/// (or any 5xx but an honest 503), the silo must stay up, and a request slower than 2 s is reported and fails the run
/// only when it is slow again on replay. Replay a run with AUTHZ_FUZZ_SEED=&lt;the seed printed&gt;.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class HttpFuzzTests(ClusterEnvironment env, ITestOutputHelper output)
{
    private const int Requests = 3_200;
    private const int Parallelism = 6;
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(2);

    private sealed record Target(string Method, string Template, IReadOnlyList<string> Parameters);

    private sealed record FuzzRequest(int Index, string Method, string Path, string? ContentType, byte[]? Body, string? Caller, IReadOnlyList<(string Name, string Value)> Headers)
    {
        public override string ToString() =>
            $"#{Index} {Method} {Path} caller={Caller ?? "none"} type={ContentType ?? "none"} body={(Body is null ? "none" : Shorten(Encoding.UTF8.GetString(Body)))}";

        private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + $"... ({text.Length} chars)";
    }

    [Fact]
    public async Task Thousands_of_mutated_requests_over_every_endpoint_get_no_500_and_the_silo_stays_up()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("AUTHZ_FUZZ_SEED"), CultureInfo.InvariantCulture, out var given) ? given : Random.Shared.Next();
        output.WriteLine($"HTTP fuzz seed {seed} (replay: AUTHZ_FUZZ_SEED={seed})");
        var host = await env.StartHostAsync(
            env.HostArgs("fuzz-" + Guid.NewGuid().ToString("N")[..8], "Production",
                "--Seed:Example=true", $"--Seed:Directory={RepoPaths.Examples}", "--RateLimiting:PermitLimit=1000000"));
        var targets = Targets(host);
        Assert.True(targets.Count >= 30, $"only {targets.Count} endpoints found");
        var clients = new Dictionary<string, HttpClient>
        {
            ["admin"] = host.Http,
            ["agent"] = host.AsAgent("demo-agent"),
            ["auditor"] = host.As(RuntimeAuthz.Silo.Security.Roles.Auditor),
            ["anonymous"] = host.ClientWith(null),
            ["garbage-token"] = host.ClientWith("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
        };
        var session = (await host.Http.PostJsonAsync("/v1/sessions", """{"agentId":"demo-agent"}""")).Json["id"]!.GetValue<string>();

        var failures = new ConcurrentBag<string>();
        var slow = new ConcurrentBag<FuzzRequest>();
        var statuses = new ConcurrentDictionary<int, int>();
        var covered = new ConcurrentDictionary<string, int>();
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Requests), new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (i, ct) =>
        {
            var request = Generate(new Random(HashCode.Combine(seed, i)), i, targets, session);
            HttpStatusCode status;
            TimeSpan elapsed;
            try
            {
                (status, elapsed) = await SendAsync(clients, request);
            }
            catch (HttpRequestException ex)
            {
                // A connection closed without an answer: the server failed on this request.
                failures.Add($"no answer ({ex.Message}) for {request}");
                return;
            }
            statuses.AddOrUpdate((int)status, 1, (_, n) => n + 1);
            covered.AddOrUpdate(request.Method + " " + targets[i % targets.Count].Template, 1, (_, n) => n + 1);
            if ((int)status >= 500 && status != HttpStatusCode.ServiceUnavailable) failures.Add($"{(int)status} for {request}");
            if (elapsed > Slow) slow.Add(request);
        });
        watch.Stop();

        // A slow answer on a loaded machine is reported; it fails the run only when its replay is slow too.
        var repeatedSlow = new List<string>();
        foreach (var request in slow)
        {
            var (_, again) = await SendAsync(clients, request);
            output.WriteLine($"slow ({Slow.TotalSeconds:0} s+): {request}; replay took {again.TotalMilliseconds:0} ms");
            if (again > Slow) repeatedSlow.Add($"{again.TotalMilliseconds:0} ms again for {request}");
        }
        var live = await host.ClientWith(null).GetAsync("/health/live");
        output.WriteLine($"{Requests} requests over {covered.Count} method/endpoint pairs of {targets.Count} endpoints in {watch.Elapsed.TotalSeconds:0.0} s; " +
            $"statuses: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))}; slow: {slow.Count}, slow again: {repeatedSlow.Count}");

        Assert.True(failures.IsEmpty, $"seed {seed}: {failures.Count} server errors:\n{string.Join('\n', failures.Take(20))}");
        Assert.True(repeatedSlow.Count == 0, $"seed {seed}: slow on replay:\n{string.Join('\n', repeatedSlow)}");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    /// <summary>Every route the silo maps, with its methods (one target per method).</summary>
    private static List<Target> Targets(RunningHost host) =>
        host.App.Services.GetServices<EndpointDataSource>()
            .SelectMany(source => source.Endpoints)
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => new Target(m, "/" + e.RoutePattern.RawText!.TrimStart('/'), e.RoutePattern.Parameters.Select(p => p.Name).ToArray())))
            .DistinctBy(t => t.Method + " " + t.Template)
            .OrderBy(t => t.Template, StringComparer.Ordinal).ThenBy(t => t.Method, StringComparer.Ordinal)
            .ToList();

    private static async Task<(HttpStatusCode Status, TimeSpan Elapsed)> SendAsync(Dictionary<string, HttpClient> clients, FuzzRequest request)
    {
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Path);
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            if (request.ContentType is not null) message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
        }
        foreach (var (name, value) in request.Headers) message.Headers.TryAddWithoutValidation(name, value);
        var watch = Stopwatch.StartNew();
        using var response = await clients[request.Caller ?? "anonymous"].SendAsync(message);
        await response.Content.ReadAsByteArrayAsync();
        return (response.StatusCode, watch.Elapsed);
    }

    // ---- generation: everything from one Random, so a request is reproduced from (seed, index) ----

    private static readonly string[] Callers = ["admin", "admin", "admin", "admin", "agent", "auditor", "anonymous", "garbage-token"];

    private static readonly string[] HostileText =
    [
        "\ud800", "x\udfff", "\u0000", "\u001b[2J", "../../etc/passwd", "' OR 1=1 --", "${jndi:ldap://x}", "<script>", "%00", "😀", "\u202e", "Document::*",
        "*/*/*/*/*/*/*/*/*.pdf", new string('*', 300), new string('a', 5000), "", " ", "null", "-1", "9223372036854775808", "2099-01-01T00:00:00", "NaN",
    ];

    private static readonly string[] HeaderText = [.. HostileText.Where(t => t.All(c => c is >= ' ' and <= '~'))];

    private static readonly string[] Keys =
    [
        "id", "name", "owner", "fleet", "labels", "agentId", "action", "resource", "type", "properties", "context", "input", "subject", "session_id",
        "tool_input", "approval_id", "approvalId", "decisionId", "kind", "output", "error", "reason", "actions", "resources", "expiresAt", "notBefore",
        "purpose", "condition", "delegatorAgentId", "parentGrantId", "durationSeconds", "policies", "schema", "note", "version", "evaluations", "options",
        "evaluations_semantic", "agent", "principal", "status", "lifetimeSeconds", "idleTimeoutSeconds", "limit", "continuation", "from", "to", "comment",
    ];

    private static readonly string[] PathValues = ["demo-agent", "research", "env", "dev", "team", "1", "0", "-1", "latest"];

    private static FuzzRequest Generate(Random random, int index, List<Target> targets, string session)
    {
        var target = targets[index % targets.Count];
        var path = new StringBuilder();
        foreach (var segment in target.Template.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            path.Append('/');
            if (segment.StartsWith('{')) path.Append(PathValue(random, session));
            else path.Append(random.Next(40) == 0 ? Escape(Pick(random, HostileText)) : segment);
        }
        if (random.Next(3) == 0) path.Append('?').Append(Query(random));
        var caller = Pick(random, Callers);
        var headers = new List<(string, string)>();
        // Header values stay printable ASCII: the client refuses anything else before it reaches the server.
        if (random.Next(4) == 0) headers.Add(("X-Request-ID", random.Next(2) == 0 ? new string('r', random.Next(1, 9000)) : Pick(random, HeaderText)));
        if (random.Next(6) == 0) headers.Add(("Accept", Pick(random, new[] { "application/xml", "*/*", "text/html;q=0.1", "application/json;q=x" })));
        if (random.Next(10) == 0) headers.Add(("If-None-Match", Pick(random, HeaderText)));
        var (contentType, body) = target.Method is "GET" or "HEAD" && random.Next(8) != 0 ? ((string?)null, (byte[]?)null) : Body(random, session);
        return new FuzzRequest(index, target.Method, path.ToString(), contentType, body, caller, headers);
    }

    private static string PathValue(Random random, string session) => random.Next(10) switch
    {
        < 4 => Pick(random, PathValues),
        < 6 => session,
        < 7 => RandomGuid(random).ToString("N"),
        < 8 => "%ED%A0%80x", // an encoded lone surrogate
        < 9 => "%FF%FE",     // invalid UTF-8
        _ => Escape(Pick(random, HostileText)),
    };

    /// <summary>
    /// Percent-encoded UTF-8; a lone surrogate (which has no UTF-8) as the bytes a careless encoder would send; an empty
    /// value as a space (an empty first segment would make the path "//host/..." and leave the silo).
    /// </summary>
    private static string Escape(string text) => text.Length == 0 ? "%20" : text.Any(char.IsSurrogate) && !text.Contains("😀", StringComparison.Ordinal) ? "%ED%A0%80" : Uri.EscapeDataString(text);

    private static string Query(Random random)
    {
        var parts = new List<string>();
        for (var i = random.Next(1, 4); i > 0; i--)
        {
            var key = Pick(random, new[] { "limit", "continuation", "from", "to", "status", "agent", "fleet", "verify", "format", "x" });
            var value = random.Next(3) switch { 0 => random.Next(-5, 100_000).ToString(CultureInfo.InvariantCulture), 1 => "%ZZ%FF", _ => Escape(Pick(random, HostileText)) };
            parts.Add($"{key}={value}");
        }
        return string.Join('&', parts);
    }

    private static (string? ContentType, byte[]? Body) Body(Random random, string session)
    {
        var contentType = random.Next(12) switch
        {
            0 => "text/plain",
            1 => "application/x-www-form-urlencoded",
            2 => null,
            3 => "application/json; charset=utf-16",
            _ => "application/json",
        };
        var kind = random.Next(12);
        if (kind == 0) return (contentType, []);
        if (kind == 1)
        {
            var bytes = new byte[random.Next(1, 64)];
            random.NextBytes(bytes);
            return (contentType, bytes);
        }
        var json = Encoding.UTF8.GetBytes(JsonValue(random, depth: 0, session, preferObject: true));
        if (kind == 2 && json.Length > 2)
        {
            // Invalid UTF-8 spliced into the text (usually inside a string).
            var at = random.Next(1, json.Length - 1);
            json = [.. json[..at], .. new byte[] { 0xC3, 0x28, 0xFF }, .. json[at..]];
        }
        if (kind == 3 && json.Length > 2) json = json[..random.Next(1, json.Length)];
        return (contentType, json);
    }

    private static string JsonValue(Random random, int depth, string session, bool preferObject = false)
    {
        if (preferObject || (depth < 4 && random.Next(3) == 0))
        {
            var members = new List<string>();
            for (var i = random.Next(0, 7); i > 0; i--)
            {
                var key = random.Next(12) == 0 ? Pick(random, HostileText) : Pick(random, Keys);
                members.Add($"{Quote(key, random)}:{JsonValue(random, depth + 1, session)}");
            }
            if (random.Next(8) == 0 && members.Count > 0) members.Add(members[0]); // a duplicate key
            return "{" + string.Join(',', members) + "}";
        }
        if (depth < 4 && random.Next(5) == 0)
            return "[" + string.Join(',', Enumerable.Range(0, random.Next(0, 5)).Select(_ => JsonValue(random, depth + 1, session))) + "]";
        return random.Next(14) switch
        {
            0 => "null",
            1 => random.Next(2) == 0 ? "true" : "false",
            2 => random.Next(-10, 100_000).ToString(CultureInfo.InvariantCulture),
            3 => Pick(random, new[] { "1e400", "-0", "123456789012345678901234567890", "1.5", "9223372036854775807", "-9223372036854775809", "0.000001" }),
            4 => new string('[', 70) + new string(']', 70),
            5 => Quote(session, random),
            6 => Quote("demo-agent", random),
            7 => Quote(Pick(random, new[] { "agent", "Document", "read_file", "search_web", "Document::*", "request", "response", "research" }), random),
            8 => Quote(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero).AddHours(random.Next(-72, 24 * 400)).ToString("O", CultureInfo.InvariantCulture), random),
            9 => Quote(RandomGuid(random).ToString(), random),
            _ => Quote(Pick(random, HostileText), random),
        };
    }

    /// <summary>A JSON string literal; sometimes with every character escaped as \uXXXX (lone surrogates stay lone).</summary>
    private static string Quote(string text, Random random)
    {
        if (random.Next(4) != 0 && !text.Any(char.IsSurrogate)) return System.Text.Json.JsonSerializer.Serialize(text);
        return "\"" + string.Concat(text.Select(c => c is '"' or '\\' || c < ' ' || char.IsSurrogate(c) || random.Next(3) == 0 ? $"\\u{(int)c:x4}" : c.ToString())) + "\"";
    }

    private static Guid RandomGuid(Random random)
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes);
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
