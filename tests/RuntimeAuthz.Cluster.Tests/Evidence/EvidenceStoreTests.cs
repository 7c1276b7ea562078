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
    public async Task Unsigned_appends_of_one_partition_are_signed_once_per_batch_with_requests_in_flight_together_and_each_record_verifies()
    {
        var store = new AzureTableEvidenceStore(env.Azurite.ConnectionString, "Evidence" + Guid.NewGuid().ToString("N")[..10], partitionsForNewTable: 1)
        {
            RequestsInFlightPerPartition = 3,
            BatchWhileBusy = 2,
        };
        using var key = EvidenceSigningKey.Generate();
        var chains = Enumerable.Range(0, 40).Select(i => EvidenceChains.ForSession($"s{i}")).ToArray();
        await Task.WhenAll(chains.Select(async chain =>
        {
            var head = EvidenceHead.Empty;
            for (var i = 0; i < 5; i++)
            {
                var entry = EvidenceSealer.SealUnsigned(Body(chain, i), head, key.KeyId);
                await store.AppendUnsignedAsync(entry, key);
                head = new EvidenceHead(entry.Sequence, entry.Hash);
            }
        }));
        var (requests, entries) = store.AppendStatistics;
        Assert.Equal(200, entries);
        Assert.True(requests < entries, $"{requests} requests for {entries} records: nothing was batched");

        using var keys = new EvidencePublicKeys();
        keys.Add(key.KeyId, key.PublicKeyPem);
        var stored = new List<EvidenceEntry>();
        foreach (var chain in chains)
        {
            var chainEntries = await store.ReadChainAsync(chain);
            Assert.Equal([1L, 2, 3, 4, 5], chainEntries.Select(e => e.Sequence));
            var verified = EvidenceVerifier.Verify(chain, chainEntries, keys);
            Assert.True(verified.Valid, verified.Problem);
            stored.AddRange(chainEntries);
        }
        // Batched records carry their audit path; a batch shares one signature.
        Assert.Contains(stored, e => e.Proof is not null);
        Assert.True(stored.Select(e => e.Signature).Distinct().Count() < stored.Count);
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

    [Fact]
    public async Task A_chain_is_read_by_range_with_its_replay_data_however_long_and_bad_ranges_are_empty()
    {
        var store = NewStore();
        using var key = EvidenceSigningKey.Generate();
        var head = EvidenceHead.Empty;
        // Longer than one table property holds: stored in parts and read back whole.
        var longReplay = new string('r', 70_000);
        for (var i = 0; i < 12; i++)
        {
            var entry = EvidenceSealer.Seal(Body("session:range", i), head, key) with { Replay = i == 3 ? longReplay : $"replay-{i}" };
            await store.AppendAsync(entry);
            head = new EvidenceHead(entry.Sequence, entry.Hash);
        }
        await store.AppendAsync(EvidenceSealer.Seal(Body("session:range-other", 0), EvidenceHead.Empty, key));

        var middle = await store.ReadRangeAsync("session:range", afterSequence: 4, maxCount: 5);
        var tail = await store.ReadRangeAsync("session:range", afterSequence: 10, maxCount: 100);
        var start = await store.ReadRangeAsync("session:range", afterSequence: 0, maxCount: 4);

        Assert.Equal([5L, 6, 7, 8, 9], middle.Select(e => e.Sequence));
        Assert.Equal(["replay-4", "replay-5", "replay-6", "replay-7", "replay-8"], middle.Select(e => e.Replay));
        Assert.Equal([11L, 12], tail.Select(e => e.Sequence));
        Assert.Equal(longReplay, start[3].Replay);
        Assert.Empty(await store.ReadRangeAsync("session:range", afterSequence: 12, maxCount: 10));
        Assert.Empty(await store.ReadRangeAsync("session:range", afterSequence: 0, maxCount: 0));
        Assert.Equal([1L], (await store.ReadRangeAsync("session:range-other", -5, 10)).Select(e => e.Sequence));
        await Assert.ThrowsAsync<EvidenceNotWrittenException>(() => store.AppendAsync(
            EvidenceSealer.Seal(Body("session:range", 99), head, key) with { Replay = new string('x', AzureTableEvidenceStore.MaxReplayChars + 1) }));
    }

    [Fact]
    public async Task An_append_given_up_on_before_it_was_sent_is_never_stored()
    {
        var store = NewStore();
        using var key = EvidenceSigningKey.Generate();
        await store.AppendAsync(EvidenceSealer.Seal(Body("session:first", 0), EvidenceHead.Empty, key));
        Assert.IsType<EvidenceNotWrittenException>(await Record.ExceptionAsync(() =>
            store.AppendAsync(EvidenceSealer.Seal(Body("session:x", 0), EvidenceHead.Empty, key), new CancellationToken(canceled: true))));

        // Many appends to one partition: up to RequestsInFlightPerPartition transactions of 100 go out at once,
        // so more than that many wait in the queue when the caller gives up.
        var partitions = await store.SessionPartitionsAsync();
        var partition = AzureTableEvidenceStore.PartitionOf("session:q0", partitions);
        var queued = AzureTableEvidenceStore.DefaultRequestsInFlightPerPartition * AzureTableEvidenceStore.MaxBatch + 250;
        var chains = Enumerable.Range(0, 40 * queued).Select(i => $"session:q{i}").Where(c => AzureTableEvidenceStore.PartitionOf(c, partitions) == partition).Take(queued).ToArray();
        Assert.Equal(queued, chains.Length);
        // Sealed first: signing each while queueing took long enough for the transactions in flight to come back and
        // take the queue as it filled, so sometimes nothing was left waiting when the caller gave up.
        var sealedEntries = chains.Select(c => EvidenceSealer.Seal(Body(c, 0), EvidenceHead.Empty, key)).ToArray();
        using var giveUp = new CancellationTokenSource();
        var appends = sealedEntries.Select(e => store.AppendAsync(e, giveUp.Token)).ToArray();
        await giveUp.CancelAsync();
        var outcomes = await Task.WhenAll(appends.Select(async t => await Record.ExceptionAsync(() => t)));
        // Whatever was still in flight has settled once a later append of the partition is stored.
        await store.AppendAsync(EvidenceSealer.Seal(Body("session:q-last", 0), EvidenceHead.Empty, key));
        var stored = new HashSet<string>();
        foreach (var chain in chains) if ((await store.ReadChainAsync(chain)).Count > 0) stored.Add(chain);

        var withdrawn = chains.Where((_, i) => outcomes[i] is EvidenceNotWrittenException).ToArray();
        Assert.NotEmpty(withdrawn);
        Assert.All(withdrawn, c => Assert.DoesNotContain(c, stored));
        Assert.All(chains.Where((_, i) => outcomes[i] is null), c => Assert.Contains(c, stored));
    }

    [Fact]
    public async Task A_new_table_keeps_the_partition_count_it_was_created_with_and_a_table_from_before_the_layout_row_has_16()
    {
        var name = "Evidence" + Guid.NewGuid().ToString("N")[..10];
        using var key = EvidenceSigningKey.Generate();
        var single = new AzureTableEvidenceStore(env.Azurite.ConnectionString, name, partitionsForNewTable: 1);
        Assert.Equal(1, await single.SessionPartitionsAsync());
        var chains = Enumerable.Range(0, 20).Select(i => EvidenceChains.ForSession($"p{i}")).ToArray();
        await Task.WhenAll(chains.Select(c => single.AppendAsync(EvidenceSealer.Seal(Body(c, 0), EvidenceHead.Empty, key))));

        // A silo configured otherwise reads the table's own count, so it finds every chain.
        var other = new AzureTableEvidenceStore(env.Azurite.ConnectionString, name, partitionsForNewTable: 8);
        Assert.Equal(1, await other.SessionPartitionsAsync());
        foreach (var chain in chains) Assert.Single(await other.ReadChainAsync(chain));
        var raw = new Azure.Data.Tables.TableServiceClient(env.Azurite.ConnectionString).GetTableClient(name);
        var partitions = new HashSet<string>();
        await foreach (var row in raw.QueryAsync<Azure.Data.Tables.TableEntity>("PartitionKey ne '$keys'")) partitions.Add(row.PartitionKey);
        Assert.Equal(["s00"], partitions);
        Assert.Empty(await other.ListPublicKeysAsync());

        // A table with session rows and no layout row was written with the old fixed 16 partitions.
        var legacyName = "Evidence" + Guid.NewGuid().ToString("N")[..10];
        var legacyTable = new Azure.Data.Tables.TableServiceClient(env.Azurite.ConnectionString).GetTableClient(legacyName);
        await legacyTable.CreateAsync();
        var legacyChain = EvidenceChains.ForSession("old");
        var legacyEntry = EvidenceSealer.Seal(Body(legacyChain, 0), EvidenceHead.Empty, key);
        await legacyTable.AddEntityAsync(new Azure.Data.Tables.TableEntity(AzureTableEvidenceStore.PartitionOf(legacyChain, 16), AzureTableEvidenceStore.RowKeyOf(legacyChain, 1))
        {
            ["Body"] = legacyEntry.Body, ["Hash"] = legacyEntry.Hash, ["Signature"] = legacyEntry.Signature, ["KeyId"] = legacyEntry.KeyId,
        });
        var legacy = new AzureTableEvidenceStore(env.Azurite.ConnectionString, legacyName, partitionsForNewTable: 2);
        Assert.Equal(AzureTableEvidenceStore.LegacySessionPartitions, await legacy.SessionPartitionsAsync());
        Assert.Equal(legacyEntry.Hash, Assert.Single(await legacy.ReadChainAsync(legacyChain)).Hash);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void A_partition_count_outside_1_to_100_is_refused(int partitions) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new AzureTableEvidenceStore(env.Azurite.ConnectionString, "EvidenceUnused", partitionsForNewTable: partitions));
}
