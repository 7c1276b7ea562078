using System.Text.Json;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.ClusterClient.Tests;

/// <summary>
/// Two real silo hosts that require mutual TLS (certificates from a test CA), clustered through their membership table on
/// Azurite, with their gateways open on loopback; the cluster client presents its certificate and checks theirs.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TlsClusterTests(ClusterFixture fixture, TlsClusterTests.TlsSilos silos) : IClassFixture<TlsClusterTests.TlsSilos>
{
    [Theory]
    [InlineData("a certificate file, gateways from the membership table")]
    [InlineData("a certificate in code, static gateways")]
    public async Task A_client_with_a_certificate_the_silos_trust_decides(string how)
    {
        var cluster = await silos.StartAsync(fixture);
        var client = await fixture.ConnectAsync(cluster, o =>
        {
            if (how.StartsWith("a certificate file", StringComparison.Ordinal))
            {
                TrustTheCluster(fixture, o, certificate: null);
                o.Clustering = AuthzClusterOptions.AzureTableClustering;
                o.Gateways = [];
                o.MembershipConnectionString = fixture.Azurite.ConnectionString;
                o.Tls.CertificatePath = fixture.Certificates.WritePfx(fixture.Certificates.IssueClient("fleet service"), "fleet-service");
                o.Tls.CertificatePassword = TestCertificates.Password;
            }
            else
            {
                TrustTheCluster(fixture, o, fixture.Certificates.IssueClient("fleet service in code"));
            }
        });

        var session = await client.Authz.OpenSessionAsync(new OpenSessionRequest(ClusterFixture.Agent));
        var decision = await client.Authz.DecideAsync(session.Id,
            new DecisionRequest("read_file", new ResourceRef("Document", "d", JsonSerializer.Deserialize<JsonElement>("""{"fleet":"research"}"""))));

        Assert.Equal(DecisionOutcome.Allow, decision.Outcome);
    }

    [Theory]
    [InlineData("no certificate")]
    [InlineData("a self-signed certificate")]
    [InlineData("a certificate of another CA")]
    [InlineData("a trusted certificate, but the client does not trust the silos")]
    public async Task A_client_the_silos_or_it_itself_cannot_trust_is_refused(string certificate)
    {
        var cluster = await silos.StartAsync(fixture);

        var refused = await Record.ExceptionAsync(() => fixture.ConnectAsync(cluster, o =>
        {
            switch (certificate)
            {
                case "no certificate":
                    break;
                case "a self-signed certificate":
                    TrustTheCluster(fixture, o, TestCertificates.SelfSigned("stranger", TestCertificates.ClientAuth));
                    break;
                case "a certificate of another CA":
                    TrustTheCluster(fixture, o, fixture.Certificates.IssueClient("other", TestCertificates.CreateAuthority("Other CA")));
                    break;
                default:
                    o.Tls.Certificate = fixture.Certificates.IssueClient("distrustful");
                    o.Tls.AllowedSiloThumbprints = [new string('a', 64)];
                    break;
            }
        }));

        Assert.NotNull(refused);
        Assert.IsAssignableFrom<OrleansException>(refused);
    }

    /// <summary>The two TLS silos (certificates from the fixture's test CA), started once for this class.</summary>
    public sealed class TlsSilos
    {
        private readonly SemaphoreSlim gate = new(1, 1);
        private SiloCluster? cluster;

        public async Task<SiloCluster> StartAsync(ClusterFixture fixture)
        {
            await gate.WaitAsync();
            try
            {
                return cluster ??= await fixture.StartClusterAsync(
                    i =>
                    [
                        $"--Orleans:Tls:CertificatePath={fixture.Certificates.WritePfx(fixture.Certificates.IssueSilo($"silo {i}"), $"silo{i}-{Guid.NewGuid():N}")}",
                        $"--Orleans:Tls:CertificatePassword={TestCertificates.Password}",
                        $"--Orleans:Tls:TrustedIssuerCertificatePath={fixture.Certificates.AuthorityPath}",
                    ],
                    o => TrustTheCluster(fixture, o, fixture.Certificates.IssueClient("set-up")));
            }
            finally
            {
                gate.Release();
            }
        }
    }

    /// <summary>The cluster's ids, trust in silos issued by the test CA, and <paramref name="certificate"/> as the client's.</summary>
    private static void TrustTheCluster(ClusterFixture fixture, AuthzClusterOptions options, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        options.Tls.TrustedIssuerCertificatePath = fixture.Certificates.AuthorityPath;
        options.Tls.Certificate = certificate;
    }
}
