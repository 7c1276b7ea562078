using System.Globalization;
using System.Text.Json.Nodes;
using RuntimeAuthz.Evidence.Checkpoints;

namespace RuntimeAuthz.Evidence.Tests;

/// <summary>
/// One signature per batch (a Merkle root over the batch's record hashes): every record still verifies
/// on its own, and a changed record, a changed proof or signature, or a removed record is named.
/// </summary>
public sealed class BatchSealTests : IDisposable
{
    private readonly EvidenceSigningKey key = EvidenceSigningKey.Generate();
    private readonly EvidencePublicKeys keys = new();

    public BatchSealTests() => keys.Add(key.KeyId, key.PublicKeyPem);

    public void Dispose()
    {
        key.Dispose();
        keys.Dispose();
    }

    private static string ChainName(int i) => "session:s-" + i.ToString(CultureInfo.InvariantCulture);

    private static EvidenceBody Decision(string chain, int round) => new()
    {
        Chain = chain, Time = EvidenceSealer.FormatTime(new DateTimeOffset(2030, 1, 1, 8, 0, round, TimeSpan.Zero)),
        DecisionId = Guid.NewGuid().ToString(), Action = "read_file", Resource = $"Document::\"d{round}\"", Outcome = "Allow",
        DeterminingPolicies = ["policy0"], PolicyVersion = 3, InputDigest = "sha256:" + new string('a', 64),
    };

    /// <summary>
    /// <paramref name="chains"/> chains of <paramref name="rounds"/> records; each round's records (one per chain,
    /// as a partition's batch holds them) are signed together.
    /// </summary>
    private Dictionary<string, List<EvidenceEntry>> BuildBatched(int chains, int rounds)
    {
        var built = Enumerable.Range(0, chains).ToDictionary(ChainName, _ => new List<EvidenceEntry>(), StringComparer.Ordinal);
        for (var round = 0; round < rounds; round++)
        {
            var unsigned = built.Select(c => EvidenceSealer.SealUnsigned(Decision(c.Key, round),
                c.Value.Count == 0 ? EvidenceHead.Empty : new EvidenceHead(c.Value[^1].Sequence, c.Value[^1].Hash), key.KeyId)).ToArray();
            foreach (var signed in EvidenceBatchSeal.Sign(unsigned, key)) built[signed.Chain].Add(signed);
        }
        return built;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(100)]
    public void Every_record_of_a_batch_verifies_on_its_own(int batchSize)
    {
        var chains = BuildBatched(batchSize, 3);
        foreach (var (chain, entries) in chains)
        {
            Assert.All(entries, e => Assert.NotNull(e.Proof));
            var result = EvidenceVerifier.Verify(chain, entries, keys);
            Assert.True(result.Valid, result.Problem);
            Assert.Equal(3, result.Records);
        }
        // One signature for the whole batch, not one per record.
        Assert.Single(chains.Values.Select(c => c[0].Signature).Distinct());
    }

    [Fact]
    public void A_batch_of_one_is_signed_over_its_body_as_before()
    {
        var entries = BuildBatched(1, 4)[ChainName(0)];
        Assert.All(entries, e => Assert.Null(e.Proof));
        Assert.All(entries, e => Assert.True(keys.Verify(key.KeyId, e.Body, e.Signature)));
        Assert.True(EvidenceVerifier.Verify(ChainName(0), entries, keys).Valid);
    }

    [Fact]
    public void Records_signed_one_by_one_and_batch_signed_records_verify_in_one_chain()
    {
        var chain = ChainName(0);
        var old = EvidenceSealer.Seal(Decision(chain, 0), EvidenceHead.Empty, key);
        var next = EvidenceBatchSeal.Sign(
            [EvidenceSealer.SealUnsigned(Decision(chain, 1), new EvidenceHead(old.Sequence, old.Hash), key.KeyId),
             EvidenceSealer.SealUnsigned(Decision(ChainName(1), 1), EvidenceHead.Empty, key.KeyId)], key);
        var result = EvidenceVerifier.Verify(chain, [old, next[0]], keys);
        Assert.True(result.Valid, result.Problem);
    }

    [Fact]
    public void A_changed_record_with_a_recomputed_hash_is_named_and_its_batch_neighbours_still_verify()
    {
        var chains = BuildBatched(6, 4);
        var victim = chains[ChainName(2)];
        var changedBody = victim[2].Body.Replace("\"Allow\"", "\"Deny\"", StringComparison.Ordinal);
        victim[2] = victim[2] with { Body = changedBody, Hash = EvidenceSealer.HashOf(changedBody) };
        // The chain ends after it, so no later link gives it away: only the batch signature can.
        var result = EvidenceVerifier.Verify(ChainName(2), victim.Take(3).ToList(), keys);
        Assert.False(result.Valid);
        Assert.Equal(3, result.BrokenSequence);
        Assert.Contains("batch signature does not verify", result.Problem, StringComparison.Ordinal);
        foreach (var other in chains.Where(c => c.Key != ChainName(2)))
            Assert.True(EvidenceVerifier.Verify(other.Key, other.Value, keys).Valid);
    }

    [Fact]
    public void A_changed_hash_in_a_proof_is_named()
    {
        var chains = BuildBatched(5, 3);
        var entries = chains[ChainName(4)];
        var proof = entries[1].Proof!;
        var lastHash = proof[^64..];
        var flipped = (lastHash[0] == '0' ? "1" : "0") + lastHash[1..];
        entries[1] = entries[1] with { Proof = proof[..^64] + flipped };
        var result = EvidenceVerifier.Verify(ChainName(4), entries, keys);
        Assert.False(result.Valid);
        Assert.Equal(2, result.BrokenSequence);
    }

    [Fact]
    public void A_proof_moved_to_another_position_or_record_is_named()
    {
        var chains = BuildBatched(4, 2);
        var entries = chains[ChainName(1)];
        var proof = entries[0].Proof!;
        var moved = entries.ToList();
        moved[0] = entries[0] with { Proof = "2" + proof[1..] };
        Assert.Equal(1, EvidenceVerifier.Verify(ChainName(1), moved, keys).BrokenSequence);
        var borrowed = entries.ToList();
        borrowed[0] = entries[0] with { Proof = chains[ChainName(0)][0].Proof };
        Assert.Equal(1, EvidenceVerifier.Verify(ChainName(1), borrowed, keys).BrokenSequence);
    }

    [Theory]
    [InlineData("not a proof")]
    [InlineData("1/1")]
    [InlineData("4/4:00")]
    [InlineData("0/4")]
    [InlineData("")]
    public void A_proof_that_is_no_audit_path_is_named(string proof)
    {
        var entries = BuildBatched(4, 2)[ChainName(3)];
        entries[1] = entries[1] with { Proof = proof };
        var result = EvidenceVerifier.Verify(ChainName(3), entries, keys);
        Assert.False(result.Valid);
        Assert.Equal(2, result.BrokenSequence);
        Assert.Contains("batch proof", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_batch_signature_is_named()
    {
        var entries = BuildBatched(3, 3)[ChainName(0)];
        var other = BuildBatched(3, 1)[ChainName(0)][0];
        entries[2] = entries[2] with { Signature = other.Signature };
        var result = EvidenceVerifier.Verify(ChainName(0), entries, keys);
        Assert.False(result.Valid);
        Assert.Equal(3, result.BrokenSequence);
    }

    [Fact]
    public void A_removed_record_is_named_and_the_records_of_its_batch_in_other_chains_still_verify()
    {
        var chains = BuildBatched(4, 5);
        var entries = chains[ChainName(3)];
        entries.RemoveAt(2);
        var result = EvidenceVerifier.Verify(ChainName(3), entries, keys);
        Assert.False(result.Valid);
        Assert.Equal(3, result.BrokenSequence);
        Assert.Contains("missing", result.Problem, StringComparison.Ordinal);
        Assert.True(EvidenceVerifier.Verify(ChainName(0), chains[ChainName(0)], keys).Valid);
    }

    [Fact]
    public void A_proof_added_to_a_record_signed_over_its_body_is_named()
    {
        var entries = BuildBatched(1, 2)[ChainName(0)];
        entries[0] = entries[0] with { Proof = BuildBatched(2, 1)[ChainName(0)][0].Proof };
        Assert.Equal(1, EvidenceVerifier.Verify(ChainName(0), entries, keys).BrokenSequence);
    }

    [Fact]
    public void The_export_carries_the_proof_and_verifies_again_and_a_proof_changed_in_the_file_is_named()
    {
        var chains = BuildBatched(3, 3);
        var lines = chains.Values.SelectMany(c => c).Select(EvidenceExport.ToJsonLine).ToList();
        Assert.Contains("\"batchProof\":", lines[0], StringComparison.Ordinal);
        var read = CheckpointExport.Read(lines);
        foreach (var (chain, entries) in chains)
        {
            Assert.Equal(entries.Select(e => e.Proof), read.Chains[chain].Select(e => e.Proof));
            Assert.True(EvidenceVerifier.Verify(chain, read.Chains[chain], keys).Valid);
        }
        var line = JsonNode.Parse(lines[1])!.AsObject();
        var proof = (string)line["batchProof"]!;
        line["batchProof"] = proof[..^1] + (proof[^1] == '0' ? '1' : '0');
        lines[1] = line.ToJsonString();
        var tampered = CheckpointExport.Read(lines);
        var result = EvidenceVerifier.Verify(ChainName(0), tampered.Chains[ChainName(0)], keys);
        Assert.False(result.Valid);
        Assert.Equal(2, result.BrokenSequence);
    }
}
