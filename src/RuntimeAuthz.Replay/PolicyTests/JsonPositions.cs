using System.Text;
using System.Text.Json;

namespace RuntimeAuthz.Replay.PolicyTests;

/// <summary>
/// Where each value of a JSON text starts, by JSON pointer (<c>/cases/2/expect</c>), as 1-based line and
/// column, so a problem with a suite (or a failing case) points into the file. A member's position is its
/// name's, an array element's its first character.
/// </summary>
public sealed class JsonPositions
{
    public static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private readonly Dictionary<string, (int Line, int Column)> positions = new(StringComparer.Ordinal);

    private JsonPositions() { }

    public (int Line, int Column) this[string pointer] =>
        positions.TryGetValue(pointer, out var at) ? at : pointer.LastIndexOf('/') is > 0 and var cut ? this[pointer[..cut]] : (1, 1);

    /// <summary>Maps a text that already parsed (a malformed text throws <see cref="JsonException"/>).</summary>
    public static JsonPositions Of(byte[] utf8)
    {
        var map = new JsonPositions();
        var lineStarts = new List<int> { 0 };
        for (var i = 0; i < utf8.Length; i++) if (utf8[i] == (byte)'\n') lineStarts.Add(i + 1);
        (int, int) At(long offset)
        {
            var line = lineStarts.BinarySearch((int)offset);
            if (line < 0) line = ~line - 1;
            return (line + 1, Encoding.UTF8.GetCharCount(utf8, lineStarts[line], (int)offset - lineStarts[line]) + 1);
        }

        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        // Per open container: its pointer and, for arrays, the next element's index.
        var open = new Stack<(string Pointer, int NextIndex, bool IsArray)>();
        string? member = null;
        string NextPointer()
        {
            if (open.Count == 0) return "";
            var (pointer, index, isArray) = open.Pop();
            open.Push((pointer, index + 1, isArray));
            return isArray ? $"{pointer}/{index}" : $"{pointer}/{Escape(member ?? "")}";
        }
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    member = reader.GetString();
                    map.positions.TryAdd($"{open.Peek().Pointer}/{Escape(member ?? "")}", At(reader.TokenStartIndex));
                    break;
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    var container = NextPointer();
                    map.positions.TryAdd(container, At(reader.TokenStartIndex));
                    open.Push((container, 0, reader.TokenType == JsonTokenType.StartArray));
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    open.Pop();
                    break;
                default:
                    map.positions.TryAdd(NextPointer(), At(reader.TokenStartIndex));
                    break;
            }
        }
        return map;
    }

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}
