using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RuntimeAuthz.Contracts;

// Here rather than in the silo: silos judge their peers and cluster clients judge the silos with the same rule.

/// <summary>
/// Which certificates a cluster connection accepts from the other side: pinned ones (by SHA-256 or
/// SHA-1 thumbprint) and ones whose chain ends at a trusted issuer, each only while valid.
/// </summary>
public sealed class ClusterPeerTrust(IEnumerable<string> pinnedThumbprints, X509Certificate2Collection trustedIssuers)
{
    private readonly HashSet<string> pinned = new(pinnedThumbprints, StringComparer.OrdinalIgnoreCase);

    public bool Trusts(X509Certificate2 peer, DateTimeOffset now, out string reason)
    {
        if (now < peer.NotBefore || now > peer.NotAfter)
        {
            reason = string.Create(CultureInfo.InvariantCulture, $"is not valid now (valid {peer.NotBefore:u} to {peer.NotAfter:u})");
            return false;
        }
        if (pinned.Contains(peer.GetCertHashString(HashAlgorithmName.SHA256)) || pinned.Contains(peer.Thumbprint))
        {
            reason = "";
            return true;
        }
        if (trustedIssuers.Count > 0)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(trustedIssuers);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = now.UtcDateTime;
            chain.ChainPolicy.VerificationTimeIgnored = false;
            if (chain.Build(peer))
            {
                reason = "";
                return true;
            }
            reason = "is neither pinned nor issued by the trusted issuer: " +
                string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            return false;
        }
        reason = "is not pinned (and no trusted issuer is configured)";
        return false;
    }
}
