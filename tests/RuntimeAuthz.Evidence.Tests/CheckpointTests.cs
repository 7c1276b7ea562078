using System.Text.Json.Nodes;
using RuntimeAuthz.Evidence.Checkpoints;

namespace RuntimeAuthz.Evidence.Tests;

/// <summary>Checkpoints of chain heads: their own signed chains, and chains checked against what they seal.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly EvidenceSigningKey key = EvidenceSigningKey.Generate();
    private readonly EvidencePublicKeys keys = new();
    private static readonly DateTimeOffset At = new(2030, 1, 1, 8, 0, 0, TimeSpan.Zero);
    private const string Chain = "session:s-1";
    private const string Writer = "silo-a";

    public CheckpointTests() => keys.Add(key.KeyId, key.PublicKeyPem);

    public void Dispose()
    {
        key.Dispose();
        keys.Dispose();
    }

    private List<EvidenceEntry> BuildChain(int count, string chain = Chain, string action = "read_file")
    {
        var entries = new List<EvidenceEntry>();
        var head = EvidenceHead.Empty;
        for (var i = 0; i < count; i++)
        {
            var entry = EvidenceSealer.Seal(new EvidenceBody
            {
                Chain = chain, Time = EvidenceSealer.FormatTime(At.AddSeconds(i)), DecisionId = Guid.NewGuid().ToString(),
                Action = action, Resource = $"Document::\"d{i}\"", Outcome = "Allow", PolicyVersion = 1,
            }, head, key);
            entries.Add(entry);
            head = new EvidenceHead(entry.Sequence, entry.Hash);
        }
        return entries;
    }

    private static ChainHead HeadOf(IReadOnlyList<EvidenceEntry> chain, int records) => new(chain[records - 1].Chain, records, chain[records - 1].Hash);

    /// <summary>One writer's checkpoints, each sealing the given heads.</summary>
    private List<CheckpointEntry> Checkpoints(string writer, params ChainHead[][] rounds)
    {
        var result = new List<CheckpointEntry>();
        foreach (var heads in rounds) result.Add(CheckpointSealer.Seal(writer, result.LastOrDefault(), heads, At, key));
        return result;
    }

    [Fact]
    public void Checkpoints_link_to_each_other_and_a_chain_that_still_holds_every_sealed_record_verifies()
    {
        var chain = BuildChain(8);
        var checkpoints = Checkpoints(Writer, [HeadOf(chain, 3)], [HeadOf(chain, 6)]);
        Assert.Equal(checkpoints[0].Hash, CheckpointSealer.ParseBody(checkpoints[1].Body).PreviousHash);

        var seals = CheckpointVerifier.Verify(checkpoints, keys);
        Assert.True(seals.Valid, string.Join("; ", seals.Writers));
        Assert.Equal([3L, 6], seals.Chains[Chain].Select(s => s.Sequence));
        // Records after the last checkpoint are fine: the chain moved on.
        var result = CheckpointVerifier.VerifyChain(Chain, chain, keys, seals);
        Assert.True(result.Valid, result.ToString());
        Assert.Equal(8, result.Records);
    }

    [Theory]
    [InlineData(8, 3, "records 4..6 sealed in checkpoint 2 of silo-a are missing (the stored chain ends at record 3)")]
    [InlineData(8, 5, "record 6 sealed in checkpoint 2 of silo-a is missing (the stored chain ends at record 5)")]
    [InlineData(6, 0, "records 1..6 sealed in checkpoint 2 of silo-a are missing (the stored chain ends at record 0)")]
    public void A_chain_whose_last_records_were_deleted_fails_naming_the_missing_range_and_the_checkpoint(int written, int kept, string problem)
    {
        var chain = BuildChain(written);
        var seals = CheckpointVerifier.Verify(Checkpoints(Writer, [HeadOf(chain, 2)], [HeadOf(chain, 6)]), keys);

        var truncated = chain.Take(kept).ToList();
        // On its own the shortened chain is intact: only the checkpoint shows what is gone.
        Assert.True(EvidenceVerifier.Verify(Chain, truncated, keys).Valid);
        var result = CheckpointVerifier.VerifyChain(Chain, truncated, keys, seals);

        Assert.False(result.Valid);
        Assert.Equal(kept + 1, result.BrokenSequence);
        Assert.Equal($"{Chain}: BROKEN at record {kept + 1}: {problem}", result.ToString());
    }

    [Fact]
    public void A_chain_rolled_back_and_written_again_to_the_same_length_fails_on_the_replaced_record()
    {
        var original = BuildChain(6);
        var seals = CheckpointVerifier.Verify(Checkpoints(Writer, [HeadOf(original, 5)]), keys);
        // Records 4.. lost, then new records continued the shortened chain: valid links, different content.
        var rewritten = original.Take(3).ToList();
        var head = new EvidenceHead(3, rewritten[^1].Hash);
        for (var i = 0; i < 3; i++)
        {
            var entry = EvidenceSealer.Seal(new EvidenceBody { Chain = Chain, Time = EvidenceSealer.FormatTime(At.AddMinutes(i)), Action = "later" }, head, key);
            rewritten.Add(entry);
            head = new EvidenceHead(entry.Sequence, entry.Hash);
        }
        Assert.True(EvidenceVerifier.Verify(Chain, rewritten, keys).Valid);

        var result = CheckpointVerifier.VerifyChain(Chain, rewritten, keys, seals);
        Assert.False(result.Valid);
        Assert.Equal(5, result.BrokenSequence);
        Assert.Contains("record 5 is not the record sealed in checkpoint 1 of silo-a", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_highest_head_counts_across_writers_whose_checkpoints_seal_the_same_chain()
    {
        // The session moved from silo-a to silo-b: each sealed the heads it wrote.
        var chain = BuildChain(9);
        var seals = CheckpointVerifier.Verify([.. Checkpoints("silo-a", [HeadOf(chain, 4)]), .. Checkpoints("silo-b", [HeadOf(chain, 7)])], keys);
        Assert.Equal(2, seals.Writers.Count);

        var result = CheckpointVerifier.VerifyChain(Chain, chain.Take(6).ToList(), keys, seals);
        Assert.False(result.Valid);
        Assert.Contains("record 7 sealed in checkpoint 1 of silo-b is missing", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chain_no_checkpoint_mentions_is_verified_on_its_own()
    {
        var other = BuildChain(2, "session:s-2");
        var seals = CheckpointVerifier.Verify(Checkpoints(Writer, [HeadOf(BuildChain(3), 3)]), keys);
        Assert.True(CheckpointVerifier.VerifyChain("session:s-2", other, keys, seals).Valid);
        Assert.True(CheckpointVerifier.VerifyChain("session:s-2", other, keys, CheckpointSeals.None).Valid);
    }

    public static TheoryData<string, int, string> BrokenCheckpointChains => new()
    {
        { "changed", 2, "content does not match its hash" },
        { "rehashed", 2, "signature does not verify" },
        { "removed", 2, "checkpoint 2 is missing (the next stored one is 3)" },
        { "foreign-key", 1, "signing key 'p256-" },
        { "relinked", 3, "previous-hash link does not match" },
    };

    [Theory]
    [MemberData(nameof(BrokenCheckpointChains))]
    public void A_broken_or_badly_signed_checkpoint_chain_fails_and_seals_nothing_from_the_broken_checkpoint_on(string damage, int broken, string problem)
    {
        var chain = BuildChain(9);
        var checkpoints = Checkpoints(Writer, [HeadOf(chain, 2)], [HeadOf(chain, 5)], [HeadOf(chain, 8)]);
        using var stranger = EvidenceSigningKey.Generate();
        switch (damage)
        {
            case "changed":
                checkpoints[1] = checkpoints[1] with { Body = checkpoints[1].Body.Replace("\"seq\":5", "\"seq\":4", StringComparison.Ordinal) };
                break;
            case "rehashed":
                var body = checkpoints[1].Body.Replace("\"seq\":5", "\"seq\":4", StringComparison.Ordinal);
                checkpoints[1] = checkpoints[1] with { Body = body, Hash = EvidenceSealer.HashOf(body) };
                break;
            case "removed":
                checkpoints.RemoveAt(1);
                break;
            case "foreign-key":
                checkpoints = [CheckpointSealer.Seal(Writer, null, [HeadOf(chain, 2)], At, stranger), .. checkpoints.Skip(1)];
                break;
            case "relinked":
                // Checkpoint 2 re-sealed with other heads: checkpoint 3 still links to the original.
                checkpoints[1] = CheckpointSealer.Seal(Writer, checkpoints[0], [HeadOf(chain, 1)], At, key);
                break;
        }
        var seals = CheckpointVerifier.Verify(checkpoints, keys);

        var writer = Assert.Single(seals.Writers);
        Assert.False(seals.Valid);
        Assert.Equal(broken, writer.BrokenSequence);
        Assert.Contains(problem, writer.Problem, StringComparison.Ordinal);
        Assert.StartsWith($"checkpoints:{Writer}: BROKEN at checkpoint {broken}: ", writer.ToString(), StringComparison.Ordinal);
        var trusted = seals.Chains.TryGetValue(Chain, out var heads) ? heads.Select(h => h.Checkpoint).ToArray() : [];
        Assert.All(trusted, c => Assert.True(c < broken));
    }

    [Fact]
    public void An_export_of_records_and_checkpoints_reads_back_to_entries_that_verify_exactly_as_stored()
    {
        var chain = BuildChain(4);
        var other = BuildChain(2, "governance", action: "publish \"v2\" ünïcode");
        var checkpoints = Checkpoints(Writer, [HeadOf(chain, 4), HeadOf(other, 2)]);
        var lines = chain.Concat(other).Select(EvidenceExport.ToJsonLine).Concat(checkpoints.Select(CheckpointExport.ToJsonLine)).Append("").ToList();
        Assert.Equal("checkpoint", JsonNode.Parse(lines[^2])!["type"]!.GetValue<string>());

        var read = CheckpointExport.Read(lines);

        Assert.Equal(chain, read.Chains[Chain]);
        Assert.Equal(other.Select(e => e.Body), read.Chains["governance"].Select(e => e.Body));
        Assert.Equal(checkpoints, read.Checkpoints);
        var seals = CheckpointVerifier.Verify(read.Checkpoints, keys);
        Assert.True(seals.Valid);
        Assert.True(CheckpointVerifier.VerifyChain(Chain, read.Chains[Chain], keys, seals).Valid);

        // A line removed from the export is found as from the table.
        var shortened = CheckpointExport.Read(lines.Where((_, i) => i != 3));
        Assert.Contains("record 4 sealed in checkpoint 1 of silo-a is missing", CheckpointVerifier.VerifyChain(Chain, shortened.Chains[Chain], keys, seals).Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json", "line 2 is not an evidence export line")]
    [InlineData("[1,2]", "line 2 is not an evidence export line: not a JSON object")]
    [InlineData("""{"chain":"c","seq":1}""", "line 2 is not an evidence export line: no hash")]
    [InlineData("""{"type":"checkpoint","heads":"x","hash":"h","signature":"s"}""", "line 2 is not an evidence export line")]
    public void An_export_line_that_is_not_one_is_refused_naming_its_number(string line, string message)
    {
        var good = EvidenceExport.ToJsonLine(BuildChain(1)[0]);
        var error = Assert.Throws<FormatException>(() => CheckpointExport.Read([good, line]));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }
}
