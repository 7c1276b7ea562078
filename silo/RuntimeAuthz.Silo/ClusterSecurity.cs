using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Configuration;
using Orleans.Connections.Security;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Silo;

/// <summary>
/// The cluster's doors other than the HTTP API. Orleans cluster clients call grains directly and so
/// bypass the API's authentication: the gateway is closed unless <c>Orleans:Gateway:Enabled</c>, and
/// listens on loopback unless <c>Orleans:Gateway:ListenAddress</c> says otherwise. With a certificate
/// under <c>Orleans:Tls</c>, silo-to-silo and gateway connections use mutual TLS and accept only
/// peers whose certificate is pinned or issued by the trusted CA.
/// </summary>
public sealed record ClusterSecurityOptions
{
    public const string GatewaySection = "Orleans:Gateway";
    public const string GatewayEnabledKey = GatewaySection + ":Enabled";
    public const string GatewayListenAddressKey = GatewaySection + ":ListenAddress";
    public const string GatewayPortKey = "Orleans:GatewayPort";
    public const string TlsSection = "Orleans:Tls";
    public const string CertificatePathKey = TlsSection + ":CertificatePath";
    public const string CertificatePasswordKey = TlsSection + ":CertificatePassword";
    public const string CertificateThumbprintKey = TlsSection + ":CertificateThumbprint";
    public const string CertificateStoreLocationKey = TlsSection + ":CertificateStoreLocation";
    public const string AllowedThumbprintsKey = TlsSection + ":AllowedThumbprints";
    public const string TrustedIssuerCertificatePathKey = TlsSection + ":TrustedIssuerCertificatePath";

    public bool GatewayEnabled { get; init; }

    public IPAddress GatewayListenAddress { get; init; } = IPAddress.Loopback;

    /// <summary>This silo's certificate, with its private key; null when TLS is off.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>Which peers (other silos, cluster clients) a TLS connection accepts; always trusts <see cref="Certificate"/>.</summary>
    public ClusterPeerTrust? PeerTrust { get; init; }

    /// <summary>Reads and checks the configuration; anything wrong stops start-up with a message naming the key.</summary>
    public static ClusterSecurityOptions Read(IConfiguration config)
    {
        // A misspelt key would otherwise be ignored silently, e.g. leaving a pinned peer out.
        RefuseUnknownKeys(config, GatewaySection, ["Enabled", "ListenAddress"]);
        RefuseUnknownKeys(config, TlsSection,
            ["CertificatePath", "CertificatePassword", "CertificateThumbprint", "CertificateStoreLocation", "AllowedThumbprints", "TrustedIssuerCertificatePath"]);

        var enabledText = config[GatewayEnabledKey];
        var gatewayEnabled = false;
        if (!string.IsNullOrWhiteSpace(enabledText) && !bool.TryParse(enabledText, out gatewayEnabled))
        {
            throw new InvalidOperationException($"{GatewayEnabledKey} must be true or false, not '{enabledText}'");
        }
        var listenText = config[GatewayListenAddressKey];
        var listenAddress = IPAddress.Loopback;
        if (!string.IsNullOrWhiteSpace(listenText) && !IPAddress.TryParse(listenText, out listenAddress!))
        {
            throw new InvalidOperationException($"{GatewayListenAddressKey} must be an IP address (127.0.0.1, or 0.0.0.0 for every interface), not '{listenText}'");
        }
        if (gatewayEnabled && config.GetValue(GatewayPortKey, EndpointOptions.DEFAULT_GATEWAY_PORT) is var port && port is <= 0 or > 65535)
        {
            throw new InvalidOperationException($"{GatewayPortKey} must be a port from 1 to 65535 when {GatewayEnabledKey} is true, not {port}");
        }

        var certificate = LoadCertificate(config);
        var tls = config.GetSection(TlsSection);
        if (certificate is null && tls.GetChildren().Any(c => !string.IsNullOrWhiteSpace(c.Value) || c.GetChildren().Any()))
        {
            throw new InvalidOperationException(
                $"{TlsSection} settings are given but no certificate: set {CertificatePathKey} (a PKCS#12 file) or {CertificateThumbprintKey}");
        }
        if (gatewayEnabled && certificate is null && !IPAddress.IsLoopback(listenAddress))
        {
            // A reachable gateway without client certificates would let anyone on the network call every grain.
            throw new InvalidOperationException(
                $"{GatewayListenAddressKey} {listenAddress} is not a loopback address: a gateway reachable from other hosts needs TLS with client certificates ({CertificatePathKey} or {CertificateThumbprintKey})");
        }

        return new ClusterSecurityOptions
        {
            GatewayEnabled = gatewayEnabled,
            GatewayListenAddress = listenAddress,
            Certificate = certificate,
            PeerTrust = certificate is null ? null : ReadPeerTrust(config, certificate),
        };
    }

    /// <summary>TLS settings for one side of a cluster connection: present <paramref name="certificate"/>, require the peer's, accept it only when <paramref name="trust"/> does.</summary>
    public static TlsOptions CreateTlsOptions(X509Certificate2? certificate, ClusterPeerTrust trust, TimeProvider time, ILogger logger) => new()
    {
        LocalCertificate = certificate,
        RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
        ClientCertificateMode = certificate is null ? RemoteCertificateMode.AllowCertificate : RemoteCertificateMode.RequireCertificate,
        // Peers connect by IP address, so host-name checks do not apply: identity is the pinned or CA-issued certificate.
        RemoteCertificateValidation = (peer, _, _) =>
        {
            if (trust.Trusts(peer, time.GetUtcNow(), out var reason)) return true;
            logger.LogWarning("Refused a cluster connection: peer certificate {Subject} ({Thumbprint}) {Reason}",
                peer.Subject, peer.GetCertHashString(HashAlgorithmName.SHA256), reason);
            return false;
        },
    };

    private static X509Certificate2? LoadCertificate(IConfiguration config)
    {
        var path = config[CertificatePathKey];
        var thumbprint = config[CertificateThumbprintKey];
        var hasPath = !string.IsNullOrWhiteSpace(path);
        var hasThumbprint = !string.IsNullOrWhiteSpace(thumbprint);
        if (hasPath && hasThumbprint)
        {
            throw new InvalidOperationException($"set either {CertificatePathKey} or {CertificateThumbprintKey}, not both");
        }
        var certificate = hasPath ? LoadFromFile(path!, config[CertificatePasswordKey])
            : hasThumbprint ? LoadFromStore(thumbprint!, config[CertificateStoreLocationKey])
            : null;
        if (certificate is null) return null;

        var key = hasPath ? CertificatePathKey : CertificateThumbprintKey;
        if (!certificate.HasPrivateKey)
        {
            throw new InvalidOperationException($"the certificate of {key} has no private key (a silo needs its key to prove itself)");
        }
        // A silo accepts connections (server) and opens them to other silos (client) with the same certificate.
        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault()?.EnhancedKeyUsages;
        if (usages is not null && (usages[ServerAuthOid] is null || usages[ClientAuthOid] is null))
        {
            throw new InvalidOperationException($"the certificate of {key} must allow both server and client authentication (extended key usages {ServerAuthOid} and {ClientAuthOid})");
        }
        return certificate;
    }

    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private static X509Certificate2 LoadFromFile(string path, string? password)
    {
        if (!File.Exists(path)) throw new InvalidOperationException($"{CertificatePathKey}: the file '{path}' does not exist");
        try
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (CryptographicException)
        {
            // The exception does not say whether the password or the file is wrong; neither is echoed.
            throw new InvalidOperationException(
                $"{CertificatePathKey}: '{path}' could not be read as a PKCS#12 (.pfx) file with the password of {CertificatePasswordKey} (wrong password, or not a PKCS#12 file)");
        }
    }

    private static X509Certificate2 LoadFromStore(string thumbprint, string? locationText)
    {
        if (!IsHex(thumbprint, 40))
        {
            throw new InvalidOperationException($"{CertificateThumbprintKey} must be a SHA-1 thumbprint (40 hex digits), not '{thumbprint}'");
        }
        var location = StoreLocation.CurrentUser;
        if (!string.IsNullOrWhiteSpace(locationText) && !Enum.TryParse(locationText, ignoreCase: true, out location))
        {
            throw new InvalidOperationException($"{CertificateStoreLocationKey} must be CurrentUser or LocalMachine, not '{locationText}'");
        }
        using var store = new X509Store(StoreName.My, location);
        store.Open(OpenFlags.ReadOnly);
        var found = store.Certificates.Find(X509FindType.FindByThumbprint, thumbprint, validOnly: false);
        return found.Count > 0
            ? found[0]
            : throw new InvalidOperationException($"{CertificateThumbprintKey}: no certificate {thumbprint} in the {location} personal (My) store");
    }

    private static ClusterPeerTrust ReadPeerTrust(IConfiguration config, X509Certificate2 own)
    {
        var pinned = new List<string> { own.GetCertHashString(HashAlgorithmName.SHA256) };
        foreach (var entry in config.GetSection(AllowedThumbprintsKey).GetChildren())
        {
            var value = (entry.Value ?? "").Trim();
            if (!IsHex(value, 40) && !IsHex(value, 64))
            {
                throw new InvalidOperationException(
                    $"{AllowedThumbprintsKey}:{entry.Key} must be a certificate thumbprint (64 hex digits for SHA-256, or 40 for SHA-1), not '{entry.Value}'");
            }
            pinned.Add(value);
        }

        var issuers = new X509Certificate2Collection();
        if (config[TrustedIssuerCertificatePathKey] is { Length: > 0 } issuerPath)
        {
            if (!File.Exists(issuerPath)) throw new InvalidOperationException($"{TrustedIssuerCertificatePathKey}: the file '{issuerPath}' does not exist");
            try
            {
                issuers.Add(X509CertificateLoader.LoadCertificateFromFile(issuerPath));
            }
            catch (CryptographicException)
            {
                throw new InvalidOperationException($"{TrustedIssuerCertificatePathKey}: '{issuerPath}' is not a certificate (DER or PEM)");
            }
        }
        return new ClusterPeerTrust(pinned, issuers);
    }

    private static void RefuseUnknownKeys(IConfiguration config, string section, string[] known)
    {
        var unknown = config.GetSection(section).GetChildren().Select(c => c.Key).Where(k => !known.Contains(k, StringComparer.OrdinalIgnoreCase)).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException(
                $"unknown setting {string.Join(", ", unknown.Select(k => $"{section}:{k}"))} (known: {string.Join(", ", known.Select(k => $"{section}:{k}"))})");
        }
    }

    private static bool IsHex(string text, int length) => text.Length == length && text.All(Uri.IsHexDigit);
}

public static class ClusterSecurityExtensions
{
    /// <summary>Applies <see cref="ClusterSecurityOptions"/> from configuration: gateway closed or bound as configured, mutual TLS when a certificate is given.</summary>
    public static ISiloBuilder UseClusterSecurity(this ISiloBuilder silo, IConfiguration config)
    {
        var security = ClusterSecurityOptions.Read(config);
        silo.Services.AddSingleton(security);
        // Runs after the clustering setup's endpoint configuration, so it decides the gateway alone.
        silo.Configure<EndpointOptions>(endpoints =>
        {
            if (!security.GatewayEnabled)
            {
                // Both must be cleared: Orleans falls back to the listening endpoint's port when GatewayPort is 0.
                endpoints.GatewayPort = 0;
                endpoints.GatewayListeningEndpoint = null;
            }
            else
            {
                endpoints.GatewayListeningEndpoint = new IPEndPoint(security.GatewayListenAddress, endpoints.GatewayPort);
            }
        });
        if (security is { Certificate: { } certificate, PeerTrust: { } trust })
        {
            silo.Services.AddOptions<SiloConnectionOptions>().Configure<TimeProvider, ILoggerFactory>((connections, time, logs) =>
            {
                var tls = ClusterSecurityOptions.CreateTlsOptions(certificate, trust, time, logs.CreateLogger("RuntimeAuthz.Silo.ClusterSecurity"));
                connections.ConfigureSiloInboundConnection(connection => connection.UseServerTls(tls));
                connections.ConfigureGatewayInboundConnection(connection => connection.UseServerTls(tls));
                connections.ConfigureSiloOutboundConnection(connection => connection.UseClientTls(tls));
            });
        }
        return silo;
    }
}
