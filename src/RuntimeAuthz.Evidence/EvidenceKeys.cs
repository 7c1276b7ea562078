using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace RuntimeAuthz.Evidence;

/// <summary>A private ECDSA P-256 key that signs evidence, with the id verifiers look its public key up by.</summary>
public sealed class EvidenceSigningKey : IDisposable
{
    private readonly ECDsa key;

    private EvidenceSigningKey(ECDsa key, string keyId)
    {
        this.key = key;
        KeyId = keyId;
    }

    public string KeyId { get; }

    /// <summary>The public key as PEM (SubjectPublicKeyInfo); this is all a verifier needs.</summary>
    public string PublicKeyPem => key.ExportSubjectPublicKeyInfoPem();

    public static EvidenceSigningKey Generate(string? keyId = null)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new EvidenceSigningKey(key, keyId ?? EvidenceKeyIds.Derive(key));
    }

    /// <summary>Loads a PEM private key ("EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY"); it must be a P-256 key.</summary>
    public static EvidenceSigningKey FromPem(string pem, string? keyId = null)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new EvidenceKeyException($"the evidence signing key is not a PEM ECDSA private key: {ex.Message}", ex);
        }
        EvidenceKeyIds.RequireP256(key);
        try
        {
            key.ExportParameters(includePrivateParameters: true);
        }
        catch (CryptographicException ex)
        {
            key.Dispose();
            throw new EvidenceKeyException("the evidence signing key PEM holds no private key", ex);
        }
        return new EvidenceSigningKey(key, string.IsNullOrWhiteSpace(keyId) ? EvidenceKeyIds.Derive(key) : keyId);
    }

    /// <summary>PKCS#8 PEM of the private key (only for the development key stored in the evidence table).</summary>
    public string ExportPrivateKeyPem() => key.ExportPkcs8PrivateKeyPem();

    /// <summary>Signs the UTF-8 bytes of <paramref name="body"/>; base64url of r||s.</summary>
    public string Sign(string body) =>
        Base64Url.EncodeToString(key.SignData(Encoding.UTF8.GetBytes(body), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

    public void Dispose() => key.Dispose();
}

public sealed class EvidenceKeyException(string message, Exception? inner = null) : Exception(message, inner);

public static class EvidenceKeyIds
{
    /// <summary>"p256-" and the first 16 hex digits of SHA-256 over the SubjectPublicKeyInfo: stable for a key, different across keys.</summary>
    public static string Derive(ECDsa key) =>
        "p256-" + Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];

    internal static void RequireP256(ECDsa key)
    {
        var curve = key.ExportParameters(false).Curve;
        if (!curve.IsNamed || !(curve.Oid.Value == ECCurve.NamedCurves.nistP256.Oid.Value || curve.Oid.FriendlyName is "nistP256" or "ECDSA_P256" or "secp256r1"))
            throw new EvidenceKeyException($"evidence keys must be ECDSA P-256 keys, not {curve.Oid.FriendlyName ?? curve.Oid.Value}");
    }
}

/// <summary>Public keys by key id: verifies signatures without any private key.</summary>
public sealed class EvidencePublicKeys : IDisposable
{
    private readonly Dictionary<string, ECDsa> keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> pems = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> Pems => pems;

    /// <summary>Adds a public key (SubjectPublicKeyInfo PEM, or a private key PEM whose public part is used).</summary>
    public void Add(string keyId, string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            EvidenceKeyIds.RequireP256(key);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new EvidenceKeyException($"public key '{keyId}' is not a PEM ECDSA key: {ex.Message}", ex);
        }
        var publicOnly = ECDsa.Create(key.ExportParameters(false));
        key.Dispose();
        if (keys.Remove(keyId, out var previous)) previous.Dispose();
        keys[keyId] = publicOnly;
        pems[keyId] = publicOnly.ExportSubjectPublicKeyInfoPem();
    }

    public bool Contains(string keyId) => keys.ContainsKey(keyId);

    public bool Verify(string keyId, string body, string signature)
    {
        if (!keys.TryGetValue(keyId, out var key)) return false;
        byte[] signatureBytes;
        try { signatureBytes = Base64Url.DecodeFromChars(signature); }
        catch (FormatException) { return false; }
        return key.VerifyData(Encoding.UTF8.GetBytes(body), signatureBytes, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    public void Dispose()
    {
        foreach (var key in keys.Values) key.Dispose();
        keys.Clear();
    }
}
