using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace RuntimeAuthz.Testing;

/// <summary>Starting the real hosts (silo, gateways, test APIs) on loopback ports for tests and benchmarks.</summary>
public static class LoopbackHosts
{
    /// <summary>Starts the app (bound to <c>http://127.0.0.1:0</c> by its arguments) and returns the address Kestrel chose.</summary>
    public static async Task<Uri> StartOnLoopbackAsync(this WebApplication app)
    {
        await app.StartAsync();
        return new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
    }

    /// <summary>
    /// The arguments every test silo host needs: a free loopback port, the Azurite account, its own service and cluster id
    /// (so its own grain state) and free Orleans ports.
    /// </summary>
    public static string[] SiloArguments(AzuriteServer azurite, string serviceId, string environment, params string[] extra) =>
    [
        "--urls", "http://127.0.0.1:0",
        "--environment", environment,
        $"--Storage:ConnectionString={azurite.ConnectionString}",
        $"--Orleans:ServiceId={serviceId}",
        $"--Orleans:ClusterId={serviceId}",
        $"--Orleans:SiloPort={FreePorts.Next().ToString(CultureInfo.InvariantCulture)}",
        $"--Orleans:GatewayPort={FreePorts.Next().ToString(CultureInfo.InvariantCulture)}",
        .. extra,
    ];
}
