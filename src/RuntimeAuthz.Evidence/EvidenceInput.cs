using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Evidence;

/// <summary>The input part of a record: digest of the full canonical input, and the redacted, bounded copy that is stored.</summary>
public sealed record EvidenceInput(string Digest, string Stored, bool Truncated)
{
    public const string Redacted = "[redacted]";
}

/// <summary>
/// Canonicalizes a decision's input, digests the whole of it, and stores a copy with secret fields
/// replaced. Paths are JSON pointers (RFC 6901) into the input object, e.g. <c>/input/password</c>;
/// a <c>*</c> segment matches every member or element at that level.
/// </summary>
public sealed class EvidenceRedactor
{
    /// <summary>Stored copies are cut here (characters) so a record stays far below Azure's 1 MiB entity limit.</summary>
    public const int MaxStoredInputChars = 8192;

    private readonly IReadOnlyList<string[]> paths;

    public EvidenceRedactor(IEnumerable<string>? pointers = null)
    {
        var parsed = new List<string[]>();
        foreach (var pointer in pointers ?? [])
        {
            if (string.IsNullOrWhiteSpace(pointer)) continue;
            if (!pointer.StartsWith('/')) throw new ArgumentException($"redaction path '{pointer}' must be a JSON pointer starting with '/'");
            parsed.Add(pointer[1..].Split('/').Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray());
        }
        paths = parsed;
    }

    public IReadOnlyList<string> Paths => paths.Select(p => "/" + string.Join('/', p.Select(s => s.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)))).ToArray();

    /// <summary>Digest and stored copy of <paramref name="input"/> (any JSON node).</summary>
    public EvidenceInput Prepare(JsonNode? input) => PrepareText(input?.ToJsonString() ?? "null");

    /// <summary>The same for a JSON text, canonicalized here (once); <see cref="System.Text.Json.JsonException"/> when it has no canonical form.</summary>
    public EvidenceInput PrepareText(string json)
    {
        var full = JsonCanonicalizer.Canonicalize(json);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)));
        var stored = full;
        if (paths.Count > 0 && JsonNode.Parse(full) is { } copy)
        {
            var changed = false;
            foreach (var path in paths) changed |= Redact(copy, path, 0);
            if (changed) stored = JsonCanonicalizer.Canonicalize(copy.ToJsonString());
        }
        var truncated = stored.Length > MaxStoredInputChars;
        if (truncated) stored = stored[..MaxStoredInputChars];
        return new EvidenceInput(digest, stored, truncated);
    }

    private static bool Redact(JsonNode node, string[] path, int depth)
    {
        var segment = path[depth];
        var last = depth == path.Length - 1;
        var changed = false;
        if (node is JsonObject obj)
        {
            var names = segment == "*" ? obj.Select(p => p.Key).ToList() : obj.ContainsKey(segment) ? [segment] : [];
            foreach (var name in names)
            {
                if (last) { obj[name] = EvidenceInput.Redacted; changed = true; }
                else if (obj[name] is { } child) changed |= Redact(child, path, depth + 1);
            }
        }
        else if (node is JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
            {
                if (segment != "*" && segment != i.ToString(System.Globalization.CultureInfo.InvariantCulture)) continue;
                if (last) { array[i] = EvidenceInput.Redacted; changed = true; }
                else if (array[i] is { } child) changed |= Redact(child, path, depth + 1);
            }
        }
        return changed;
    }
}
