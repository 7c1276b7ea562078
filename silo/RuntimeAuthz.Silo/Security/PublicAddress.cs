using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace RuntimeAuthz.Silo.Security;

/// <summary>
/// The base address the silo advertises (AuthZEN discovery): AuthZen:BaseAddress when configured, else the
/// address Kestrel listens on. Never the request's Host header, which any caller can forge.
/// </summary>
public sealed class PublicAddress(IConfiguration configuration, IServer server, ILogger<PublicAddress> logger)
{
    public const string Key = "AuthZen:BaseAddress";

    private string? baseUrl;

    public string BaseUrl => baseUrl ??= Resolve();

    /// <summary>Checks the configured value at start, naming the key.</summary>
    public static void Validate(IConfiguration configuration)
    {
        if (configuration[Key] is { Length: > 0 } configured
            && (!Uri.TryCreate(configured, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
            throw new InvalidOperationException($"{Key} '{configured}' must be an absolute http or https URL");
    }

    private string Resolve()
    {
        if (configuration[Key] is { Length: > 0 } configured) return configured.TrimEnd('/');
        var listening = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (listening is null || !Uri.TryCreate(listening.Replace("://+", "://localhost").Replace("://*", "://localhost"), UriKind.Absolute, out var uri))
        {
            logger.LogWarning("No {Key} and no listening address: discovery advertises http://localhost", Key);
            return "http://localhost";
        }
        if (uri.Host is "0.0.0.0" or "[::]")
            logger.LogWarning("The silo listens on all interfaces; set {Key} to the address clients use", Key);
        return uri.GetLeftPart(UriPartial.Authority);
    }
}
