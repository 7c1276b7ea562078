using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RuntimeAuthz.Testing;

/// <summary>
/// Certificates made at test time (nothing is committed): a test CA, certificates it issues, and
/// self-signed ones, written as files in a temporary directory deleted at the end.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    public const string Password = "test-pfx-password";

    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    public TestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("authz-tls-").FullName;
        Authority = CreateAuthority("RuntimeAuthz test CA");
        AuthorityPath = Path.Combine(Directory, "ca.cer");
        File.WriteAllBytes(AuthorityPath, Authority.Export(X509ContentType.Cert));
    }

    public string Directory { get; }

    public X509Certificate2 Authority { get; }

    /// <summary>The CA certificate alone (DER, no key), as silos are given it.</summary>
    public string AuthorityPath { get; }

    public static X509Certificate2 CreateAuthority(string name)
    {
        var request = new CertificateRequest($"CN={name}", ECDsa.Create(ECCurve.NamedCurves.nistP256), HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(7));
    }

    /// <summary>A silo certificate (server and client authentication) issued by <paramref name="issuer"/> (the test CA by default).</summary>
    public X509Certificate2 IssueSilo(string name, X509Certificate2? issuer = null) => Issue(name, issuer ?? Authority, Now.AddDays(-1), Now.AddDays(7), ServerAuth, ClientAuth);

    /// <summary>A cluster client certificate (client authentication only).</summary>
    public X509Certificate2 IssueClient(string name, X509Certificate2? issuer = null, DateTimeOffset? notAfter = null) =>
        Issue(name, issuer ?? Authority, Now.AddDays(-1), notAfter ?? Now.AddDays(7), ClientAuth);

    public static X509Certificate2 SelfSigned(string name, params string[] usages)
    {
        var request = LeafRequest(name, usages, out _);
        return request.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(7));
    }

    /// <summary>Writes the certificate with its key as a password-protected PKCS#12 file; returns the path.</summary>
    public string WritePfx(X509Certificate2 certificate, string name, string password = Password)
    {
        var path = Path.Combine(Directory, name + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return path;
    }

    public string WriteFile(string name, byte[] content)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    public static string Sha256(X509Certificate2 certificate) => certificate.GetCertHashString(HashAlgorithmName.SHA256);

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    private static X509Certificate2 Issue(string name, X509Certificate2 issuer, DateTimeOffset notBefore, DateTimeOffset notAfter, params string[] usages)
    {
        var request = LeafRequest(name, usages, out var key);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(issuer, notBefore, notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    private static CertificateRequest LeafRequest(string name, string[] usages, out ECDsa key)
    {
        key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var oids = new OidCollection();
        foreach (var usage in usages) oids.Add(new Oid(usage));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request;
    }
}
