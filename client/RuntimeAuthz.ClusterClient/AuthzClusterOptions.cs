using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.ClusterClient;

/// <summary>
/// How a fleet service reaches the cluster, bound from the <c>AuthzCluster</c> configuration section
/// (<c>AuthzCluster:Gateways:0=10.0.0.11:30000</c>, <c>AuthzCluster__Caller=pep-billing</c>, ...). The silos must
/// open their gateway (<c>Orleans:Gateway:Enabled=true</c>) and, beyond loopback, require TLS (<c>Orleans:Tls:*</c>).
/// </summary>
public sealed class AuthzClusterOptions
{
    public const string Section = "AuthzCluster";
    public const string StaticClustering = "Static";
    public const string AzureTableClustering = "AzureTableStorage";

    /// <summary>The silos' <c>Orleans:ClusterId</c>.</summary>
    public string ClusterId { get; set; } = "runtimeauthz-dev";

    /// <summary>The silos' <c>Orleans:ServiceId</c>.</summary>
    public string ServiceId { get; set; } = "runtimeauthz";

    /// <summary>
    /// <see cref="StaticClustering"/> (default): connect to <see cref="Gateways"/>. <see cref="AzureTableClustering"/>: find the
    /// gateways in the silos' membership table (silos with <c>Orleans:Clustering:ProviderType=AzureTableStorage</c>), through
    /// <see cref="MembershipConnectionString"/>.
    /// </summary>
    public string Clustering { get; set; } = StaticClustering;

    /// <summary>Gateway endpoints as <c>address:port</c> (IPv6 in brackets: <c>[::1]:30000</c>).</summary>
    public List<string> Gateways { get; set; } = [];

    /// <summary>The storage account holding the membership table (AzureTable clustering); a secret, never logged.</summary>
    public string? MembershipConnectionString { get; set; }

    /// <summary>
    /// Who this client is: recorded as the actor of every decision's and outcome's evidence record (the HTTP API records the
    /// token's subject there). Required; name the enforcement point, e.g. <c>pep:billing-gateway</c>.
    /// </summary>
    public string Caller { get; set; } = "";

    /// <summary>Whether outcomes this client reports come from an enforcement point that saw the tool's answer (default) or from the agent.</summary>
    public ReporterKind Reporter { get; set; } = ReporterKind.EnforcementPoint;

    /// <summary>How long a grain call may go unanswered; a decision unanswered by then is a <see cref="DecisionUnknownException"/>.</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts for reads and session opens (never for decisions or outcome reports), at least 1.</summary>
    public int ReadAttempts { get; set; } = 3;

    /// <summary>Pause between those attempts (doubled each time).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Attempts to connect to a gateway at start-up before <c>StartAsync</c> fails, at least 1.</summary>
    public int ConnectAttempts { get; set; } = 5;

    public AuthzClusterTlsOptions Tls { get; set; } = new();

    internal IReadOnlyList<IPEndPoint> GatewayEndpoints => [.. Gateways.Select(g => IPEndPoint.Parse(g.Trim()))];

    internal bool UsesAzureTable => string.Equals(Clustering, AzureTableClustering, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Binds <paramref name="section"/>, applies <paramref name="configure"/>, and checks the result now: the clustering choice
    /// decides what is registered, so a wrong value must stop the host before it is built. Errors name the key.
    /// </summary>
    public static AuthzClusterOptions Read(IConfiguration section, Action<AuthzClusterOptions>? configure = null)
    {
        var options = section.Get<AuthzClusterOptions>() ?? new AuthzClusterOptions();
        configure?.Invoke(options);
        var prefix = section is IConfigurationSection named ? named.Path : Section;
        var result = new AuthzClusterOptionsValidator(prefix).Validate(Options.DefaultName, options);
        if (result.Failed) throw new OptionsValidationException(Options.DefaultName, typeof(AuthzClusterOptions), result.Failures);
        return options;
    }
}

/// <summary>Mutual TLS with the silos (their <c>Orleans:Tls</c>): this client's certificate, and which silo certificates it accepts.</summary>
public sealed class AuthzClusterTlsOptions
{
    /// <summary>PKCS#12 (.pfx) file with the client certificate (client authentication) and its key.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Its password (from a secret store or environment variable; never logged).</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>Instead of a file, set in code: the client certificate with its private key.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; set; }

    /// <summary>The cluster CA (DER or PEM): silo certificates it issued are accepted.</summary>
    public string? TrustedIssuerCertificatePath { get; set; }

    /// <summary>Pinned silo certificates, SHA-256 (64 hex digits) or SHA-1 (40) thumbprints.</summary>
    public List<string> AllowedSiloThumbprints { get; set; } = [];

    internal bool Enabled => Certificate is not null || !string.IsNullOrWhiteSpace(CertificatePath);
}

/// <summary>Checks <see cref="AuthzClusterOptions"/>; every failure names its key under <paramref name="prefix"/>.</summary>
public sealed class AuthzClusterOptionsValidator(string prefix = AuthzClusterOptions.Section) : IValidateOptions<AuthzClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthzClusterOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClusterId)) failures.Add($"{prefix}:ClusterId must not be empty");
        if (string.IsNullOrWhiteSpace(options.ServiceId)) failures.Add($"{prefix}:ServiceId must not be empty");
        if (string.IsNullOrWhiteSpace(options.Caller) || options.Caller.Length > 256)
            failures.Add($"{prefix}:Caller must name this client (1-256 characters): it is recorded as the actor of its decisions");
        if (options.UsesAzureTable)
        {
            if (string.IsNullOrWhiteSpace(options.MembershipConnectionString))
                failures.Add($"{prefix}:MembershipConnectionString is required with {prefix}:Clustering={AuthzClusterOptions.AzureTableClustering}");
        }
        else if (!string.Equals(options.Clustering, AuthzClusterOptions.StaticClustering, StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"{prefix}:Clustering must be {AuthzClusterOptions.StaticClustering} or {AuthzClusterOptions.AzureTableClustering}, not '{options.Clustering}'");
        }
        else if (options.Gateways.Count == 0)
        {
            failures.Add($"{prefix}:Gateways must list at least one gateway (address:port) with {prefix}:Clustering={AuthzClusterOptions.StaticClustering}");
        }
        for (var i = 0; i < options.Gateways.Count; i++)
        {
            if (!IPEndPoint.TryParse(options.Gateways[i].Trim(), out var endpoint) || endpoint.Port == 0)
                failures.Add($"{prefix}:Gateways:{i} must be an IP address and port (10.0.0.11:30000), not '{options.Gateways[i]}'");
        }
        if (options.ResponseTimeout <= TimeSpan.Zero) failures.Add($"{prefix}:ResponseTimeout must be positive, not {options.ResponseTimeout}");
        if (options.ReadAttempts < 1) failures.Add($"{prefix}:ReadAttempts must be at least 1, not {options.ReadAttempts}");
        if (options.ConnectAttempts < 1) failures.Add($"{prefix}:ConnectAttempts must be at least 1, not {options.ConnectAttempts}");
        if (options.RetryDelay < TimeSpan.Zero) failures.Add($"{prefix}:RetryDelay must not be negative, not {options.RetryDelay}");
        ValidateTls(options.Tls, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private void ValidateTls(AuthzClusterTlsOptions tls, List<string> failures)
    {
        var tlsKey = $"{prefix}:Tls";
        if (tls.Certificate is not null && !string.IsNullOrWhiteSpace(tls.CertificatePath))
            failures.Add($"{tlsKey}:CertificatePath and a certificate set in code exclude each other");
        if (!string.IsNullOrWhiteSpace(tls.CertificatePath) && !File.Exists(tls.CertificatePath))
            failures.Add($"{tlsKey}:CertificatePath: the file '{tls.CertificatePath}' does not exist");
        if (!string.IsNullOrWhiteSpace(tls.TrustedIssuerCertificatePath) && !File.Exists(tls.TrustedIssuerCertificatePath))
            failures.Add($"{tlsKey}:TrustedIssuerCertificatePath: the file '{tls.TrustedIssuerCertificatePath}' does not exist");
        for (var i = 0; i < tls.AllowedSiloThumbprints.Count; i++)
        {
            var value = tls.AllowedSiloThumbprints[i].Trim();
            if (!(value.Length is 40 or 64 && value.All(Uri.IsHexDigit)))
                failures.Add($"{tlsKey}:AllowedSiloThumbprints:{i} must be a certificate thumbprint (64 hex digits for SHA-256, or 40 for SHA-1), not '{tls.AllowedSiloThumbprints[i]}'");
        }
        var trustsSomeSilo = !string.IsNullOrWhiteSpace(tls.TrustedIssuerCertificatePath) || tls.AllowedSiloThumbprints.Count > 0;
        if (tls.Enabled && !trustsSomeSilo)
            failures.Add($"{tlsKey}: a client certificate is set but no silo is trusted: set {tlsKey}:TrustedIssuerCertificatePath or {tlsKey}:AllowedSiloThumbprints");
        if (!tls.Enabled && (trustsSomeSilo || !string.IsNullOrEmpty(tls.CertificatePassword)))
            failures.Add($"{tlsKey} settings are given but no client certificate: set {tlsKey}:CertificatePath (a PKCS#12 file)");
    }
}
