using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Connections.Security;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.ClusterClient;

public static class AuthzClusterClientExtensions
{
    /// <summary>
    /// Makes this host an Orleans cluster client of the authorization cluster and registers <see cref="AuthzClusterClient"/>.
    /// Options come from the <paramref name="section"/> configuration section, then <paramref name="configure"/>; invalid
    /// ones throw here (<see cref="Microsoft.Extensions.Options.OptionsValidationException"/>, naming the key).
    /// </summary>
    public static IHostApplicationBuilder AddAuthzClusterClient(this IHostApplicationBuilder builder, string section = AuthzClusterOptions.Section,
        Action<AuthzClusterOptions>? configure = null)
    {
        var options = AuthzClusterOptions.Read(builder.Configuration.GetSection(section), configure);
        builder.UseOrleansClient(client => client.UseAuthzCluster(options));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<AuthzClusterClient>();
        return builder;
    }

    /// <summary>Applies <paramref name="options"/> to an Orleans client: ids, clustering, response timeout, connection attempts and TLS.</summary>
    public static IClientBuilder UseAuthzCluster(this IClientBuilder client, AuthzClusterOptions options)
    {
        client.Configure<ClusterOptions>(o => { o.ClusterId = options.ClusterId; o.ServiceId = options.ServiceId; });
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = options.ResponseTimeout);
        if (options.UsesAzureTable)
        {
            var connectionString = options.MembershipConnectionString!;
            client.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(connectionString));
        }
        else
        {
            client.UseStaticClustering([.. options.GatewayEndpoints]);
        }

        var connectAttempts = 0;
        client.UseConnectionRetryFilter(async (_, cancellationToken) =>
        {
            // A refused certificate or an absent cluster fails StartAsync after a few tries instead of retrying forever.
            if (Interlocked.Increment(ref connectAttempts) >= options.ConnectAttempts) return false;
            await Task.Delay(options.RetryDelay, cancellationToken);
            return true;
        });

        if (options.Tls.Enabled)
        {
            var certificate = options.Tls.Certificate ?? LoadCertificate(options.Tls);
            var trust = SiloTrust(options.Tls);
            client.Services.AddOptions<ClientConnectionOptions>().Configure<IServiceProvider>((connections, services) =>
            {
                var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
                var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AuthzClusterClient));
                var tls = new TlsOptions
                {
                    LocalCertificate = certificate,
                    RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
                    // Silos are reached by IP address: the silo's identity is its pinned or CA-issued certificate, not a host name.
                    RemoteCertificateValidation = (silo, _, _) =>
                    {
                        if (trust.Trusts(silo, time.GetUtcNow(), out var reason)) return true;
                        logger.LogWarning("Refused the silo's certificate {Subject} ({Thumbprint}): it {Reason}",
                            silo.Subject, silo.GetCertHashString(HashAlgorithmName.SHA256), reason);
                        return false;
                    },
                };
                connections.ConfigureConnection(connection => connection.UseClientTls(tls));
            });
        }
        return client;
    }

    private static X509Certificate2 LoadCertificate(AuthzClusterTlsOptions tls)
    {
        const string key = AuthzClusterOptions.Section + ":Tls:CertificatePath";
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(tls.CertificatePath!, tls.CertificatePassword);
        }
        catch (CryptographicException)
        {
            // Neither the password nor the file's content is echoed.
            throw new InvalidOperationException($"{key}: '{tls.CertificatePath}' could not be read as a PKCS#12 (.pfx) file with the password given (wrong password, or not a PKCS#12 file)");
        }
        return certificate.HasPrivateKey
            ? certificate
            : throw new InvalidOperationException($"{key}: the certificate in '{tls.CertificatePath}' has no private key (a client proves itself with it)");
    }

    private static ClusterPeerTrust SiloTrust(AuthzClusterTlsOptions tls)
    {
        var issuers = new X509Certificate2Collection();
        if (!string.IsNullOrWhiteSpace(tls.TrustedIssuerCertificatePath))
        {
            try
            {
                issuers.Add(X509CertificateLoader.LoadCertificateFromFile(tls.TrustedIssuerCertificatePath));
            }
            catch (CryptographicException)
            {
                throw new InvalidOperationException($"{AuthzClusterOptions.Section}:Tls:TrustedIssuerCertificatePath: '{tls.TrustedIssuerCertificatePath}' is not a certificate (DER or PEM)");
            }
        }
        return new ClusterPeerTrust(tls.AllowedSiloThumbprints.Select(t => t.Trim()), issuers);
    }
}
