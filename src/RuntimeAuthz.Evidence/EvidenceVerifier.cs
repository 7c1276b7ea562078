using System.Text.Json;

namespace RuntimeAuthz.Evidence;

/// <summary>Outcome of verifying one chain. <see cref="BrokenSequence"/> names the first record that fails.</summary>
public sealed record ChainVerification(string Chain, bool Valid, long Records, long? BrokenSequence, string? Problem)
{
    public override string ToString() => Valid
        ? $"{Chain}: OK, {Records} records"
        : $"{Chain}: BROKEN at record {BrokenSequence}: {Problem}";
}

/// <summary>
/// Recomputes a chain from its stored rows with public keys only: each record's hash, its link to
/// the previous record, its position (row key vs signed sequence, no gaps) and its signature (over
/// the body, or over its batch's root through the record's own audit path).
/// </summary>
public static class EvidenceVerifier
{
    /// <param name="entries">The chain's rows as stored, in row order.</param>
    /// <param name="minimumRecords">Records the chain must hold at least (e.g. the session's decision count), so a truncated tail is detected.</param>
    public static ChainVerification Verify(string chain, IReadOnlyList<EvidenceEntry> entries, EvidencePublicKeys keys, long minimumRecords = 0)
    {
        var previousHash = EvidenceBody.GenesisHash;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var expected = i + 1L;
            ChainVerification Broken(long seq, string problem) => new(chain, false, entries.Count, seq, problem);

            if (entry.Sequence != expected)
            {
                return entry.Sequence > expected
                    ? Broken(expected, $"record {expected} is missing (the next stored row is {entry.Sequence})")
                    : Broken(entry.Sequence, $"row {entry.Sequence} is out of order (expected {expected})");
            }
            EvidenceBody body;
            try
            {
                body = EvidenceSealer.ParseBody(entry.Body);
            }
            catch (JsonException ex)
            {
                return Broken(expected, $"body is not a valid record: {ex.Message}");
            }
            if (EvidenceSealer.HashOf(entry.Body) != entry.Hash)
                return Broken(expected, "content does not match its hash (the record was changed)");
            string canonical;
            try { canonical = JsonCanonicalizer.Canonicalize(entry.Body); }
            catch (JsonException ex) { return Broken(expected, $"body is not canonical JSON: {ex.Message}"); }
            if (canonical != entry.Body)
                return Broken(expected, "body is not in canonical form");
            if (body.Chain != chain)
                return Broken(expected, $"record belongs to chain '{body.Chain}' (moved between chains)");
            if (body.Sequence != entry.Sequence)
                return Broken(expected, $"row {entry.Sequence} holds record {body.Sequence} (rows reordered)");
            if (body.PreviousHash != previousHash)
                return Broken(expected, "previous-hash link does not match the preceding record (a record before it was changed, removed or reordered)");
            if (body.KeyId != entry.KeyId)
                return Broken(expected, $"signed key id '{body.KeyId}' differs from the row's key id '{entry.KeyId}'");
            if (!keys.Contains(body.KeyId))
                return Broken(expected, $"signing key '{body.KeyId}' is unknown (no public key for it)");
            if (entry.Proof is not null)
            {
                if (EvidenceBatchSeal.Verify(entry, keys, body.KeyId) is { } batchProblem) return Broken(expected, batchProblem);
            }
            else if (!keys.Verify(body.KeyId, entry.Body, entry.Signature))
            {
                return Broken(expected, $"signature does not verify with key '{body.KeyId}'");
            }
            previousHash = entry.Hash;
        }
        if (entries.Count < minimumRecords)
            return new(chain, false, entries.Count, entries.Count + 1, $"record {entries.Count + 1} is missing: the chain ends after {entries.Count} records but at least {minimumRecords} were written");
        return new(chain, true, entries.Count, null, null);
    }
}

