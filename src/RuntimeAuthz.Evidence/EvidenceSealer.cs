using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Evidence;

/// <summary>Turns a record body into a stored entry: canonical JSON, SHA-256 hash and signature.</summary>
public static class EvidenceSealer
{
    internal static readonly JsonSerializerOptions BodyJson = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Links <paramref name="body"/> after <paramref name="head"/> and signs it with <paramref name="key"/>.</summary>
    public static EvidenceEntry Seal(EvidenceBody body, EvidenceHead head, EvidenceSigningKey key)
    {
        var unsigned = SealUnsigned(body, head, key.KeyId);
        return unsigned with { Signature = key.Sign(unsigned.Body) };
    }

    /// <summary>
    /// Links and hashes <paramref name="body"/> for key <paramref name="keyId"/> without signing it: the
    /// store signs it with the other records of its batch (<see cref="EvidenceBatchSeal"/>).
    /// </summary>
    public static EvidenceEntry SealUnsigned(EvidenceBody body, EvidenceHead head, string keyId)
    {
        var linked = body with { Sequence = head.Sequence + 1, PreviousHash = head.Hash, KeyId = keyId };
        var canonical = CanonicalBody(linked);
        return new EvidenceEntry(linked.Chain, linked.Sequence, canonical, HashOf(canonical), "", keyId);
    }

    /// <summary>The RFC 8785 form of the body (written directly; the general path only for text that is not well-formed UTF-16).</summary>
    public static string CanonicalBody(EvidenceBody body) => CanonicalBodyWriter.TryWrite(body) ?? SerializeAndCanonicalize(body);

    /// <summary>The definition of the canonical body: serialized with nulls omitted, then canonicalized.</summary>
    internal static string SerializeAndCanonicalize(EvidenceBody body) => JsonCanonicalizer.Canonicalize(JsonSerializer.Serialize(body, BodyJson));

    public static EvidenceBody ParseBody(string canonical) =>
        JsonSerializer.Deserialize<EvidenceBody>(canonical, BodyJson) ?? throw new JsonException("evidence body is null");

    /// <summary>Lowercase hex SHA-256 of the UTF-8 text.</summary>
    public static string HashOf(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Record times: UTC, 7 fractional digits, e.g. <c>2030-01-01T08:00:00.0000000Z</c>.</summary>
    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
