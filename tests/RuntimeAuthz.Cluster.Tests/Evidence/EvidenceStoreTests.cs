using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Cluster.Tests.Evidence;

/// <summary>The Azure Table evidence store against Azurite: append-only, batched, chains read back in order.</summary>
[Collection(ClusterCollection.Name)]
public sealed class EvidenceStoreTests(ClusterEnvironment env)
{
    private AzureTableEvidenceStore NewStore() => new(env.Azurite.ConnectionString, "Evidence" + Guid.NewGuid().ToString("N")[..10]);

    private static EvidenceBody Body(string chain, int i) => new()
    {
        Chain = chain, Time = EvidenceSealer.FormatTime(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(i)), Outcome = "Allow", Action = $"a{i}",
    };

    [Fact]
    public async Task Concurrent_appends_of_many_chains_all_land_in_order_and_verify()
    {
        var store = NewStore();
        using var key = EvidenceSigningKey.Generate();
        var chains = Enumerable.Range(0, 40).Select(i => EvidenceChains.ForSession($"s{i}")).ToArray();
        // Each chain appends sequentially (as its grain does), all chains at once.
        await Task.WhenAll(chains.Select(async chain =>
        {
            var head = EvidenceHead.Empty;
            for (var i = 0; i < 6; i++)
            {
                var entry = EvidenceSealer.Seal(Body(chain, i), head, key);
                await store.AppendAsync(entry);
                head = new EvidenceHead(entry.Sequence, entry.Hash);
            }
        }));
        var (requests, entries) = store.AppendStatistics;
        Assert.Equal(240, entries);
        Assert.InRange(requests, 1, 240);

        using var keys = new EvidencePublicKeys();
        keys.Add(key.KeyId, key.PublicKeyPem);
        foreach (var chain in chains)
        {
            var stored = await store.ReadChainAsync(chain);
            Assert.Equal([1L, 2, 3, 4, 5, 6], stored.Select(e => e.Sequence));
            Assert.True(EvidenceVerifier.Verify(chain, stored, keys).Valid);
            Assert.Equal(new EvidenceHead(6, stored[^1].Hash), await store.ReadHeadAsync(chain));
        }
        Assert.Equal(chains.Order(StringComparer.Ordinal), await store.ListChainsAsync());
    }

    [Fact]
    public async Task A_taken_sequence_is_refused_and_only_that_append_fails()
    {
        var store = NewStore();
        using var key = EvidenceSigningKey.Generate();
        var first = EvidenceSealer.Seal(Body("session:a", 0), EvidenceHead.Empty, key);
        await store.AppendAsync(first);
        var duplicate = EvidenceSealer.Seal(Body("session:a", 99), EvidenceHead.Empty, key);
        // Others submitted at the same moment, possibly in the same batch transaction, still land.
        var others = Enumerable.Range(0, 30).Select(i => EvidenceSealer.Seal(Body($"session:b{i}", i), EvidenceHead.Empty, key)).ToArray();
        var duplicateTask = store.AppendAsync(duplicate);
        var otherTasks = others.Select(e => store.AppendAsync(e)).ToArray();
        var conflict = await Assert.ThrowsAsync<EvidenceConflictException>(() => duplicateTask);
        Assert.Equal(1, conflict.Sequence);
        await Task.WhenAll(otherTasks);
        Assert.Equal(first.Body, (await store.ReadChainAsync("session:a")).Single().Body);
        foreach (var other in others) Assert.Single(await store.ReadChainAsync(other.Chain));
    }

    [Fact]
    public async Task The_development_key_is_created_once_and_shared()
    {
        var store = NewStore();
        using var a = EvidenceSigningKey.Generate();
        using var b = EvidenceSigningKey.Generate();
        var results = await Task.WhenAll(store.GetOrCreateDevelopmentKeyAsync(a.ExportPrivateKeyPem()), store.GetOrCreateDevelopmentKeyAsync(b.ExportPrivateKeyPem()));
        Assert.Equal(results[0], results[1]);
        Assert.Equal(results[0], await store.GetOrCreateDevelopmentKeyAsync(EvidenceSigningKey.Generate().ExportPrivateKeyPem()));
        await store.PublishPublicKeyAsync(a.KeyId, a.PublicKeyPem);
        await store.PublishPublicKeyAsync(a.KeyId, a.PublicKeyPem);
        await Assert.ThrowsAsync<EvidenceKeyException>(() => store.PublishPublicKeyAsync(a.KeyId, b.PublicKeyPem));
        Assert.Equal(a.PublicKeyPem, Assert.Single(await store.ListPublicKeysAsync()).Value);
    }
}
