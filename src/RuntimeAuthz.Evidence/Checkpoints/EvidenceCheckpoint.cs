using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Evidence.Checkpoints;

/// <summary>A chain's head as a checkpoint seals it: the record at <see cref="Sequence"/> has <see cref="Hash"/>.</summary>
public sealed record ChainHead(
    [property: JsonPropertyName("chain")] string Chain,
    [property: JsonPropertyName("seq")] long Sequence,
    [property: JsonPropertyName("hash")] string Hash);

/// <summary>
/// The signed content of one checkpoint: heads of the chains that advanced since the writer's
/// previous checkpoint. Checkpoints of one writer form their own hash chain (<see cref="PreviousHash"/>),
/// hashed and signed like evidence records (SHA-256 and ECDSA P-256 over the RFC 8785 canonical JSON).
/// </summary>
public sealed record CheckpointBody
{
    public const int CurrentFormat = 1;
    /// <summary>The <c>type</c> of a checkpoint, which evidence records do not have: tells the two apart in an export.</summary>
    public const string TypeName = "checkpoint";

    [JsonPropertyName("format")] public int Format { get; init; } = CurrentFormat;
    [JsonPropertyName("type")] public string Type { get; init; } = TypeName;
    /// <summary>Who wrote this checkpoint chain (one silo process): its checkpoints link only to each other.</summary>
    [JsonPropertyName("writer")] public string Writer { get; init; } = "";
    [JsonPropertyName("seq")] public long Sequence { get; init; }
    [JsonPropertyName("time")] public string Time { get; init; } = "";
    [JsonPropertyName("heads")] public IReadOnlyList<ChainHead> Heads { get; init; } = [];
    [JsonPropertyName("prevHash")] public string PreviousHash { get; init; } = EvidenceBody.GenesisHash;
    [JsonPropertyName("keyId")] public string KeyId { get; init; } = "";
}

/// <summary>One stored checkpoint: canonical body as signed, its SHA-256 (hex) and signature (base64url r||s).</summary>
public sealed record CheckpointEntry(string Writer, long Sequence, string Body, string Hash, string Signature, string KeyId);

/// <summary>The highest head of a chain that some checkpoint sealed, and which checkpoint sealed it.</summary>
public sealed record SealedHead(string Chain, long Sequence, string Hash, string Writer, long Checkpoint)
{
    /// <summary>How messages name the checkpoint, e.g. <c>checkpoint 12 of silo-a</c>.</summary>
    public string CheckpointName => CheckpointSealer.NameOf(Writer, Checkpoint);
}

public static class CheckpointSealer
{
    private static readonly JsonSerializerOptions BodyJson = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Heads one checkpoint holds at most: its body stays well inside one table property (32K characters).</summary>
    public const int MaxHeads = 100;

    /// <summary>Seals <paramref name="heads"/> as the writer's checkpoint after <paramref name="previous"/> (null: the first).</summary>
    public static CheckpointEntry Seal(string writer, CheckpointEntry? previous, IEnumerable<ChainHead> heads, DateTimeOffset time, EvidenceSigningKey key)
    {
        var body = new CheckpointBody
        {
            Writer = writer,
            Sequence = (previous?.Sequence ?? 0) + 1,
            Time = EvidenceSealer.FormatTime(time),
            Heads = [.. heads.OrderBy(h => h.Chain, StringComparer.Ordinal)],
            PreviousHash = previous?.Hash ?? EvidenceBody.GenesisHash,
            KeyId = key.KeyId,
        };
        var canonical = JsonCanonicalizer.Canonicalize(JsonSerializer.Serialize(body, BodyJson));
        return new CheckpointEntry(writer, body.Sequence, canonical, EvidenceSealer.HashOf(canonical), key.Sign(canonical), key.KeyId);
    }

    public static CheckpointBody ParseBody(string canonical) =>
        JsonSerializer.Deserialize<CheckpointBody>(canonical, BodyJson) ?? throw new JsonException("checkpoint body is null");

    public static string NameOf(string writer, long sequence) => $"checkpoint {sequence} of {writer}";
}
