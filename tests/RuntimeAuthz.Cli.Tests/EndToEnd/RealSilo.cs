using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Client;
using RuntimeAuthz.Silo;

namespace RuntimeAuthz.Cli.Tests.EndToEnd;

/// <summary>
/// One real silo host for the end-to-end tests: the production host builder (HTTP API + Orleans
/// silo) on a free loopback port, grain state in a private Azurite, seeded with examples/, in the
/// Development environment with the development token issuer (as ./start runs it).
/// </summary>
public sealed class RealSilo : IAsyncLifetime
{
    private const string AzuriteAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private Process? _azurite;
    private string? _azuriteData;
    private WebApplication? _host;

    /// <summary>A real OIDC issuer (the OpenIddict test issuer, its own process) the silo also trusts, for <c>authz login</c>.</summary>
    public OidcIssuerProcess Issuer { get; private set; } = null!;

    /// <summary>Registered at <see cref="Issuer"/>: a governance service account.</summary>
    public static IssuerClient GovernanceClient { get; } = new("ops-cli", "ops-cli-secret", Subject: "svc-ops", Roles: ["governance"]);

    public Uri BaseAddress { get; private set; } = null!;

    private static readonly HttpClient TokenHttp = new();

    /// <summary>An SDK client that gets its tokens from the silo's development issuer, as <paramref name="who"/> (see <c>--as</c>).</summary>
    public AuthzClient Client(string who = "admin") => new(BaseAddress, new DevelopmentTokenSource(TokenHttp, BaseAddress, DevelopmentIdentity.Parse(who)));

    /// <summary>Runs the CLI in-process against this silo with no environment variables (so no token: the CLI asks the development issuer).</summary>
    internal Task<CliResult> Authz(params string[] args) => Authz(new Dictionary<string, string>(), args);

    /// <summary>Runs the CLI in-process against this silo with exactly these environment variables.</summary>
    internal async Task<CliResult> Authz(IReadOnlyDictionary<string, string> variables, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var environment = new CliEnvironment { Output = output, Error = error, GetVariable = name => variables.GetValueOrDefault(name) };
        var exitCode = await CliApp.RunAsync([.. args, "--url", BaseAddress.ToString()], environment);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    public static string RepoRoot { get; } = FindRepoRoot();

    public async Task InitializeAsync()
    {
        var tablePort = FreePort();
        _azuriteData = Directory.CreateTempSubdirectory("authz-cli-e2e-azurite-").FullName;
        _azurite = StartAzurite(tablePort, _azuriteData);
        Issuer = await OidcIssuerProcess.StartAsync([GovernanceClient]);
        await WaitForPortAsync(tablePort, _azurite);

        var serviceId = "cli-e2e-" + Guid.NewGuid().ToString("N")[..10];
        _host = SiloHost.Build(
        [
            "--urls", "http://127.0.0.1:0",
            // As ./start runs it: Development with the development issuer, so the CLI gets its tokens by itself.
            "--environment", "Development",
            "--Authentication:DevelopmentIssuer:Enabled=true",
            .. Issuer.SiloArguments,
            $"--Storage:ConnectionString=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AzuriteAccountKey};TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;",
            $"--Orleans:ServiceId={serviceId}",
            $"--Orleans:ClusterId={serviceId}",
            $"--Orleans:SiloPort={FreePort()}",
            $"--Orleans:GatewayPort={FreePort()}",
            "--Seed:Example=true",
            $"--Seed:Directory={Path.Combine(RepoRoot, "examples")}",
        ], builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await _host.StartAsync();
        var address = _host.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        BaseAddress = new Uri(address);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            await _host.DisposeAsync();
        }
        if (Issuer is not null)
        {
            await Issuer.DisposeAsync();
        }
        if (_azurite is { HasExited: false })
        {
            // SIGINT is azurite-table's graceful close; the data is throwaway, but leave no orphan.
            using (var interrupt = Process.Start(new ProcessStartInfo("kill", ["-INT", _azurite.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
            {
                if (interrupt is not null)
                {
                    await interrupt.WaitForExitAsync();
                }
            }
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _azurite.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _azurite.Kill(entireProcessTree: true);
            }
        }
        _azurite?.Dispose();
        if (_azuriteData is not null)
        {
            Directory.Delete(_azuriteData, recursive: true);
        }
    }

    private static Process StartAzurite(int port, string data)
    {
        var executable = Path.Combine(RepoRoot, "node_modules", ".bin", "azurite-table");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Azurite is missing ({executable}); run `npm ci` in {RepoRoot} (./test does).");
        }
        var start = new ProcessStartInfo(executable)
        {
            ArgumentList = { "--tableHost", "127.0.0.1", "--tablePort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--location", data, "--silent", "--skipApiVersionCheck", "--disableTelemetry" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start azurite-table");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForPortAsync(int port, Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"azurite-table exited with code {process.ExitCode} while starting");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRepoRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "RuntimeAuthz.Cluster.sln")))
                {
                    return directory.FullName;
                }
            }
        }
        throw new InvalidOperationException($"RuntimeAuthz.Cluster.sln not found above {AppContext.BaseDirectory}");
    }
}

[CollectionDefinition(Name)]
public sealed class RealSiloCollection : ICollectionFixture<RealSilo>
{
    public const string Name = "real silo";
}
