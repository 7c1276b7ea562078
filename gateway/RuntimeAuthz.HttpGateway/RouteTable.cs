using Yarp.ReverseProxy.Configuration;

namespace RuntimeAuthz.HttpGateway;

/// <summary>The configured routes: as YARP routes and clusters (built once at start), and looked up per request.</summary>
public sealed class RouteTable(Microsoft.Extensions.Options.IOptions<GatewayOptions> options)
{
    private readonly Dictionary<string, GatewayRoute> byName = options.Value.Routes.ToDictionary(r => r.Name!, StringComparer.Ordinal);

    /// <summary>The gateway route YARP matched for this request, or null (never forwarded then).</summary>
    public GatewayRoute? For(HttpContext context)
    {
        var route = context.GetReverseProxyFeature().Route.Config;
        return route.Metadata is { } metadata && metadata.TryGetValue(GatewayHost.RouteMetadataKey, out var name) && byName.TryGetValue(name, out var found)
            ? found
            : null;
    }

    public static IReadOnlyList<RouteConfig> ProxyRoutes(GatewayOptions options) => options.Routes
        .Where(r => r.Name is not null && r.Path is not null && r.Method is not null && r.Upstream is not null)
        .Select(r => new RouteConfig
        {
            RouteId = r.Name!,
            ClusterId = r.Upstream!,
            Match = new RouteMatch { Path = r.Path, Methods = [r.Method!] },
            Metadata = new Dictionary<string, string> { [GatewayHost.RouteMetadataKey] = r.Name! },
        })
        .ToArray();

    public static IReadOnlyList<ClusterConfig> ProxyClusters(GatewayOptions options) => options.Upstreams
        .Select(u => new ClusterConfig
        {
            ClusterId = u.Key,
            Destinations = new Dictionary<string, DestinationConfig>(StringComparer.Ordinal) { ["upstream"] = new() { Address = u.Value } },
        })
        .ToArray();
}
