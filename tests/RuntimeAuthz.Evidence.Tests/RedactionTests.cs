using System.Text.Json.Nodes;

namespace RuntimeAuthz.Evidence.Tests;

public sealed class RedactionTests
{
    private static JsonNode Input() => JsonNode.Parse("""
        {"action":"send_payment","input":{"amount":5,"apiKey":"sk-secret","to":"acct-1"},
         "context":{"a":{"token":"t1"},"b":{"token":"t2","keep":1}},"items":[{"password":"p"},{"password":"q"}]}
        """)!;

    [Fact]
    public void Redacted_fields_are_replaced_but_the_digest_covers_the_full_input()
    {
        var plain = new EvidenceRedactor().Prepare(Input());
        var redacted = new EvidenceRedactor(["/input/apiKey", "/context/*/token", "/items/*/password", "/absent/field"]).Prepare(Input());
        Assert.Equal(plain.Digest, redacted.Digest);
        Assert.Contains("sk-secret", plain.Stored);
        Assert.DoesNotContain("sk-secret", redacted.Stored);
        Assert.DoesNotContain("t1", redacted.Stored);
        Assert.DoesNotContain("\"q\"", redacted.Stored);
        Assert.Contains("\"keep\":1", redacted.Stored);
        Assert.Contains("\"apiKey\":\"[redacted]\"", redacted.Stored);
        Assert.Equal(JsonCanonicalizer.Canonicalize(redacted.Stored), redacted.Stored);
    }

    [Fact]
    public void The_digest_is_sha256_of_the_canonical_input()
    {
        var a = new EvidenceRedactor().Prepare(JsonNode.Parse("{\"b\":1.0,\"a\":[true]}"));
        var b = new EvidenceRedactor().Prepare(JsonNode.Parse("{ \"a\": [true], \"b\": 1 }"));
        Assert.Equal(a.Digest, b.Digest);
        Assert.Equal("sha256:" + EvidenceSealer.HashOf("{\"a\":[true],\"b\":1}"), a.Digest);
        Assert.NotEqual(a.Digest, new EvidenceRedactor().Prepare(JsonNode.Parse("{\"a\":[true],\"b\":2}")).Digest);
    }

    [Fact]
    public void Huge_inputs_are_stored_truncated_with_the_full_digest()
    {
        var big = new JsonObject { ["blob"] = new string('x', 50_000) };
        var prepared = new EvidenceRedactor().Prepare(big);
        Assert.True(prepared.Truncated);
        Assert.Equal(EvidenceRedactor.MaxStoredInputChars, prepared.Stored.Length);
        Assert.Equal("sha256:" + EvidenceSealer.HashOf(JsonCanonicalizer.Canonicalize(big.ToJsonString())), prepared.Digest);
    }

    [Fact]
    public void A_redaction_path_must_be_a_json_pointer() =>
        Assert.Throws<ArgumentException>(() => new EvidenceRedactor(["input.password"]));
}
