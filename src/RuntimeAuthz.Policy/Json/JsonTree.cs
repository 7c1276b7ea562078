using System.Text;
using System.Text.Json;

namespace RuntimeAuthz.Policy.Json;

internal enum JsonKind { Null, Bool, Number, String, Array, Object }

/// <summary>
/// A parsed JSON value that remembers where it started, so errors about its meaning (not only its
/// syntax) can name a line and column.
/// </summary>
internal sealed class JsonNode
{
    public required JsonKind Kind { get; init; }
    public required int Offset { get; init; }
    public bool Bool { get; init; }
    public string? Text { get; init; }           // string value, or the raw number text
    public List<JsonNode>? Items { get; init; }
    public List<KeyValuePair<string, JsonNode>>? Properties { get; init; }

    public JsonNode? Get(string key)
    {
        if (Properties is null) return null;
        foreach (var (k, v) in Properties)
            if (k == key) return v;
        return null;
    }
}

/// <summary>Parses JSON text into <see cref="JsonNode"/>s and turns offsets into line:column errors.</summary>
internal sealed class JsonSource
{
    private readonly byte[] utf8;

    private JsonSource(byte[] utf8, string sourceName)
    {
        this.utf8 = utf8;
        SourceName = sourceName;
    }

    public string SourceName { get; }

    public const int DefaultMaxDepth = 512;

    public static (JsonSource Source, JsonNode Root) Parse(string json, string sourceName, int maxDepth = DefaultMaxDepth)
    {
        var source = new JsonSource(Encoding.UTF8.GetBytes(json), sourceName);
        var reader = new Utf8JsonReader(source.utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = maxDepth });
        try
        {
            if (!reader.Read()) throw source.Error(0, CedarErrorKind.InvalidJson, "expected a JSON value, found end of input");
            var root = source.ReadValue(ref reader);
            if (reader.Read()) throw source.Error((int)reader.TokenStartIndex, CedarErrorKind.InvalidJson, "unexpected content after the JSON value");
            return (source, root);
        }
        catch (InvalidOperationException e)
        {
            // e.g. a string with an unpaired surrogate escape, which has no .NET string form.
            throw source.Error(source.lastOffset, CedarErrorKind.InvalidJson, "invalid JSON string: " + e.Message);
        }
        catch (JsonException e)
        {
            var line = (int)(e.LineNumber ?? 0) + 1;
            var column = (int)(e.BytePositionInLine ?? 0) + 1;
            throw new CedarSyntaxException(CedarErrorKind.InvalidJson, sourceName, line, column, "invalid JSON: " + FirstSentence(e.Message), e);
        }
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd();
    }

    private int lastOffset;

    private JsonNode ReadValue(ref Utf8JsonReader reader)
    {
        var offset = (int)reader.TokenStartIndex;
        lastOffset = offset;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return new JsonNode { Kind = JsonKind.Null, Offset = offset };
            case JsonTokenType.True: return new JsonNode { Kind = JsonKind.Bool, Offset = offset, Bool = true };
            case JsonTokenType.False: return new JsonNode { Kind = JsonKind.Bool, Offset = offset, Bool = false };
            case JsonTokenType.Number:
                return new JsonNode { Kind = JsonKind.Number, Offset = offset, Text = Encoding.UTF8.GetString(reader.ValueSpan) };
            case JsonTokenType.String: return new JsonNode { Kind = JsonKind.String, Offset = offset, Text = reader.GetString() };
            case JsonTokenType.StartArray:
            {
                var items = new List<JsonNode>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) items.Add(ReadValue(ref reader));
                return new JsonNode { Kind = JsonKind.Array, Offset = offset, Items = items };
            }
            case JsonTokenType.StartObject:
            {
                var properties = new List<KeyValuePair<string, JsonNode>>();
                HashSet<string>? seen = null;   // only for big objects; small ones are scanned
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var keyOffset = (int)reader.TokenStartIndex;
                    lastOffset = keyOffset;
                    var key = reader.GetString()!;
                    if (IsDuplicate(properties, ref seen, key)) throw Error(keyOffset, CedarErrorKind.DuplicateKey, $"duplicate key \"{key}\" in JSON object");
                    reader.Read();
                    properties.Add(new(key, ReadValue(ref reader)));
                }
                return new JsonNode { Kind = JsonKind.Object, Offset = offset, Properties = properties };
            }
            default:
                throw Error(offset, CedarErrorKind.InvalidJson, $"unexpected JSON token {reader.TokenType}");
        }
    }

    private static bool IsDuplicate(List<KeyValuePair<string, JsonNode>> properties, ref HashSet<string>? seen, string key)
    {
        if (seen is not null) return !seen.Add(key);
        foreach (var property in properties)
            if (string.Equals(property.Key, key, StringComparison.Ordinal)) return true;
        if (properties.Count >= 8)
        {
            seen = new HashSet<string>(properties.Select(p => p.Key), StringComparer.Ordinal);
            seen.Add(key);
        }
        return false;
    }

    private const string OffsetKey = "RuntimeAuthz.JsonOffset";

    public CedarSyntaxException Error(int offset, CedarErrorKind kind, string detail)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < offset && i < utf8.Length; i++)
        {
            if (utf8[i] == (byte)'\n') { line++; lineStart = i + 1; }
        }
        var column = Encoding.UTF8.GetCharCount(utf8, lineStart, Math.Max(0, Math.Min(offset, utf8.Length) - lineStart)) + 1;
        var error = new CedarSyntaxException(kind, SourceName, line, column, detail);
        error.Data[OffsetKey] = offset;   // lets Relocate map the error after a schema rewrite
        return error;
    }

    public CedarSyntaxException Error(JsonNode node, CedarErrorKind kind, string detail) => Error(node.Offset, kind, detail);

    /// <summary>
    /// Moves an error found in schema-rewritten JSON back onto the text the caller gave: the node
    /// at the error is found by its path, and the same path is followed in the original as far as it exists.
    /// </summary>
    public static CedarSyntaxException Relocate(CedarSyntaxException error, string originalJson, string rewrittenJson, string sourceName)
    {
        if (error.Data[OffsetKey] is not int offset) return error;
        try
        {
            var (_, rewrittenRoot) = Parse(rewrittenJson, sourceName);
            var path = new List<object>();
            if (!FindPath(rewrittenRoot, offset, path)) return error;
            var (originalSource, node) = Parse(originalJson, sourceName);
            foreach (var step in path)
            {
                var next = step is int index
                    ? node.Items is { } items && index < items.Count ? items[index] : null
                    : node.Get((string)step);
                if (next is null) break;
                node = next;
            }
            return originalSource.Error(node, error.Kind, error.Detail);
        }
        catch (CedarSyntaxException)
        {
            return error;
        }
    }

    private static bool FindPath(JsonNode node, int offset, List<object> path)
    {
        if (node.Offset == offset) return true;
        if (node.Items is { } items)
        {
            for (var i = 0; i < items.Count; i++)
            {
                path.Add(i);
                if (FindPath(items[i], offset, path)) return true;
                path.RemoveAt(path.Count - 1);
            }
        }
        if (node.Properties is { } properties)
        {
            foreach (var (key, value) in properties)
            {
                path.Add(key);
                if (FindPath(value, offset, path)) return true;
                path.RemoveAt(path.Count - 1);
            }
        }
        return false;
    }
}
