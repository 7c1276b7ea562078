using System.Text.Json;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Evidence.Checkpoints;

/// <summary>
/// Checkpoints in the JSON-lines export (every field of the signed body, <c>"type": "checkpoint"</c>,
/// its hash and signature), and reading an export back into records and checkpoints for verification.
/// </summary>
public static class CheckpointExport
{
    private static readonly string[] AddedByExport = ["hash", "signature", "signatureAlgorithm", "batchProof", "controls"];

    public static string ToJsonLine(CheckpointEntry entry)
    {
        var line = JsonNode.Parse(entry.Body)!.AsObject();
        line["hash"] = entry.Hash;
        line["signature"] = entry.Signature;
        line["signatureAlgorithm"] = "ES256";
        return line.ToJsonString(EvidenceExport.LineOptions);
    }

    /// <summary>
    /// Reads export lines: the signed body is the line without what the export added, in canonical
    /// form again (so hashes and signatures check exactly as on the stored rows). Blank lines are skipped.
    /// </summary>
    /// <exception cref="FormatException">A line is not an export line; the message names its number.</exception>
    public static ExportContents Read(IEnumerable<string> lines)
    {
        var records = new Dictionary<string, List<EvidenceEntry>>(StringComparer.Ordinal);
        var checkpoints = new List<CheckpointEntry>();
        var number = 0;
        foreach (var line in lines)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var node = JsonNode.Parse(line) as JsonObject ?? throw new JsonException("not a JSON object");
                var hash = (string?)node["hash"] ?? throw new JsonException("no hash");
                var signature = (string?)node["signature"] ?? throw new JsonException("no signature");
                var proof = (string?)node["batchProof"];
                foreach (var added in AddedByExport) node.Remove(added);
                var body = JsonCanonicalizer.Canonicalize(node.ToJsonString());
                if ((string?)node["type"] == CheckpointBody.TypeName)
                {
                    var checkpoint = CheckpointSealer.ParseBody(body);
                    checkpoints.Add(new CheckpointEntry(checkpoint.Writer, checkpoint.Sequence, body, hash, signature, checkpoint.KeyId));
                }
                else
                {
                    var record = EvidenceSealer.ParseBody(body);
                    if (!records.TryGetValue(record.Chain, out var chain)) records[record.Chain] = chain = [];
                    chain.Add(new EvidenceEntry(record.Chain, record.Sequence, body, hash, signature, record.KeyId) { Proof = proof });
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                throw new FormatException($"line {number} is not an evidence export line: {ex.Message}", ex);
            }
        }
        return new ExportContents(
            records.ToDictionary(p => p.Key, p => (IReadOnlyList<EvidenceEntry>)[.. p.Value.OrderBy(e => e.Sequence)], StringComparer.Ordinal),
            checkpoints);
    }
}

/// <param name="Chains">Chain id → its records in sequence order.</param>
public sealed record ExportContents(IReadOnlyDictionary<string, IReadOnlyList<EvidenceEntry>> Chains, IReadOnlyList<CheckpointEntry> Checkpoints);
