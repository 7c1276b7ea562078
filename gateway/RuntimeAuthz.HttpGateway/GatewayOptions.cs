using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Options;

namespace RuntimeAuthz.HttpGateway;

/// <summary>The "HttpGateway" section: where the cluster is, whose tokens agents present, and which REST calls are routed to which upstream as which action.</summary>
public sealed class GatewayOptions
{
    public const string Section = "HttpGateway";

    /// <summary>The cluster the gateway asks before forwarding, and how it proves itself there (an enforcement point, role <c>pep</c>).</summary>
    public ClusterSettings Cluster { get; set; } = new();

    /// <summary>Who issues the agents' bearer tokens (validated here as the silo validates them).</summary>
    public AuthenticationSettings Authentication { get; set; } = new();

    /// <summary>How long a call held for approval waits before the gateway answers "pending" (the client retries with the approval id).</summary>
    public int ApprovalWaitSeconds { get; set; } = 20;

    /// <summary>Largest request body the gateway reads as tool input; larger bodies are refused with 413.</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Largest upstream answer body reported as the outcome's output (a larger one is still forwarded, reported without output).</summary>
    public int MaxOutcomeBytes { get; set; } = 256 * 1024;

    /// <summary>Upstream services by name: their base addresses.</summary>
    public Dictionary<string, string> Upstreams { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The routed calls. A request no route matches is refused.</summary>
    public List<GatewayRoute> Routes { get; set; } = [];

    public sealed class ClusterSettings
    {
        /// <summary>The silo's HTTP address.</summary>
        public string? Url { get; set; }

        /// <summary>OIDC issuer for the gateway's own client-credentials token (with <see cref="ClientId"/> and <see cref="ClientSecretFile"/>).</summary>
        public string? Issuer { get; set; }

        public string? ClientId { get; set; }

        /// <summary>A file holding the client secret (never the secret itself in configuration).</summary>
        public string? ClientSecretFile { get; set; }

        /// <summary>Alternatively a file holding a ready pep bearer token (read once at the first call; a new token needs a restart).</summary>
        public string? TokenFile { get; set; }

        /// <summary>How long one cluster call may take before the gateway gives up (and refuses the call).</summary>
        public int TimeoutSeconds { get; set; } = 10;
    }

    public sealed class AuthenticationSettings
    {
        public string? Authority { get; set; }
        public string Audience { get; set; } = "runtimeauthz";
        public bool RequireHttpsMetadata { get; set; } = true;
        public int ClockSkewSeconds { get; set; } = 60;
        public string SubjectClaim { get; set; } = "sub";
        public string RolesClaim { get; set; } = "roles";
        public string AgentIdClaim { get; set; } = "agent_id";
    }
}

/// <summary>One routed REST call: method and path template → upstream, action, resource (type and id from route values), body → tool input.</summary>
public sealed class GatewayRoute
{
    /// <summary>Unique name (logs, problem answers).</summary>
    public string? Name { get; set; }

    /// <summary>HTTP method, e.g. <c>POST</c>.</summary>
    public string? Method { get; set; }

    /// <summary>ASP.NET route template, e.g. <c>/accounts/{account}/payments</c>.</summary>
    public string? Path { get; set; }

    /// <summary>Name of an entry of <see cref="GatewayOptions.Upstreams"/>.</summary>
    public string? Upstream { get; set; }

    /// <summary>The action decided, e.g. <c>send_payment</c>.</summary>
    public string? Action { get; set; }

    /// <summary>Cedar entity type of the resource, e.g. <c>Account</c>.</summary>
    public string? ResourceType { get; set; }

    /// <summary>Resource id: a template over the path's route values (<c>{account}</c>, <c>{team}/{doc}</c>) or a literal.</summary>
    public string? ResourceId { get; set; }
}

/// <summary>Refuses to start with a configuration that could forward calls undecided or to the wrong place, naming the setting.</summary>
public sealed partial class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    private static readonly HashSet<string> Methods = new(StringComparer.Ordinal) { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" };

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var failures = new List<string>();
        const string s = GatewayOptions.Section;
        var cluster = options.Cluster;
        if (!IsHttpUrl(cluster.Url)) failures.Add($"{s}:Cluster:Url must be the silo's http(s) address, not '{cluster.Url}'");
        var clientCredentials = cluster.ClientId is not null || cluster.ClientSecretFile is not null || cluster.Issuer is not null;
        if (clientCredentials && (!IsHttpUrl(cluster.Issuer) || string.IsNullOrWhiteSpace(cluster.ClientId) || string.IsNullOrWhiteSpace(cluster.ClientSecretFile)))
            failures.Add($"{s}:Cluster: client credentials need Issuer (an http(s) URL), ClientId and ClientSecretFile together");
        if (clientCredentials == (cluster.TokenFile is not null))
            failures.Add($"{s}:Cluster: give either Issuer/ClientId/ClientSecretFile or TokenFile (the gateway's own credentials at the cluster)");
        if (cluster.ClientSecretFile is { } secretFile && !File.Exists(secretFile)) failures.Add($"{s}:Cluster:ClientSecretFile '{secretFile}' does not exist");
        if (cluster.TokenFile is { } tokenFile && !File.Exists(tokenFile)) failures.Add($"{s}:Cluster:TokenFile '{tokenFile}' does not exist");
        if (cluster.TimeoutSeconds is < 1 or > 120) failures.Add($"{s}:Cluster:TimeoutSeconds must be between 1 and 120");

        var auth = options.Authentication;
        if (!IsHttpUrl(auth.Authority)) failures.Add($"{s}:Authentication:Authority must be the OIDC issuer URL of the agents' tokens, not '{auth.Authority}'");
        else if (auth.RequireHttpsMetadata && !auth.Authority!.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            failures.Add($"{s}:Authentication:Authority must be an https URL (or set {s}:Authentication:RequireHttpsMetadata=false for a loopback test issuer)");
        if (string.IsNullOrWhiteSpace(auth.Audience)) failures.Add($"{s}:Authentication:Audience must not be empty");
        if (auth.ClockSkewSeconds is < 0 or > 600) failures.Add($"{s}:Authentication:ClockSkewSeconds must be between 0 and 600");
        foreach (var (claim, value) in new[] { ("SubjectClaim", auth.SubjectClaim), ("RolesClaim", auth.RolesClaim), ("AgentIdClaim", auth.AgentIdClaim) })
        {
            if (string.IsNullOrWhiteSpace(value)) failures.Add($"{s}:Authentication:{claim} must name a claim");
        }

        if (options.ApprovalWaitSeconds is < 0 or > 60) failures.Add($"{s}:ApprovalWaitSeconds must be between 0 and 60");
        if (options.MaxBodyBytes is < 1 or > 16 * 1024 * 1024) failures.Add($"{s}:MaxBodyBytes must be between 1 and 16 MiB");
        if (options.MaxOutcomeBytes is < 0 or > 1024 * 1024) failures.Add($"{s}:MaxOutcomeBytes must be between 0 and 1 MiB");

        foreach (var (upstream, address) in options.Upstreams)
        {
            if (!IsHttpUrl(address)) failures.Add($"{s}:Upstreams:{upstream} must be an http(s) address, not '{address}'");
        }
        if (options.Routes.Count == 0) failures.Add($"{s}:Routes is empty: the gateway would refuse every call");
        var names = new HashSet<string>(StringComparer.Ordinal);
        var matches = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Routes.Count; i++)
        {
            var route = options.Routes[i];
            var at = $"{s}:Routes:{i}";
            if (string.IsNullOrWhiteSpace(route.Name)) failures.Add($"{at}:Name is required");
            else if (!names.Add(route.Name)) failures.Add($"{at}:Name '{route.Name}' is used by two routes");
            if (route.Method is null || !Methods.Contains(route.Method)) failures.Add($"{at}:Method must be one of {string.Join(", ", Methods)}, not '{route.Method}'");
            if (route.Upstream is null || !options.Upstreams.ContainsKey(route.Upstream)) failures.Add($"{at}:Upstream '{route.Upstream}' is not one of {s}:Upstreams");
            if (route.Action is null || !Identifier().IsMatch(route.Action)) failures.Add($"{at}:Action must be an action name such as send_payment, not '{route.Action}'");
            if (route.ResourceType is null || !EntityType().IsMatch(route.ResourceType)) failures.Add($"{at}:ResourceType must be a Cedar entity type such as Account, not '{route.ResourceType}'");
            RoutePattern? pattern = null;
            try
            {
                if (string.IsNullOrWhiteSpace(route.Path) || !route.Path.StartsWith('/')) failures.Add($"{at}:Path must be a route template starting with '/', not '{route.Path}'");
                else pattern = RoutePatternFactory.Parse(route.Path);
            }
            catch (RoutePatternException ex)
            {
                failures.Add($"{at}:Path '{route.Path}' is not a route template: {ex.Message}");
            }
            if (pattern is not null && route.Method is not null && !matches.Add($"{route.Method} {pattern.RawText}"))
                failures.Add($"{at}: another route already maps {route.Method} {route.Path}");
            if (string.IsNullOrWhiteSpace(route.ResourceId)) failures.Add($"{at}:ResourceId is required (a literal or a template over the path's route values)");
            else if (pattern is not null)
            {
                foreach (var parameter in ResourceIdTemplate.Parameters(route.ResourceId))
                {
                    if (pattern.GetParameter(parameter) is null) failures.Add($"{at}:ResourceId uses {{{parameter}}}, which {route.Path} does not define");
                }
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsHttpUrl(string? text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$")]
    private static partial Regex EntityType();
}
