using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace RuntimeAuthz.Silo.Http;

/// <summary>
/// Checks every JSON request body once, before any handler reads it: text that is not valid UTF-8 or holds a lone
/// UTF-16 surrogate (also escaped, <c>"\ud800"</c>), duplicate keys, numbers no handler could hold, over-long strings
/// and keys, and over-deep nesting are refused with a 400 naming the field's JSON path. Handlers then see only
/// well-formed text (System.Text.Json would otherwise throw deep inside them, a 500). Syntax errors are left to the
/// handler's reader, which reports line and byte.
/// </summary>
public sealed class JsonInputGuard(RequestDelegate next)
{
    public const int MaxDepth = 64;
    public const int MaxKeyLength = 1024;
    /// <summary>Longest string value (characters); fields have their own, smaller limits where they are read.</summary>
    public const int MaxStringLength = 1024 * 1024;
    /// <summary>Longest number literal (bytes): a thousand-digit number is no integer, amount or risk any handler reads.</summary>
    public const int MaxNumberLength = 64;

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.ContentLength == 0 || !request.HasJsonContentType() || HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        {
            await next(context);
            return;
        }
        var body = await ReadBoundedAsync(request, context.RequestAborted);
        if (Inspect(body) is { } problem) throw new BadRequestException(problem);
        // The handlers read the checked bytes, not the connection again.
        request.Body = new MemoryStream(body, writable: false);
        await next(context);
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > RequestReading.MaxBodyBytes) throw TooLarge();
        // A declared length is read straight into its own array (Kestrel ends the body at that length): one
        // allocation of the body's size per request, not a chunk buffer and a copy.
        if (request.ContentLength is { } length)
        {
            var exact = new byte[length];
            await request.Body.ReadExactlyAsync(exact, cancellationToken);
            return exact;
        }
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > RequestReading.MaxBodyBytes) throw TooLarge();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return buffer.ToArray();
    }

    private static BadRequestException TooLarge() =>
        new($"request body is larger than {RequestReading.MaxBodyBytes} bytes", StatusCodes.Status413PayloadTooLarge);

    /// <summary>The first problem of a JSON text, as "path: what is wrong", or null (also for a syntax error: the handler reports those).</summary>
    public static string? Inspect(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth + 1 });
        var frames = new List<Frame>();
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    frames.RemoveAt(frames.Count - 1);
                    continue;
                }
                if (token == JsonTokenType.PropertyName)
                {
                    var frame = frames[^1];
                    frame.Property = null;
                    if (ReadText(ref reader, out var key) is { } keyProblem) return $"{Path(frames)} has a key that {keyProblem}";
                    frame.Property = key;
                    if (key.Length > MaxKeyLength) return $"{Path(frames)} is a key longer than {MaxKeyLength} characters";
                    if (!frame.Keys!.Add(key)) return $"{Path(frames)} is given twice (duplicate key)";
                    continue;
                }
                // A value: of an object's property, an array's next element, or the whole body.
                if (frames.Count > 0 && frames[^1].Keys is null) frames[^1].Index++;
                switch (token)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        if (frames.Count >= MaxDepth) return $"{Path(frames)} is nested deeper than {MaxDepth} levels";
                        frames.Add(new Frame(token == JsonTokenType.StartObject ? new HashSet<string>(StringComparer.Ordinal) : null));
                        break;
                    case JsonTokenType.String:
                        if (ReadText(ref reader, out var text) is { } textProblem) return $"{Path(frames)} {textProblem}";
                        if (text.Length > MaxStringLength) return $"{Path(frames)} is longer than {MaxStringLength} characters";
                        break;
                    case JsonTokenType.Number:
                        if (NumberProblem(ref reader) is { } numberProblem) return $"{Path(frames)} {numberProblem}";
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return null;
        }
        return null;
    }

    private const string LoneSurrogate = "holds a lone UTF-16 surrogate (an escaped \\ud800-\\udfff without its pair)";

    private static string? ReadText(ref Utf8JsonReader reader, out string text)
    {
        text = "";
        // Escapes are ASCII, so the raw bytes are valid UTF-8 exactly when the text outside the escapes is.
        if (!Utf8.IsValid(reader.ValueSpan)) return "is not valid UTF-8";
        try
        {
            text = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return LoneSurrogate;
        }
        return RequestReading.HasLoneSurrogate(text) ? LoneSurrogate : null;
    }

    private static string? NumberProblem(ref Utf8JsonReader reader)
    {
        var literal = reader.ValueSpan;
        if (literal.Length > MaxNumberLength) return $"is a number longer than {MaxNumberLength} digits";
        var integral = literal.IndexOfAny("."u8) < 0 && literal.IndexOfAny("eE"u8) < 0;
        if (integral) return reader.TryGetInt64(out _) ? null : $"is out of range: integers are from {long.MinValue} to {long.MaxValue}";
        return reader.TryGetDouble(out var number) && double.IsFinite(number) ? null : "is out of range for a number";
    }

    /// <summary>The JSON path of the current position: <c>context.tool_input.items[2]</c>, <c>(the body)</c> at the top.</summary>
    private static string Path(List<Frame> frames)
    {
        if (frames.Count == 0) return "(the body)";
        var path = new StringBuilder();
        foreach (var frame in frames)
        {
            if (frame.Keys is null)
            {
                if (frame.Index >= 0) path.Append('[').Append(frame.Index.ToString(CultureInfo.InvariantCulture)).Append(']');
            }
            else if (frame.Property is { } property)
            {
                if (IsPlainName(property)) path.Append(path.Length > 0 ? "." : "").Append(property);
                else path.Append("[\"").Append(JsonEncodedText.Encode(RequestReading.Shorten(property)).Value).Append("\"]");
            }
        }
        return path.Length == 0 ? "(the body)" : path.ToString();
    }

    private static bool IsPlainName(string name) =>
        name.Length is > 0 and <= 80 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '$');

    /// <summary>An open object (its keys so far and current key) or array (index of its current element).</summary>
    private sealed class Frame(HashSet<string>? keys)
    {
        public HashSet<string>? Keys { get; } = keys;
        public string? Property { get; set; }
        public int Index { get; set; } = -1;
    }
}
