using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo;

namespace RuntimeAuthz.Cluster.Tests.Security;

/// <summary>
/// The cluster's non-HTTP doors, through real silo hosts (AzureTable clustering on Azurite, real
/// sockets on 127.0.0.1) and real Orleans cluster clients: only grain calls, never the HTTP API.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterTlsTests(ClusterEnvironment env, ClusterTlsTests.SharedTlsCluster shared) : IClassFixture<ClusterTlsTests.SharedTlsCluster>
{
    private TestCertificates Certificates => shared.Certificates;

    [Theory]
    [InlineData("issued by the trusted CA")]
    [InlineData("pinned by thumbprint")]
    public async Task Two_tls_silos_form_one_cluster_and_a_client_with_a_trusted_certificate_calls_grains(string clientCertificate)
    {
        var cluster = await shared.GetAsync(env);
        var certificate = clientCertificate == "pinned by thumbprint" ? cluster.PinnedClient : Certificates.IssueClient("trusted client");

        using var client = await StartClientAsync(cluster, certificate);
        var grains = client.Services.GetRequiredService<IClusterClient>();
        var management = grains.GetGrain<IManagementGrain>(0);
        var hosts = await management.GetHosts(onlyActive: true);
        // Reaches every silo's runtime, so whichever silo runs the management grain talked TLS to the other.
        var statistics = await management.GetRuntimeStatistics([.. hosts.Keys]);
        var agent = await grains.GetGrain<IAgentGrain>("tls-unknown-" + Guid.NewGuid().ToString("N")[..8]).Get();

        Assert.Equal(2, hosts.Count);
        Assert.Equal(2, statistics.Length);
        Assert.Null(agent);
    }

    [Theory]
    [InlineData("no certificate")]
    [InlineData("self-signed, not pinned")]
    [InlineData("issued by another CA")]
    [InlineData("issued by the trusted CA but expired")]
    public async Task A_cluster_client_without_a_trusted_certificate_is_refused(string clientCertificate)
    {
        var cluster = await shared.GetAsync(env);
        var certificate = clientCertificate switch
        {
            "no certificate" => null,
            "self-signed, not pinned" => TestCertificates.SelfSigned("stranger", TestCertificates.ClientAuth),
            "issued by another CA" => Certificates.IssueClient("other", TestCertificates.CreateAuthority("Other CA")),
            _ => Certificates.IssueClient("expired", notAfter: DateTimeOffset.UtcNow.AddHours(-1)),
        };

        var refused = await Record.ExceptionAsync(() => StartClientAsync(cluster, certificate));

        Assert.NotNull(refused);
        Assert.IsNotType<OperationCanceledException>(refused);
        Assert.IsAssignableFrom<OrleansException>(refused);
    }

    [Fact]
    public async Task The_silo_port_talks_only_to_peers_with_a_trusted_certificate()
    {
        var cluster = await shared.GetAsync(env);
        var port = cluster.SiloPorts[0];

        var trusted = await SiloAnswersAsync(port, Certificates.IssueClient("probe"));
        var withoutCertificate = await SiloAnswersAsync(port, null);
        var untrusted = await SiloAnswersAsync(port, TestCertificates.SelfSigned("probe stranger", TestCertificates.ClientAuth));

        Assert.True(trusted);
        Assert.False(withoutCertificate);
        Assert.False(untrusted);
    }

    [Fact]
    public async Task By_default_the_silo_host_opens_no_gateway()
    {
        var id = "nogw-" + Guid.NewGuid().ToString("N")[..10];
        var siloPort = FreePorts.Next();
        var gatewayPort = FreePorts.Next();
        var host = await env.StartHostAsync(SiloArgs(env,
            $"--Orleans:ClusterId={id}", $"--Orleans:ServiceId={id}",
            $"--Orleans:SiloPort={siloPort}", $"--Orleans:GatewayPort={gatewayPort}"));

        var details = host.App.Services.GetRequiredService<ILocalSiloDetails>();
        await ConnectAsync(siloPort); // the silo itself is up and listening
        var gatewayConnect = await Record.ExceptionAsync(() => ConnectAsync(gatewayPort));
        var client = await Record.ExceptionAsync(async () => (await StartPlainClientAsync(id, gatewayPort)).Dispose());

        Assert.Null(details.GatewayAddress);
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(gatewayConnect).SocketErrorCode);
        Assert.IsAssignableFrom<OrleansException>(client);
        await host.StopAsync();
    }

    [Fact]
    public async Task An_enabled_gateway_listens_on_loopback_and_serves_local_cluster_clients()
    {
        var id = "gw-" + Guid.NewGuid().ToString("N")[..10];
        var gatewayPort = FreePorts.Next();
        var host = await env.StartHostAsync(SiloArgs(env,
            $"--Orleans:ClusterId={id}", $"--Orleans:ServiceId={id}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={gatewayPort}",
            "--Orleans:Gateway:Enabled=true"));

        var listening = host.App.Services.GetRequiredService<IOptions<EndpointOptions>>().Value.GatewayListeningEndpoint;
        using var client = await StartPlainClientAsync(id, gatewayPort);
        var hosts = await client.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, gatewayPort), listening);
        Assert.Single(hosts);
        await host.StopAsync();
    }

    [Theory]
    [InlineData(false, null, null)]
    [InlineData(true, null, "127.0.0.1")]
    [InlineData(true, "::1", "::1")]
    public async Task With_an_advertised_address_the_gateway_still_binds_only_where_configured(bool enabled, string? listenAddress, string? expectedAddress)
    {
        var gatewayPort = FreePorts.Next();
        var args = SiloArgs(env,
            "--Orleans:Clustering:ProviderType=AzureTableStorage", "--Orleans:AdvertisedIPAddress=127.0.0.1",
            $"--Orleans:GatewayPort={gatewayPort}", $"--Orleans:Gateway:Enabled={enabled}");
        if (listenAddress is not null) args = [.. args, $"--Orleans:Gateway:ListenAddress={listenAddress}"];

        // Built, not started: only the resulting endpoint options are read.
        await using var app = SiloHost.Build(args);
        var endpoints = app.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;

        if (expectedAddress is null)
        {
            Assert.Equal(0, endpoints.GatewayPort);
            Assert.Null(endpoints.GatewayListeningEndpoint);
        }
        else
        {
            Assert.Equal(new IPEndPoint(IPAddress.Parse(expectedAddress), gatewayPort), endpoints.GatewayListeningEndpoint);
        }
    }

    public static TheoryData<string, string> BadConfigurations => new()
    {
        { "missing certificate file", ClusterSecurityOptions.CertificatePathKey },
        { "wrong password", ClusterSecurityOptions.CertificatePasswordKey },
        { "not a PKCS#12 file", ClusterSecurityOptions.CertificatePathKey },
        { "certificate without private key", ClusterSecurityOptions.CertificatePathKey },
        { "certificate only for client authentication", ClusterSecurityOptions.CertificatePathKey },
        { "both file and thumbprint", ClusterSecurityOptions.CertificateThumbprintKey },
        { "malformed thumbprint", ClusterSecurityOptions.CertificateThumbprintKey },
        { "thumbprint not in the store", ClusterSecurityOptions.CertificateThumbprintKey },
        { "unknown store location", ClusterSecurityOptions.CertificateStoreLocationKey },
        { "malformed allowed thumbprint", ClusterSecurityOptions.AllowedThumbprintsKey + ":0" },
        { "missing trusted issuer file", ClusterSecurityOptions.TrustedIssuerCertificatePathKey },
        { "trusted issuer not a certificate", ClusterSecurityOptions.TrustedIssuerCertificatePathKey },
        { "trust settings without a certificate", ClusterSecurityOptions.CertificatePathKey },
        { "gateway enabled not a boolean", ClusterSecurityOptions.GatewayEnabledKey },
        { "gateway listen address not an IP address", ClusterSecurityOptions.GatewayListenAddressKey },
        { "gateway on every interface without TLS", ClusterSecurityOptions.GatewayListenAddressKey },
        { "gateway enabled on port 0", ClusterSecurityOptions.GatewayPortKey },
        { "misspelt TLS key", "Orleans:Tls:AllowedThumbprint" },
        { "misspelt gateway key", "Orleans:Gateway:Enable" },
    };

    [Theory]
    [MemberData(nameof(BadConfigurations))]
    public void A_bad_gateway_or_tls_configuration_stops_start_up_naming_the_key(string configuration, string key)
    {
        const string wrongPassword = "definitely-not-the-password";
        var siloPfx = Certificates.WritePfx(Certificates.IssueSilo("config silo"), "config-silo");
        var text = Certificates.WriteFile("not-a-certificate.txt", "hello"u8.ToArray());
        string[] settings = configuration switch
        {
            "missing certificate file" => [Tls("CertificatePath", Path.Combine(Certificates.Directory, "absent.pfx"))],
            "wrong password" => [Tls("CertificatePath", siloPfx), Tls("CertificatePassword", wrongPassword)],
            "not a PKCS#12 file" => [Tls("CertificatePath", text)],
            "certificate without private key" => [Tls("CertificatePath", Certificates.WriteFile("public-only.pfx",
                X509CertificateLoader.LoadCertificate(Certificates.IssueSilo("no key").Export(X509ContentType.Cert)).Export(X509ContentType.Pfx)))],
            "certificate only for client authentication" => [Tls("CertificatePath", Certificates.WritePfx(Certificates.IssueClient("client only"), "client-only")),
                Tls("CertificatePassword", TestCertificates.Password)],
            "both file and thumbprint" => [Tls("CertificatePath", siloPfx), Tls("CertificateThumbprint", new string('A', 40))],
            "malformed thumbprint" => [Tls("CertificateThumbprint", "my-silo-certificate")],
            "thumbprint not in the store" => [Tls("CertificateThumbprint", new string('0', 40))],
            "unknown store location" => [Tls("CertificateThumbprint", new string('0', 40)), Tls("CertificateStoreLocation", "Desk")],
            "malformed allowed thumbprint" => [.. WithSiloCertificate(siloPfx), Tls("AllowedThumbprints:0", "not-hex")],
            "missing trusted issuer file" => [.. WithSiloCertificate(siloPfx), Tls("TrustedIssuerCertificatePath", Path.Combine(Certificates.Directory, "absent.cer"))],
            "trusted issuer not a certificate" => [.. WithSiloCertificate(siloPfx), Tls("TrustedIssuerCertificatePath", text)],
            "trust settings without a certificate" => [Tls("AllowedThumbprints:0", new string('A', 64))],
            "gateway enabled not a boolean" => ["--Orleans:Gateway:Enabled=yes"],
            "gateway listen address not an IP address" => ["--Orleans:Gateway:Enabled=true", "--Orleans:Gateway:ListenAddress=silo.internal"],
            "gateway on every interface without TLS" => ["--Orleans:Gateway:Enabled=true", "--Orleans:Gateway:ListenAddress=0.0.0.0"],
            "gateway enabled on port 0" => ["--Orleans:Gateway:Enabled=true", "--Orleans:GatewayPort=0"],
            "misspelt TLS key" => [.. WithSiloCertificate(siloPfx), Tls("AllowedThumbprint:0", new string('A', 64))],
            "misspelt gateway key" => ["--Orleans:Gateway:Enable=true"],
            _ => throw new ArgumentOutOfRangeException(nameof(configuration)),
        };

        var error = Assert.Throws<InvalidOperationException>(() =>
            SiloHost.Build(SiloArgs(env, settings)));

        Assert.Contains(key, error.Message);
        Assert.DoesNotContain(wrongPassword, error.Message);
        Assert.DoesNotContain(TestCertificates.Password, error.Message);

        static string Tls(string name, string value) => $"--Orleans:Tls:{name}={value}";
        static string[] WithSiloCertificate(string pfx) => [Tls("CertificatePath", pfx), Tls("CertificatePassword", TestCertificates.Password)];
    }

    [Fact]
    public async Task A_silo_certificate_is_also_found_by_thumbprint_in_the_current_user_store()
    {
        using var certificate = X509CertificateLoader.LoadPkcs12(
            Certificates.IssueSilo("store silo").Export(X509ContentType.Pfx, TestCertificates.Password), TestCertificates.Password,
            X509KeyStorageFlags.PersistKeySet | X509KeyStorageFlags.Exportable);
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        store.Add(certificate);
        try
        {
            await using var app = SiloHost.Build(SiloArgs(env, $"--Orleans:Tls:CertificateThumbprint={certificate.Thumbprint}"));
            var security = app.Services.GetRequiredService<ClusterSecurityOptions>();

            Assert.Equal(certificate.Thumbprint, security.Certificate?.Thumbprint);
            Assert.True(security.Certificate?.HasPrivateKey);
        }
        finally
        {
            store.Remove(certificate);
        }
    }

    /// <summary>Two TLS silos started once for this class: certificates from the test CA, one client certificate pinned.</summary>
    public sealed class SharedTlsCluster : IDisposable
    {
        private readonly SemaphoreSlim gate = new(1, 1);
        private TlsCluster? cluster;

        public TestCertificates Certificates { get; } = new();

        public async Task<TlsCluster> GetAsync(ClusterEnvironment env)
        {
            await gate.WaitAsync();
            try
            {
                return cluster ??= await StartAsync(env);
            }
            finally
            {
                gate.Release();
            }
        }

        private async Task<TlsCluster> StartAsync(ClusterEnvironment env)
        {
            var id = "tls-" + Guid.NewGuid().ToString("N")[..10];
            var pinnedClient = TestCertificates.SelfSigned("pinned client", TestCertificates.ClientAuth);
            var siloPorts = new List<int>();
            var gateways = new List<IPEndPoint>();
            for (var i = 0; i < 2; i++)
            {
                var pfx = Certificates.WritePfx(Certificates.IssueSilo($"silo {i}"), $"{id}-silo{i}");
                int siloPort = FreePorts.Next(), gatewayPort = FreePorts.Next();
                await env.StartHostAsync(SiloArgs(env,
                    // AzureTable clustering without an advertised address: silos advertise and listen on loopback only.
                    "--Orleans:Clustering:ProviderType=AzureTableStorage", $"--Orleans:ClusterId={id}", $"--Orleans:ServiceId={id}",
                    $"--Orleans:SiloPort={siloPort}", $"--Orleans:GatewayPort={gatewayPort}",
                    "--Orleans:Gateway:Enabled=true",
                    $"--Orleans:Tls:CertificatePath={pfx}", $"--Orleans:Tls:CertificatePassword={TestCertificates.Password}",
                    $"--Orleans:Tls:TrustedIssuerCertificatePath={Certificates.AuthorityPath}",
                    $"--Orleans:Tls:AllowedThumbprints:0={TestCertificates.Sha256(pinnedClient)}"));
                siloPorts.Add(siloPort);
                gateways.Add(new IPEndPoint(IPAddress.Loopback, gatewayPort));
            }
            return new TlsCluster(id, siloPorts, gateways, pinnedClient, new ClusterPeerTrust([], [Certificates.Authority]));
        }

        public void Dispose() => Certificates.Dispose();
    }

    /// <summary>A Production silo host on a free loopback HTTP port with Azurite storage, plus <paramref name="settings"/>.</summary>
    private static string[] SiloArgs(ClusterEnvironment env, params string[] settings) =>
        ["--urls", "http://127.0.0.1:0", "--environment", "Production", $"--Storage:ConnectionString={env.Azurite.ConnectionString}",
            TestTokens.AuthorityArgument, .. settings];

    public sealed record TlsCluster(string Id, IReadOnlyList<int> SiloPorts, IReadOnlyList<IPEndPoint> Gateways, X509Certificate2 PinnedClient, ClusterPeerTrust SiloTrust);

    /// <summary>A real cluster client over TLS: presents <paramref name="certificate"/> (none when null), accepts silos issued by the test CA.</summary>
    private static Task<IHost> StartClientAsync(TlsCluster cluster, X509Certificate2? certificate) => StartClusterClientAsync(client =>
    {
        client.UseStaticClustering([.. cluster.Gateways]);
        client.Configure<ClusterOptions>(o => { o.ClusterId = cluster.Id; o.ServiceId = cluster.Id; });
        var tls = ClusterSecurityOptions.CreateTlsOptions(certificate, cluster.SiloTrust, TimeProvider.System, NullLogger.Instance);
        client.Configure<ClientConnectionOptions>(o => o.ConfigureConnection(connection => connection.UseClientTls(tls)));
    });

    private static Task<IHost> StartPlainClientAsync(string clusterId, int gatewayPort) => StartClusterClientAsync(client =>
        client.UseLocalhostClustering(gatewayPort, serviceId: clusterId, clusterId: clusterId));

    private static async Task<IHost> StartClusterClientAsync(Action<IClientBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client =>
        {
            configure(client);
            // Fail on the first refused connection instead of retrying.
            client.UseConnectionRetryFilter((_, _) => Task.FromResult(false));
        });
        var host = builder.Build();
        try
        {
            // A guard against a hang, not a timed assertion: a refused client fails long before this.
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await host.StartAsync(guard.Token);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a TLS connection to a silo port and reads: an accepting silo sends its connection
    /// preamble at once; a refusing one fails the handshake or closes the connection (on Linux the
    /// server may judge the client certificate just after the handshake completed).
    /// </summary>
    private static async Task<bool> SiloAnswersAsync(int port, X509Certificate2? clientCertificate)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var tls = new SslStream(tcp.GetStream());
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "silo",
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                // The probe checks the silo's verdict on the client, not the client's on the silo.
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return await tls.ReadAsync(new byte[1], guard.Token) > 0;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            return false;
        }
    }

    private static async Task ConnectAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
    }
}
