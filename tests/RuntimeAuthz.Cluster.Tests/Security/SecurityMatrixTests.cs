using System.Net;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Cluster.Tests.Security;

/// <summary>
/// docs/security.md's permission matrix against the code (the endpoints' declared permissions and the permission
/// table), and against the running silo: every row called with every kind of token.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SecurityMatrixTests(ClusterEnvironment env)
{
    private const string Agent = "matrix-agent";
    private const string Anonymous = "anonymous";

    private sealed record Row(string Method, string Path, string Permission, IReadOnlyDictionary<string, string> Cells)
    {
        public string Endpoint => $"{Method} {Path}";
    }

    private static IReadOnlyList<Row> DocumentedRows()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.Root, "docs", "security.md"));
        var header = Array.FindIndex(lines, l => l.StartsWith("| Endpoint | Permission |", StringComparison.Ordinal));
        Assert.True(header >= 0, "docs/security.md has the permission matrix (a table starting '| Endpoint | Permission |')");
        var columns = Cells(lines[header]);
        Assert.Equal(["Endpoint", "Permission", .. Roles.All], columns);
        var rows = new List<Row>();
        foreach (var line in lines.Skip(header + 2).TakeWhile(l => l.StartsWith('|')))
        {
            var cells = Cells(line);
            var endpoint = cells[0].Trim('`').Split(' ', 2);
            rows.Add(new Row(endpoint[0], endpoint[1], cells[1],
                Roles.All.Select((role, i) => (role, cells[i + 2])).ToDictionary(c => c.role, c => c.Item2)));
        }
        Assert.Equal(rows.Count, rows.Select(r => r.Endpoint).Distinct().Count());
        return rows;

        static string[] Cells(string line) => line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray();
    }

    /// <summary>The matrix the code enforces: each endpoint's permission (or anonymity) and the roles holding it.</summary>
    private static IReadOnlyList<Row> CodeRows(IServiceProvider services)
    {
        var rows = new List<Row>();
        foreach (var endpoint in services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var path = "/" + (endpoint.RoutePattern.RawText ?? "").Trim('/');
            var methods = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            var permission = endpoint.Metadata.GetMetadata<Permission>();
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            Assert.True(anonymous ^ (permission is not null), $"{path} declares exactly one of a permission or anonymous access");
            // Which roles are agent-bound for this permission is the "own" of the doc.
            var cells = Roles.All.ToDictionary(r => r, r => anonymous ? "yes"
                : !permission!.Roles.Contains(r) ? "no"
                : Roles.IsAgentBound(r) ? "own" : "yes");
            rows.AddRange(methods.Select(m => new Row(m, path, anonymous ? Anonymous : permission!.Name, cells)));
        }
        return rows;
    }

    private static string Render(Row row) =>
        $"| `{row.Endpoint}` | {row.Permission} | {string.Join(" | ", Roles.All.Select(r => row.Cells[r]))} |";

    [Fact]
    public async Task The_documented_matrix_is_the_code_table()
    {
        var host = await MatrixHostAsync();
        var documented = DocumentedRows().Select(Render).ToHashSet();
        var code = CodeRows(host.App.Services).Select(Render).ToArray();

        var missing = code.Where(r => !documented.Contains(r)).ToArray();
        var extra = documented.Where(r => !code.Contains(r)).ToArray();
        Assert.True(missing.Length == 0 && extra.Length == 0,
            $"docs/security.md's matrix differs from the code.\nRows the code has and the doc lacks:\n{string.Join('\n', missing)}\nDoc rows the code lacks:\n{string.Join('\n', extra)}");
    }

    [Fact]
    public async Task Every_documented_cell_holds_for_every_kind_of_token()
    {
        var host = await MatrixHostAsync();
        var session = await OpenSessionAsync(host.Http);
        var expired = TestTokens.Mint("expired-admin", [Roles.Admin], issuedAt: DateTimeOffset.UtcNow.AddHours(-3), lifetime: TimeSpan.FromHours(1));
        var otherIssuer = TestTokens.Mint("other-admin", [Roles.Admin], issuer: TestTokens.OtherIssuer, otherKey: true);
        var wrongAudience = TestTokens.Mint("audience-admin", [Roles.Admin], audience: "some-other-api");
        var cases = new List<(string Name, HttpClient Client, Func<Row, string> Expected)>
        {
            ("no token", host.ClientWith(null), Unauthenticated), ("expired", host.ClientWith(expired), Unauthenticated),
            ("other issuer", host.ClientWith(otherIssuer), Unauthenticated), ("wrong audience", host.ClientWith(wrongAudience), Unauthenticated),
        };
        foreach (var role in Roles.All)
        {
            var token = role switch
            {
                Roles.Agent => TestTokens.ForAgent(Agent),
                Roles.Pep => TestTokens.ForPep("matrix-gateway", Agent),
                _ => TestTokens.ForRole(role),
            };
            cases.Add((role, host.ClientWith(token), row => row.Cells[role] == "no" ? "403" : "allowed"));
        }

        var mismatches = new List<string>();
        var cells = 0;
        foreach (var row in DocumentedRows())
        {
            foreach (var (name, client, expected) in cases)
            {
                // Session search: agent-bound tokens must name the agent they act for.
                var query = row is { Method: "GET", Path: "/v1/sessions" } ? "?agent=" + Agent : "";
                var reply = await client.SendAsync(new HttpMethod(row.Method), Concrete(row.Path, session) + query, BodyFor(row, session));
                var actual = reply.Status switch { HttpStatusCode.Unauthorized => "401", HttpStatusCode.Forbidden => "403", _ => "allowed" };
                cells++;
                if (actual != expected(row)) mismatches.Add($"{row.Endpoint} with {name}: expected {expected(row)}, got {(int)reply.Status} {reply.Body?.ToJsonString()}");
                if (actual is "401" or "403") Assert.Equal("application/problem+json", reply.ContentType);
                if (actual == "401") Assert.StartsWith("Bearer", reply.Response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {cells} cells differ from docs/security.md:\n{string.Join('\n', mismatches)}");
        Assert.True(cells >= 40 * 11, $"only {cells} cells exercised");

        static string Unauthenticated(Row row) => row.Permission == Anonymous ? "allowed" : "401";
    }

    /// <summary>A silo of its own (it publishes, suspends and revokes), in Development with the development issuer on as well.</summary>
    private async Task<RunningHost> MatrixHostAsync()
    {
        var id = "matrix-" + Guid.NewGuid().ToString("N")[..10];
        var host = await env.StartHostAsync(
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Development",
            $"--Storage:ConnectionString={env.Azurite.ConnectionString}",
            $"--Orleans:ServiceId={id}", $"--Orleans:ClusterId={id}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}",
            $"--{CallerAuthenticationOptions.DevelopmentIssuerKey}=true",
        ]);
        var registered = await host.Http.PostJsonAsync("/v1/agents", $$"""{"id":"{{Agent}}","name":"Matrix","owner":"matrix-owner","fleet":"matrix-fleet"}""");
        Assert.Equal(HttpStatusCode.Created, registered.Status);
        return host;
    }

    private static async Task<string> OpenSessionAsync(HttpClient admin)
    {
        var reply = await admin.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{Agent}}"}""");
        Assert.Equal(HttpStatusCode.Created, reply.Status);
        return reply.Json["id"]!.GetValue<string>();
    }

    private static string Concrete(string path, string session)
    {
        var concrete = new StringBuilder(path.StartsWith("/v1/sessions/{id}", StringComparison.Ordinal) || path.StartsWith("/v1/evidence/sessions/{id}", StringComparison.Ordinal)
            ? path.Replace("{id}", session, StringComparison.Ordinal)
            : path.Replace("{id}", Agent, StringComparison.Ordinal));
        concrete.Replace("{grantId}", "no-such-grant").Replace("{delegationId}", "no-such-grant").Replace("{version}", "1")
            .Replace("{fleet}", "matrix-fleet").Replace("{key}", "env").Replace("{value}", "matrix");
        return concrete.ToString();
    }

    /// <summary>A body the endpoint accepts (or refuses with a 4xx other than 401/403): the matrix is about who, not what.</summary>
    private static string? BodyFor(Row row, string session)
    {
        var evaluation = $$$"""{"subject":{"type":"agent","id":"{{{Agent}}}"},"action":{"name":"read_file"},"resource":{"type":"Document","id":"d"},"context":{"session_id":"{{{session}}}"}}""";
        const string grant = """{"actions":["read_file"],"resources":["Document::*"],"expiresAt":"2099-01-01T00:00:00Z"}""";
        const string reason = """{"reason":"matrix"}""";
        if (row.Method is "GET" or "DELETE") return null;
        return row.Path switch
        {
            "/dev/token" => """{"roles":["auditor"]}""",
            "/access/v1/evaluation" => evaluation,
            "/access/v1/evaluations" => $$"""{"evaluations":[{{evaluation}}]}""",
            "/v1/agents" => $$"""{"id":"matrix-{{Guid.NewGuid():N}}","name":"n","owner":"o","fleet":"f"}""",
            "/v1/agents/{id}/status" => """{"status":"suspended","reason":"matrix"}""",
            "/v1/agents/{id}/delegations" or "/v1/agents/{id}/grants" => grant,
            "/v1/delegators/revoke" => """{"principal":"nobody","reason":"matrix"}""",
            "/v1/sessions/{id}/elevations" => """{"actions":["read_file"],"resources":["Document::*"],"durationSeconds":60}""",
            "/v1/policies" => """{"policies":"permit (principal, action, resource);"}""",
            "/v1/policies/rollback" => """{"version":1}""",
            "/v1/sessions" => $$"""{"agentId":"{{Agent}}"}""",
            "/v1/sessions/{id}/close" => "{}",
            "/v1/sessions/{id}/decisions" => """{"action":"read_file","resource":{"type":"Document","id":"d"}}""",
            "/v1/sessions/{id}/outcomes" => $$"""{"decisionId":"{{Guid.NewGuid()}}","kind":"response"}""",
            _ => reason,
        };
    }
}
