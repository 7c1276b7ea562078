using System.Text.RegularExpressions;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.McpGateway;

/// <summary>The gateway's configuration (section <c>Gateway</c> of the file given with <c>--config</c>); see README "MCP gateway".</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Where the cluster is and who the gateway is to it.</summary>
    public ClusterOptions Cluster { get; set; } = new();

    /// <summary>The downstream MCP servers by name; the name prefixes their tools upstream (<c>fs.read_file</c>).</summary>
    public Dictionary<string, DownstreamServerOptions> Servers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The upstream Streamable HTTP endpoint's path.</summary>
    public string Path { get; set; } = "/mcp";

    /// <summary>How long a call that needs approval is held before the answer is "pending" (0..3600).</summary>
    public int ApprovalWaitSeconds { get; set; } = 30;

    /// <summary>How long one request to the cluster may take before the call is refused (1..300).</summary>
    public int DecisionTimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// Leave out of <c>tools/list</c> the tools whose action no live delegation of the agent names (it can never be allowed them).
    /// Needs a cluster token that may also read agents (<c>agents:read</c>); a tool stays listed when that read fails.
    /// </summary>
    public bool HideUncallableTools { get; set; }
}

public sealed class ClusterOptions
{
    /// <summary>The cluster's HTTP address (any silo, or a load balancer in front of them).</summary>
    public string? Url { get; set; }

    /// <summary>A file holding the gateway's bearer token: an enforcement point (<c>pep</c>) token for the agents it fronts.</summary>
    public string? TokenFile { get; set; }

    /// <summary>On a development silo only: the development issuer identity to take, e.g. <c>pep:*</c>.</summary>
    public string? DevelopmentIdentity { get; set; }

    /// <summary>
    /// A file holding a token that may publish the action catalog (<c>governance</c>): when given, the annotations of the
    /// trusted servers' tools are merged into the cluster's catalog at start. Without it they are not used.
    /// </summary>
    public string? CatalogTokenFile { get; set; }

    /// <summary>How long an upstream token the cluster accepted is trusted without asking again (0..300 s; never past its expiry).</summary>
    public int IdentityCacheSeconds { get; set; } = 60;
}

public sealed class DownstreamServerOptions
{
    /// <summary>stdio: the command the gateway starts (one process, shared by every upstream session).</summary>
    public string? Command { get; set; }

    public List<string> Arguments { get; set; } = [];

    public string? WorkingDirectory { get; set; }

    public Dictionary<string, string> Environment { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Streamable HTTP: the server's endpoint.</summary>
    public string? Url { get; set; }

    /// <summary>Its tool annotations may seed the action catalog (readOnlyHint/destructiveHint → reversibility/category).</summary>
    public bool Trusted { get; set; }

    /// <summary>The resource's Cedar entity type; its id is <see cref="ResourceArgument"/>'s value, else the server name.</summary>
    public string ResourceType { get; set; } = "McpServer";

    /// <summary>The tool argument naming the resource (e.g. <c>path</c>); a call without it acts on the server itself.</summary>
    public string? ResourceArgument { get; set; }

    /// <summary>Per-tool overrides of the mapping, by the server's own tool name.</summary>
    public Dictionary<string, ToolMappingOptions> Tools { get; set; } = new(StringComparer.Ordinal);
}

public sealed class ToolMappingOptions
{
    /// <summary>The Cedar action id (default: <c>&lt;server&gt;_&lt;tool&gt;</c>, characters other than letters, digits and _ made _).</summary>
    public string? Action { get; set; }

    public string? ResourceType { get; set; }

    public string? ResourceArgument { get; set; }
}

/// <summary>The configuration cannot be used; the message names every problem.</summary>
public sealed class GatewayConfigurationException(string message) : Exception(message);

public static partial class GatewayOptionsValidation
{
    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex ServerNameShape();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$", RegexOptions.CultureInvariant)]
    internal static partial Regex EntityTypeShape();

    /// <summary>Every problem of <paramref name="options"/>, each naming its key; empty when usable.</summary>
    public static IReadOnlyList<string> Problems(GatewayOptions options)
    {
        var problems = new List<string>();
        var cluster = options.Cluster;
        if (string.IsNullOrWhiteSpace(cluster.Url)) problems.Add("Gateway:Cluster:Url is required (the cluster's HTTP address, e.g. http://127.0.0.1:5080)");
        else if (!IsHttpUrl(cluster.Url)) problems.Add($"Gateway:Cluster:Url '{cluster.Url}' is not an absolute http(s) address");
        switch (cluster.TokenFile, cluster.DevelopmentIdentity)
        {
            case (null, null):
                problems.Add("Gateway:Cluster needs TokenFile (a file with the gateway's pep token) or, against a development silo, DevelopmentIdentity (e.g. pep:*)");
                break;
            case ({ }, { }):
                problems.Add("Gateway:Cluster: give TokenFile or DevelopmentIdentity, not both");
                break;
            case ({ } file, null) when !File.Exists(file):
                problems.Add($"Gateway:Cluster:TokenFile '{file}' does not exist");
                break;
            case (null, { } who):
                try
                {
                    if (!DevelopmentIdentity.Parse(who).Roles.Contains("pep"))
                        problems.Add($"Gateway:Cluster:DevelopmentIdentity '{who}' is not an enforcement point; use pep:<agent,...> or pep:*");
                }
                catch (FormatException e)
                {
                    problems.Add($"Gateway:Cluster:DevelopmentIdentity: {e.Message}");
                }
                break;
        }
        if (cluster.CatalogTokenFile is { } catalogFile && !File.Exists(catalogFile))
            problems.Add($"Gateway:Cluster:CatalogTokenFile '{catalogFile}' does not exist");
        if (cluster.IdentityCacheSeconds is < 0 or > 300) problems.Add($"Gateway:Cluster:IdentityCacheSeconds must be 0..300, not {cluster.IdentityCacheSeconds}");
        if (options.ApprovalWaitSeconds is < 0 or > 3600) problems.Add($"Gateway:ApprovalWaitSeconds must be 0..3600, not {options.ApprovalWaitSeconds}");
        if (options.DecisionTimeoutSeconds is < 1 or > 300) problems.Add($"Gateway:DecisionTimeoutSeconds must be 1..300, not {options.DecisionTimeoutSeconds}");
        if (string.IsNullOrWhiteSpace(options.Path) || !options.Path.StartsWith('/')) problems.Add($"Gateway:Path must start with '/', not '{options.Path}'");
        if (options.Servers.Count == 0) problems.Add("Gateway:Servers is empty: name at least one downstream MCP server (Command for stdio, Url for Streamable HTTP)");
        foreach (var (name, server) in options.Servers)
        {
            var key = $"Gateway:Servers:{name}";
            if (!ServerNameShape().IsMatch(name)) problems.Add($"{key}: a server name is a letter then up to 31 letters, digits, _ or - (it prefixes the tool names)");
            switch (server.Command, server.Url)
            {
                case (null, null): problems.Add($"{key} needs Command (stdio) or Url (Streamable HTTP)"); break;
                case ({ }, { }): problems.Add($"{key}: give Command or Url, not both"); break;
                case (null, { } url) when !IsHttpUrl(url): problems.Add($"{key}:Url '{url}' is not an absolute http(s) address"); break;
                case ({ } command, null) when string.IsNullOrWhiteSpace(command): problems.Add($"{key}:Command is empty"); break;
            }
            if (!EntityTypeShape().IsMatch(server.ResourceType)) problems.Add($"{key}:ResourceType '{server.ResourceType}' is not a Cedar entity type (e.g. File or Ns::File)");
            foreach (var (tool, mapping) in server.Tools)
            {
                if (mapping.Action is { } action && string.IsNullOrWhiteSpace(action)) problems.Add($"{key}:Tools:{tool}:Action is empty");
                if (mapping.ResourceType is { } type && !EntityTypeShape().IsMatch(type)) problems.Add($"{key}:Tools:{tool}:ResourceType '{type}' is not a Cedar entity type");
            }
        }
        return problems;
    }

    public static GatewayOptions Validated(GatewayOptions options)
    {
        var problems = Problems(options);
        return problems.Count == 0 ? options : throw new GatewayConfigurationException("gateway configuration: " + string.Join("; ", problems));
    }

    private static bool IsHttpUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
