using System.Text.Json.Nodes;

namespace RuntimeAuthz.Evidence.Tests;

public sealed class SealAndVerifyTests : IDisposable
{
    private readonly EvidenceSigningKey key = EvidenceSigningKey.Generate();
    private readonly EvidencePublicKeys keys = new();
    private const string Chain = "session:s-1";

    public SealAndVerifyTests() => keys.Add(key.KeyId, key.PublicKeyPem);

    public void Dispose()
    {
        key.Dispose();
        keys.Dispose();
    }

    private List<EvidenceEntry> BuildChain(int count, EvidenceSigningKey? signer = null)
    {
        var entries = new List<EvidenceEntry>();
        var head = EvidenceHead.Empty;
        for (var i = 0; i < count; i++)
        {
            var entry = EvidenceSealer.Seal(new EvidenceBody
            {
                Chain = Chain, Time = EvidenceSealer.FormatTime(new DateTimeOffset(2030, 1, 1, 8, 0, i, TimeSpan.Zero)),
                DecisionId = Guid.NewGuid().ToString(), Action = "read_file", Resource = $"Document::\"d{i}\"", Outcome = "Allow",
                DeterminingPolicies = ["policy0"], PolicyVersion = 3, InputDigest = "sha256:" + new string('a', 64),
            }, head, signer ?? key);
            entries.Add(entry);
            head = new EvidenceHead(entry.Sequence, entry.Hash);
        }
        return entries;
    }

    [Fact]
    public void A_sealed_chain_verifies_and_links_each_record_to_the_previous()
    {
        var entries = BuildChain(5);
        Assert.Equal([1L, 2, 3, 4, 5], entries.Select(e => e.Sequence));
        Assert.Equal(EvidenceBody.GenesisHash, EvidenceSealer.ParseBody(entries[0].Body).PreviousHash);
        Assert.Equal(entries[2].Hash, EvidenceSealer.ParseBody(entries[3].Body).PreviousHash);
        var result = EvidenceVerifier.Verify(Chain, entries, keys);
        Assert.True(result.Valid, result.Problem);
        Assert.Equal(5, result.Records);
    }

    [Fact]
    public void A_changed_field_breaks_that_record()
    {
        var entries = BuildChain(4);
        entries[2] = entries[2] with { Body = entries[2].Body.Replace("\"Allow\"", "\"Deny\"", StringComparison.Ordinal) };
        var result = EvidenceVerifier.Verify(Chain, entries, keys);
        Assert.False(result.Valid);
        Assert.Equal(3, result.BrokenSequence);
    }

    [Fact]
    public void A_changed_record_with_a_recomputed_hash_fails_on_its_signature()
    {
        var entries = BuildChain(3);
        var forged = entries[1].Body.Replace("read_file", "send_payment", StringComparison.Ordinal);
        entries[1] = entries[1] with { Body = forged, Hash = EvidenceSealer.HashOf(forged) };
        var result = EvidenceVerifier.Verify(Chain, entries, keys);
        Assert.Equal(2, result.BrokenSequence);
        Assert.Contains("signature", result.Problem);
    }

    [Fact]
    public void A_deleted_record_is_named()
    {
        var entries = BuildChain(5);
        entries.RemoveAt(2);
        var result = EvidenceVerifier.Verify(Chain, entries, keys);
        Assert.Equal(3, result.BrokenSequence);
        Assert.Contains("missing", result.Problem);
    }

    [Fact]
    public void A_deleted_last_record_is_found_with_the_expected_count()
    {
        var entries = BuildChain(5);
        entries.RemoveAt(4);
        Assert.True(EvidenceVerifier.Verify(Chain, entries, keys).Valid);
        var result = EvidenceVerifier.Verify(Chain, entries, keys, minimumRecords: 5);
        Assert.Equal(5, result.BrokenSequence);
    }

    [Fact]
    public void Swapped_row_contents_are_found_at_the_first_swapped_row()
    {
        var entries = BuildChain(5);
        var (second, fourth) = (entries[1], entries[3]);
        entries[1] = fourth with { Sequence = 2 };
        entries[3] = second with { Sequence = 4 };
        var result = EvidenceVerifier.Verify(Chain, entries, keys);
        Assert.Equal(2, result.BrokenSequence);
    }

    [Fact]
    public void A_record_signed_by_an_unknown_key_fails_and_a_rotated_key_verifies_once_known()
    {
        using var rotated = EvidenceSigningKey.Generate("rotated-2031");
        var first = BuildChain(2);
        var head = new EvidenceHead(first[^1].Sequence, first[^1].Hash);
        var next = EvidenceSealer.Seal(new EvidenceBody { Chain = Chain, Time = "2031-01-01T00:00:00.0000000Z", Outcome = "Deny" }, head, rotated);
        var entries = first.Append(next).ToList();
        var unknown = EvidenceVerifier.Verify(Chain, entries, keys);
        Assert.Equal(3, unknown.BrokenSequence);
        Assert.Contains("unknown", unknown.Problem);
        keys.Add(rotated.KeyId, rotated.PublicKeyPem);
        Assert.True(EvidenceVerifier.Verify(Chain, entries, keys).Valid);
    }

    [Fact]
    public void Keys_round_trip_through_pem_and_verification_needs_only_the_public_key()
    {
        var pem = key.ExportPrivateKeyPem();
        using var reloaded = EvidenceSigningKey.FromPem(pem);
        Assert.Equal(key.KeyId, reloaded.KeyId);
        Assert.StartsWith("p256-", reloaded.KeyId);
        using var publicOnly = new EvidencePublicKeys();
        publicOnly.Add(key.KeyId, key.PublicKeyPem);
        Assert.True(publicOnly.Verify(key.KeyId, "hello", reloaded.Sign("hello")));
        Assert.False(publicOnly.Verify(key.KeyId, "hello!", reloaded.Sign("hello")));
        Assert.Throws<EvidenceKeyException>(() => EvidenceSigningKey.FromPem(key.PublicKeyPem));
        Assert.Throws<EvidenceKeyException>(() => EvidenceSigningKey.FromPem("not a key"));
    }

    [Fact]
    public void A_record_moved_to_another_chain_fails()
    {
        var entries = BuildChain(2);
        var result = EvidenceVerifier.Verify("session:other", entries, keys);
        Assert.Equal(1, result.BrokenSequence);
        Assert.Contains("chain", result.Problem);
    }

    [Fact]
    public void Export_lines_carry_the_record_fields_hash_signature_and_controls()
    {
        var entry = BuildChain(1)[0];
        var line = JsonNode.Parse(EvidenceExport.ToJsonLine(entry))!;
        Assert.Equal(1, line["seq"]!.GetValue<long>());
        Assert.Equal("read_file", line["action"]!.GetValue<string>());
        Assert.Equal(entry.Hash, line["hash"]!.GetValue<string>());
        Assert.Equal(entry.Signature, line["signature"]!.GetValue<string>());
        Assert.Equal(key.KeyId, line["keyId"]!.GetValue<string>());
        var controls = line["controls"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray();
        Assert.Contains("EU-AI-ACT:Art.12", controls);
        Assert.DoesNotContain("EU-AI-ACT:Art.14", controls);
        var approval = EvidenceExport.ControlsFor(new EvidenceBody { Kind = EvidenceKinds.Decision, Outcome = "ApprovalRequired" });
        Assert.Contains("EU-AI-ACT:Art.14", approval);
    }
}
