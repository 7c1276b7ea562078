using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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
    private AzuriteServer? _azurite;
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
        using var cli = CliHarness.Against(BaseAddress);
        foreach (var (name, value) in variables) cli.Variables[name] = value;
        return await cli.RunAsync(args);
    }

    public static string RepoRoot => RepoPaths.Root;

    /// <summary>The account of grain state, evidence and (as in Development) evidence checkpoints.</summary>
    public string StorageConnectionString => _azurite!.ConnectionString;

    /// <summary>Seals the chain heads written so far into a checkpoint now, as the silo's timer does every few seconds.</summary>
    public Task CheckpointAsync() => _host!.Services.GetRequiredService<RuntimeAuthz.Grains.Evidence.EvidenceCheckpointer>().CheckpointNowAsync();

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteServer.StartAsync();
        Issuer = await OidcIssuerProcess.StartAsync([GovernanceClient]);

        var serviceId = "cli-e2e-" + Guid.NewGuid().ToString("N")[..10];
        _host = SiloHost.Build(
        [
            "--urls", "http://127.0.0.1:0",
            // As ./start runs it: Development with the development issuer, so the CLI gets its tokens by itself.
            "--environment", "Development",
            "--Authentication:DevelopmentIssuer:Enabled=true",
            .. Issuer.SiloArguments,
            $"--Storage:ConnectionString={_azurite.ConnectionString}",
            $"--Orleans:ServiceId={serviceId}",
            $"--Orleans:ClusterId={serviceId}",
            $"--Orleans:SiloPort={FreePorts.Next()}",
            $"--Orleans:GatewayPort={FreePorts.Next()}",
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
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RealSiloCollection : ICollectionFixture<RealSilo>
{
    public const string Name = "real silo";
}
