using System.Text.Json;

namespace RuntimeAuthz.Evidence.Checkpoints;

/// <summary>Outcome of verifying one writer's checkpoint chain; <see cref="BrokenSequence"/> names the first checkpoint that fails.</summary>
public sealed record CheckpointChainVerification(string Writer, bool Valid, long Checkpoints, long? BrokenSequence, string? Problem)
{
    /// <summary>The name results list it under, beside the evidence chains.</summary>
    public string Name => "checkpoints:" + Writer;

    public override string ToString() => Valid
        ? $"{Name}: OK, {Checkpoints} checkpoints"
        : $"{Name}: BROKEN at checkpoint {BrokenSequence}: {Problem}";
}

/// <summary>What verified checkpoints seal: every sealed head per chain, and each writer's verification.</summary>
public sealed class CheckpointSeals
{
    public static readonly CheckpointSeals None = new([], new Dictionary<string, IReadOnlyList<SealedHead>>());

    internal CheckpointSeals(IReadOnlyList<CheckpointChainVerification> writers, IReadOnlyDictionary<string, IReadOnlyList<SealedHead>> chains)
    {
        Writers = writers;
        Chains = chains;
    }

    public IReadOnlyList<CheckpointChainVerification> Writers { get; }
    /// <summary>Chain id → the heads sealed for it (from the verified part of each checkpoint chain), lowest sequence first.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<SealedHead>> Chains { get; }
    public bool Valid => Writers.All(w => w.Valid);
}

/// <summary>
/// Verifies checkpoint chains with public keys only, then checks evidence chains against the heads
/// they seal: a chain that ends before a sealed head lost records (truncation or a storage rollback);
/// a sealed record whose hash differs was replaced.
/// </summary>
public static class CheckpointVerifier
{
    /// <summary>
    /// Each writer's checkpoints in sequence order: position, hash, canonical form, link and signature.
    /// Only checkpoints before a writer's first broken one contribute seals.
    /// </summary>
    public static CheckpointSeals Verify(IEnumerable<CheckpointEntry> checkpoints, EvidencePublicKeys keys)
    {
        var writers = new List<CheckpointChainVerification>();
        var sealedByChain = new Dictionary<string, List<SealedHead>>(StringComparer.Ordinal);
        foreach (var writer in checkpoints.GroupBy(c => c.Writer, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var entries = writer.OrderBy(c => c.Sequence).ToList();
            var (verified, valid) = VerifyWriter(writer.Key, entries, keys);
            writers.Add(verified);
            foreach (var (entry, body) in valid)
            {
                foreach (var head in body.Heads)
                {
                    if (!sealedByChain.TryGetValue(head.Chain, out var list)) sealedByChain[head.Chain] = list = [];
                    list.Add(new SealedHead(head.Chain, head.Sequence, head.Hash, entry.Writer, entry.Sequence));
                }
            }
        }
        return new CheckpointSeals(writers, sealedByChain.ToDictionary(
            p => p.Key, p => (IReadOnlyList<SealedHead>)[.. p.Value.OrderBy(s => s.Sequence)], StringComparer.Ordinal));
    }

    private static (CheckpointChainVerification, List<(CheckpointEntry, CheckpointBody)>) VerifyWriter(string writer, List<CheckpointEntry> entries, EvidencePublicKeys keys)
    {
        var valid = new List<(CheckpointEntry, CheckpointBody)>();
        var previousHash = EvidenceBody.GenesisHash;
        foreach (var entry in entries)
        {
            var expected = valid.Count + 1L;
            var problem = ProblemOf(writer, entry, expected, previousHash, keys, out var body);
            if (problem is not null) return (new CheckpointChainVerification(writer, false, entries.Count, expected, problem), valid);
            valid.Add((entry, body!));
            previousHash = entry.Hash;
        }
        return (new CheckpointChainVerification(writer, true, entries.Count, null, null), valid);
    }

    private static string? ProblemOf(string writer, CheckpointEntry entry, long expected, string previousHash, EvidencePublicKeys keys, out CheckpointBody? body)
    {
        body = null;
        if (entry.Sequence != expected)
            return entry.Sequence > expected ? $"checkpoint {expected} is missing (the next stored one is {entry.Sequence})" : $"checkpoint {entry.Sequence} is stored twice";
        try
        {
            body = CheckpointSealer.ParseBody(entry.Body);
            if (JsonCanonicalizer.Canonicalize(entry.Body) != entry.Body) return "body is not in canonical form";
        }
        catch (JsonException ex)
        {
            return $"body is not a valid checkpoint: {ex.Message}";
        }
        if (EvidenceSealer.HashOf(entry.Body) != entry.Hash) return "content does not match its hash (the checkpoint was changed)";
        if (body.Type != CheckpointBody.TypeName || body.Writer != writer || body.Sequence != entry.Sequence)
            return $"row holds checkpoint {body.Sequence} of '{body.Writer}' (moved or reordered)";
        if (body.PreviousHash != previousHash) return "previous-hash link does not match the preceding checkpoint (one before it was changed or removed)";
        if (body.KeyId != entry.KeyId) return $"signed key id '{body.KeyId}' differs from the row's key id '{entry.KeyId}'";
        if (!keys.Contains(body.KeyId)) return $"signing key '{body.KeyId}' is unknown (no public key for it)";
        if (!keys.Verify(body.KeyId, entry.Body, entry.Signature)) return $"signature does not verify with key '{body.KeyId}'";
        return null;
    }

    /// <summary>
    /// <paramref name="verified"/> (the chain's own verification) unless the checkpoints say more: the
    /// stored chain ends before a sealed head, or a sealed record was replaced.
    /// </summary>
    public static ChainVerification Check(ChainVerification verified, IReadOnlyList<EvidenceEntry> entries, CheckpointSeals seals)
    {
        if (!seals.Chains.TryGetValue(verified.Chain, out var sealedHeads) || sealedHeads.Count == 0) return verified;
        var stored = entries.Count == 0 ? 0 : entries.Max(e => e.Sequence);
        var highest = sealedHeads[^1];
        if (highest.Sequence > stored)
        {
            var range = highest.Sequence == stored + 1 ? $"record {highest.Sequence}" : $"records {stored + 1}..{highest.Sequence}";
            return new ChainVerification(verified.Chain, false, entries.Count, stored + 1,
                $"{range} sealed in {highest.CheckpointName} {(highest.Sequence == stored + 1 ? "is" : "are")} missing (the stored chain ends at record {stored})");
        }
        var bySequence = new Dictionary<long, EvidenceEntry>();
        foreach (var entry in entries) bySequence.TryAdd(entry.Sequence, entry);
        foreach (var seal in sealedHeads)
        {
            if (!bySequence.TryGetValue(seal.Sequence, out var entry))
                return new ChainVerification(verified.Chain, false, entries.Count, seal.Sequence, $"record {seal.Sequence} sealed in {seal.CheckpointName} is missing");
            if (entry.Hash != seal.Hash)
                return new ChainVerification(verified.Chain, false, entries.Count, seal.Sequence,
                    $"record {seal.Sequence} is not the record sealed in {seal.CheckpointName} (replaced after the checkpoint)");
        }
        return verified;
    }

    /// <summary>Verifies the chain on its own (<see cref="EvidenceVerifier"/>), then against the checkpoints.</summary>
    public static ChainVerification VerifyChain(string chain, IReadOnlyList<EvidenceEntry> entries, EvidencePublicKeys keys, CheckpointSeals seals, long minimumRecords = 0) =>
        Check(EvidenceVerifier.Verify(chain, entries, keys, minimumRecords), entries, seals);
}
