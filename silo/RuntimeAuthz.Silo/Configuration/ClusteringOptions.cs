using System.Net;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace RuntimeAuthz.Silo.Configuration;

/// <summary>
/// The silo's place in a cluster, from the <c>Orleans</c> section: how silos find each other (Orleans' own provider
/// section <c>Orleans:Clustering</c>, which Orleans binds itself), the cluster and service ids, ports and the advertised address.
/// </summary>
public sealed class ClusteringOptions
{
    public const string Section = "Orleans";
    public const string ClusteringSection = Section + ":Clustering";
    public const string ProviderTypeKey = ClusteringSection + ":ProviderType";
    /// <summary>Orleans' provider name for membership in Azure Table storage (Microsoft.Orleans.Clustering.AzureStorage).</summary>
    public const string AzureTableStorage = "AzureTableStorage";
    /// <summary>Orleans' provider name for in-memory membership on a primary silo (one development silo).</summary>
    public const string Development = "Development";

    /// <summary>Orleans' clustering provider section; absent = <see cref="Development"/>.</summary>
    public ClusteringProviderOptions Clustering { get; set; } = new();

    public string ClusterId { get; set; } = "runtimeauthz-dev";
    public string ServiceId { get; set; } = "runtimeauthz";
    public int SiloPort { get; set; } = EndpointOptions.DEFAULT_SILO_PORT;
    public int GatewayPort { get; set; } = EndpointOptions.DEFAULT_GATEWAY_PORT;

    /// <summary>The address other silos reach this one at (AzureTableStorage clustering); when set the silo listens on every interface.</summary>
    public string? AdvertisedIPAddress { get; set; }

    public bool UsesAzureTable => string.Equals(Clustering.ProviderType, AzureTableStorage, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether the membership table is in the grain storage account (<c>Storage:*</c>, its credential included): the
    /// section names no account of its own (<c>ServiceKey</c>, <c>ConnectionString</c> or <c>ConnectionName</c>, as Orleans reads them).
    /// </summary>
    public bool MembershipInStorageAccount =>
        string.IsNullOrWhiteSpace(Clustering.ServiceKey) && string.IsNullOrWhiteSpace(Clustering.ConnectionString) && string.IsNullOrWhiteSpace(Clustering.ConnectionName);

    public IPAddress? AdvertisedAddress => string.IsNullOrWhiteSpace(AdvertisedIPAddress) ? null : IPAddress.Parse(AdvertisedIPAddress);

    /// <summary>
    /// Binds and validates the section while the host is being built: the clustering provider decides which Orleans
    /// services are registered (Orleans applies <c>Orleans:Clustering</c> as soon as the silo is added), so a wrong value
    /// cannot wait for start-up validation.
    /// </summary>
    public static ClusteringOptions Read(IConfiguration configuration)
    {
        if (configuration[ClusteringSection] is { Length: > 0 } plain)
        {
            // The form before Orleans' provider section: a plain value, which Orleans would take for a provider without a type.
            throw new OptionsValidationException(Options.DefaultName, typeof(ClusteringOptions),
                [$"{ClusteringSection} is Orleans' provider section: set {ProviderTypeKey}={AzureTableStorage} (or {Development}) instead of {ClusteringSection}={plain}"]);
        }
        var options = configuration.GetSection(Section).Get<ClusteringOptions>() ?? new ClusteringOptions();
        var result = new ClusteringOptionsValidator().Validate(Options.DefaultName, options);
        if (result.Failed) throw new OptionsValidationException(Options.DefaultName, typeof(ClusteringOptions), result.Failures);
        return options;
    }
}

/// <summary>
/// <c>Orleans:Clustering</c> as Orleans' configuration-based provider setup reads it (<c>ProviderType</c> and the
/// provider's own keys); bound here only to check it and to know which account the membership table is in.
/// </summary>
public sealed class ClusteringProviderOptions
{
    public string ProviderType { get; set; } = ClusteringOptions.Development;

    /// <summary>AzureTableStorage: a keyed <c>TableServiceClient</c> registered under this key.</summary>
    public string? ServiceKey { get; set; }

    /// <summary>AzureTableStorage: a connection string (or table service URI) of its own.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>AzureTableStorage: the name of a connection string under <c>ConnectionStrings</c>.</summary>
    public string? ConnectionName { get; set; }

    /// <summary>AzureTableStorage: the membership table (Orleans' default <c>OrleansSiloInstances</c>).</summary>
    public string? TableName { get; set; }

    /// <summary>Development: the primary silo's endpoint (default: this silo).</summary>
    public string? PrimarySiloEndPoint { get; set; }
}

public sealed class ClusteringOptionsValidator : IValidateOptions<ClusteringOptions>
{
    private const string S = ClusteringOptions.Section;

    public ValidateOptionsResult Validate(string? name, ClusteringOptions options)
    {
        var failures = new List<string>();
        var provider = options.Clustering.ProviderType;
        if (!string.Equals(provider, ClusteringOptions.Development, StringComparison.OrdinalIgnoreCase) && !options.UsesAzureTable)
            failures.Add($"{ClusteringOptions.ProviderTypeKey} must be {ClusteringOptions.AzureTableStorage} or {ClusteringOptions.Development}, not '{provider}'");
        if (string.IsNullOrWhiteSpace(options.ClusterId)) failures.Add($"{S}:ClusterId must not be empty");
        if (string.IsNullOrWhiteSpace(options.ServiceId)) failures.Add($"{S}:ServiceId must not be empty");
        if (options.SiloPort is < 1 or > 65535) failures.Add($"{S}:SiloPort must be a port from 1 to 65535, not {options.SiloPort}");
        // 0 is allowed: the gateway is closed unless Orleans:Gateway:Enabled, which then requires a real port (ClusterSecurity).
        if (options.GatewayPort is < 0 or > 65535) failures.Add($"{S}:GatewayPort must be a port from 1 to 65535, not {options.GatewayPort}");
        if (options.SiloPort == options.GatewayPort) failures.Add($"{S}:SiloPort and {S}:GatewayPort must differ (both are {options.SiloPort})");
        if (!string.IsNullOrWhiteSpace(options.AdvertisedIPAddress) && !IPAddress.TryParse(options.AdvertisedIPAddress, out _))
            failures.Add($"{S}:AdvertisedIPAddress '{options.AdvertisedIPAddress}' is not an IP address");
        if (!string.IsNullOrWhiteSpace(options.Clustering.PrimarySiloEndPoint) && !IPEndPoint.TryParse(options.Clustering.PrimarySiloEndPoint, out _))
            failures.Add($"{ClusteringOptions.ClusteringSection}:PrimarySiloEndPoint '{options.Clustering.PrimarySiloEndPoint}' is not an IP address and port");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
