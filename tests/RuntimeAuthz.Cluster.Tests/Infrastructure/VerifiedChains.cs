using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Cluster.Tests.Infrastructure;

/// <summary>A chain read straight from the evidence table, verified with the table's public keys, as record bodies.</summary>
public static class VerifiedChains
{
    public static async Task<List<EvidenceBody>> ReadAsync(string connectionString, string chain)
    {
        var store = new AzureTableEvidenceStore(connectionString);
        using var keys = new EvidencePublicKeys();
        foreach (var (id, pem) in await store.ListPublicKeysAsync()) keys.Add(id, pem);
        var entries = await store.ReadChainAsync(chain);
        var verified = EvidenceVerifier.Verify(chain, entries, keys);
        Assert.True(verified.Valid, verified.ToString());
        return [.. entries.Select(e => EvidenceSealer.ParseBody(e.Body))];
    }
}
