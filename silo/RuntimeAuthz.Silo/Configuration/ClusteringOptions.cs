using System.Net;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace RuntimeAuthz.Silo.Configuration;

/// <summary>
/// The silo's place in a cluster, from the <c>Orleans</c> section: how silos find each other
/// (<c>Orleans:Clustering</c>), the cluster and service ids, ports and the advertised address.
/// </summary>
public sealed class ClusteringOptions
{
    public const string Section = "Orleans";
    public const string ClusteringKey = Section + ":Clustering";
    public const string Localhost = "Localhost";
    public const string AzureTable = "AzureTable";

    /// <summary><see cref="Localhost"/> (one development silo, in-memory membership) or <see cref="AzureTable"/> (membership table in the storage account).</summary>
    public string Clustering { get; set; } = Localhost;

    public string ClusterId { get; set; } = "runtimeauthz-dev";
    public string ServiceId { get; set; } = "runtimeauthz";
    public int SiloPort { get; set; } = EndpointOptions.DEFAULT_SILO_PORT;
    public int GatewayPort { get; set; } = EndpointOptions.DEFAULT_GATEWAY_PORT;

    /// <summary>The address other silos reach this one at (AzureTable clustering); when set the silo listens on every interface.</summary>
    public string? AdvertisedIPAddress { get; set; }

    public bool UsesAzureTable => string.Equals(Clustering, AzureTable, StringComparison.OrdinalIgnoreCase);

    public IPAddress? AdvertisedAddress => string.IsNullOrWhiteSpace(AdvertisedIPAddress) ? null : IPAddress.Parse(AdvertisedIPAddress);

    /// <summary>
    /// Binds and validates the section while the host is being built: the clustering provider decides
    /// which Orleans services are registered, so a wrong value cannot wait for start-up validation.
    /// </summary>
    public static ClusteringOptions Read(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<ClusteringOptions>() ?? new ClusteringOptions();
        var result = new ClusteringOptionsValidator().Validate(Options.DefaultName, options);
        if (result.Failed) throw new OptionsValidationException(Options.DefaultName, typeof(ClusteringOptions), result.Failures);
        return options;
    }
}

public sealed class ClusteringOptionsValidator : IValidateOptions<ClusteringOptions>
{
    private const string S = ClusteringOptions.Section;

    public ValidateOptionsResult Validate(string? name, ClusteringOptions options)
    {
        var failures = new List<string>();
        if (!string.Equals(options.Clustering, ClusteringOptions.Localhost, StringComparison.OrdinalIgnoreCase) && !options.UsesAzureTable)
            failures.Add($"{ClusteringOptions.ClusteringKey} must be {ClusteringOptions.Localhost} or {ClusteringOptions.AzureTable}, not '{options.Clustering}'");
        if (string.IsNullOrWhiteSpace(options.ClusterId)) failures.Add($"{S}:ClusterId must not be empty");
        if (string.IsNullOrWhiteSpace(options.ServiceId)) failures.Add($"{S}:ServiceId must not be empty");
        if (options.SiloPort is < 1 or > 65535) failures.Add($"{S}:SiloPort must be a port from 1 to 65535, not {options.SiloPort}");
        // 0 is allowed: the gateway is closed unless Orleans:Gateway:Enabled, which then requires a real port (ClusterSecurity).
        if (options.GatewayPort is < 0 or > 65535) failures.Add($"{S}:GatewayPort must be a port from 1 to 65535, not {options.GatewayPort}");
        if (options.SiloPort == options.GatewayPort) failures.Add($"{S}:SiloPort and {S}:GatewayPort must differ (both are {options.SiloPort})");
        if (!string.IsNullOrWhiteSpace(options.AdvertisedIPAddress) && !IPAddress.TryParse(options.AdvertisedIPAddress, out _))
            failures.Add($"{S}:AdvertisedIPAddress '{options.AdvertisedIPAddress}' is not an IP address");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
