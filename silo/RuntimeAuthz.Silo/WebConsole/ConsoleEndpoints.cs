using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Silo.Http;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.WebConsole;

/// <summary>How the console signs people in: the development issuer's login screen and/or OIDC at the authority.</summary>
public sealed record ConsoleConfigDto(bool DevelopmentLogin, IReadOnlyList<string> Roles, ConsoleOidcDto? Oidc);

public sealed record ConsoleOidcDto(string Authority, string ClientId, string Scope, string? Resource);

/// <summary>One console page and whether the caller's roles hold the permission its data needs.</summary>
public sealed record ConsolePageDto(string Name, string Permission, bool Allowed);

public sealed record ConsoleAccessDto(string Subject, string Issuer, IReadOnlyList<string> Roles, IReadOnlyList<ConsolePageDto> Pages);

/// <summary>
/// The web console under /console: its files (built from console/ by npm run build:console) for anyone, since they hold no
/// data; everything it shows comes from the API with the signed-in person's bearer token and that API's permission.
/// </summary>
public static class ConsoleEndpoints
{
    public const string BasePath = "/console";

    /// <summary>The pages and the permission each one's data needs (the console hides a page the caller cannot use).</summary>
    public static readonly IReadOnlyList<(string Name, Permission Permission)> Pages =
    [
        ("approvals", Permissions.ApprovalsList), ("sessions", Permissions.SessionsRead), ("agents", Permissions.AgentsRead),
        ("policies", Permissions.PoliciesRead), ("evidence", Permissions.EvidenceRead),
    ];

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    public static IServiceCollection AddWebConsole(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ConsoleOptions>().Bind(configuration.GetSection(ConsoleOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ConsoleOptions>, ConsoleOptionsValidator>();
        return services;
    }

    public static void MapWebConsole(this IEndpointRouteBuilder app)
    {
        app.MapGet(BasePath + "/config.json", (HttpContext context, IOptions<ConsoleOptions> console, IOptions<CallerAuthenticationOptions> authentication) =>
        {
            AddSecurityHeaders(context, console.Value, authentication.Value);
            context.Response.Headers.CacheControl = "no-store";
            return Results.Ok(ConfigOf(console.Value, authentication.Value));
        })
        .AllowAnonymous()
        .WithName("GetConsoleConfiguration")
        .Produces<ConsoleConfigDto>(StatusCodes.Status200OK);

        app.MapGet(BasePath + "/{**path}", (string? path, HttpContext context, IWebHostEnvironment environment, IOptions<ConsoleOptions> console,
            IOptions<CallerAuthenticationOptions> authentication) =>
        {
            // The route also matches "/console": relative asset URLs need the trailing slash.
            if (!context.Request.Path.Value!.EndsWith('/') && string.IsNullOrEmpty(path)) return Results.Redirect(BasePath + "/");
            var root = Path.GetFullPath(Path.Combine(environment.ContentRootPath, console.Value.Directory));
            if (!File.Exists(Path.Combine(root, "index.html")))
                return Problems.NotFound("the web console is not built into this silo (run npm run build:console, then build the silo)");
            // A path without a file extension is one of the console's own routes: its page is index.html.
            var requested = string.IsNullOrEmpty(path) || !Path.HasExtension(path) ? "index.html" : path;
            using var files = new PhysicalFileProvider(root);
            var file = files.GetFileInfo(requested);
            if (!file.Exists || file.IsDirectory || file.PhysicalPath is null) return Problems.NotFound($"no console file '{RequestReading.Shorten(path ?? "")}'");
            AddSecurityHeaders(context, console.Value, authentication.Value);
            // Vite names every asset by its content hash, so only index.html must be revalidated.
            context.Response.Headers.CacheControl = requested == "index.html" ? "no-cache" : "public, max-age=31536000, immutable";
            var contentType = ContentTypes.TryGetContentType(file.Name, out var type) ? type : "application/octet-stream";
            return Results.File(file.PhysicalPath, contentType);
        })
        .AllowAnonymous()
        // The console's pages and scripts are not API operations: they stay out of the OpenAPI document.
        .ExcludeFromDescription();

        app.MapGet("/v1/console/access", (HttpContext context, CallerReader callers) =>
        {
            var caller = callers.Read(context.User)!;
            var pages = Pages.Select(p => new ConsolePageDto(p.Name, p.Permission.Name, caller.Holds(p.Permission))).ToArray();
            return Results.Ok(new ConsoleAccessDto(caller.Subject, caller.Issuer, caller.Roles, pages));
        })
        .RequirePermission(Permissions.ConsoleOpen)
        .WithName("GetConsoleAccess")
        .Produces<ConsoleAccessDto>(StatusCodes.Status200OK)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden);
    }

    public static ConsoleConfigDto ConfigOf(ConsoleOptions console, CallerAuthenticationOptions authentication)
    {
        var oidc = console.Oidc;
        var authority = oidc.Authority ?? authentication.Authority;
        return new ConsoleConfigDto(authentication.DevelopmentIssuer.Enabled, Roles.All.Where(r => !Roles.IsAgentBound(r)).ToArray(),
            string.IsNullOrWhiteSpace(oidc.ClientId) || string.IsNullOrWhiteSpace(authority)
                ? null
                : new ConsoleOidcDto(authority.TrimEnd('/'), oidc.ClientId, oidc.Scope, oidc.Resource));
    }

    /// <summary>Scripts only from the silo, API calls only to it (and to the OIDC authority), never framed.</summary>
    private static void AddSecurityHeaders(HttpContext context, ConsoleOptions console, CallerAuthenticationOptions authentication)
    {
        var connect = "'self'";
        if ((console.Oidc.Authority ?? authentication.Authority) is { } authority && Uri.TryCreate(authority, UriKind.Absolute, out var uri))
            connect += " " + uri.GetLeftPart(UriPartial.Authority);
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = $"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
    }
}
