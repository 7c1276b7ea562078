using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.McpGateway;

/// <summary>
/// Seeds the cluster's action catalog from the tool annotations of the servers marked <c>Trusted</c>: each tool's action
/// becomes <c>{"source": "mcp:&lt;server&gt;", "annotations": {readOnlyHint, destructiveHint, ...}}</c> and the server is listed
/// in <c>trustedServers</c>; the cluster turns the hints into reversibility and category (read-only: reversible, read;
/// destructive by default: irreversible). Entries the catalog already has from its own file are left alone, and
/// annotations of untrusted servers are never used (a server could otherwise declare its own tools harmless).
/// </summary>
public sealed class TrustedAnnotations(IOptions<GatewayOptions> options, DownstreamServers servers, IHttpClientFactory http, ILogger<TrustedAnnotations> logger)
    : IHostedService
{
    private static readonly string[] Hints = ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var trusted = options.Value.Servers.Where(s => s.Value.Trusted).Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
        if (trusted.Count == 0) return;
        if (options.Value.Cluster.CatalogTokenFile is not { } tokenFile)
        {
            logger.LogWarning("Servers {Servers} are trusted but Gateway:Cluster:CatalogTokenFile is not set: their annotations are not published to the catalog", string.Join(", ", trusted));
            return;
        }
        try
        {
            using var client = new AuthzClient(http.CreateClient(GatewayHost.ClusterHttpClient), new StaticTokenSource((await File.ReadAllTextAsync(tokenFile, cancellationToken)).Trim()));
            var current = await client.GetCatalogAsync(cancellationToken);
            var catalog = Merge(current.Catalog, servers.Tools.Values.Where(t => trusted.Contains(t.Server)), trusted, out var added);
            if (added == 0) return;
            await client.PublishCatalogAsync(new PublishCatalogRequest(JsonSerializer.SerializeToElement(catalog),
                $"MCP gateway: annotations of trusted servers {string.Join(", ", trusted.Order(StringComparer.Ordinal))}"), cancellationToken);
            logger.LogInformation("Published {Count} catalog entries from the annotations of trusted servers", added);
        }
        catch (AuthzException exception)
        {
            // Not fatal: an action the catalog does not know counts as irreversible, the stricter reading.
            logger.LogWarning(exception, "Could not publish the trusted servers' annotations to the catalog");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal static JsonObject Merge(JsonElement? existing, IEnumerable<GatewayTool> tools, IReadOnlySet<string> trusted, out int changed)
    {
        var catalog = existing is { ValueKind: JsonValueKind.Object } current ? (JsonObject)JsonNode.Parse(current.GetRawText())! : [];
        var servers = catalog["trustedServers"] as JsonArray ?? [];
        catalog["trustedServers"] = servers;
        foreach (var server in trusted.Order(StringComparer.Ordinal))
        {
            if (!servers.Any(s => s?.GetValue<string>() == server)) servers.Add(server);
        }
        var actions = catalog["actions"] as JsonObject ?? [];
        catalog["actions"] = actions;
        changed = 0;
        foreach (var tool in tools)
        {
            if (tool.Original.Annotations is not { } annotations) continue;
            var hints = new JsonObject();
            foreach (var (name, value) in new[] { annotations.ReadOnlyHint, annotations.DestructiveHint, annotations.IdempotentHint, annotations.OpenWorldHint }.Zip(Hints, (v, n) => (n, v)))
            {
                if (value is { } flag) hints[name] = flag;
            }
            var entry = new JsonObject { ["source"] = $"mcp:{tool.Server}", ["annotations"] = hints };
            if (actions[tool.Mapping.Action] is JsonObject known && (known["source"]?.GetValue<string>() is null or "catalog")) continue;
            if (actions[tool.Mapping.Action] is { } same && JsonNode.DeepEquals(same, entry)) continue;
            actions[tool.Mapping.Action] = entry;
            changed++;
        }
        return catalog;
    }
}
