using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RuntimeAuthz.Grains;

namespace RuntimeAuthz.Silo.Http;

/// <summary>A request the API refuses with a 4xx problem (never a 500).</summary>
public sealed class BadRequestException(string message, int statusCode = StatusCodes.Status400BadRequest, object? errors = null) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
    public object? Errors { get; } = errors;
}

/// <summary>Reads request bodies as JSON and checks fields, collecting precise messages.</summary>
public static partial class RequestReading
{
    public const long MaxBodyBytes = 2 * 1024 * 1024;
    private const string BodyRequired = "request body is required (a JSON object)";

    /// <summary>Identifiers used in URLs and as Cedar entity ids of agents and sessions.</summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$", RegexOptions.CultureInvariant)]
    public static partial Regex IdShape();

    /// <summary>A Cedar entity type path: <c>Type</c> or <c>Ns::Type</c>.</summary>
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$", RegexOptions.CultureInvariant)]
    public static partial Regex EntityTypeShape();

    /// <summary>The end of an ISO-8601 time with its offset: <c>Z</c>, <c>+02:00</c>, <c>-0500</c>.</summary>
    [GeneratedRegex(@"T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    public static partial Regex TimeZoneSuffix();

    public static async Task<JsonObject> ReadObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
            throw new BadRequestException($"request body is larger than {MaxBodyBytes} bytes", StatusCodes.Status413PayloadTooLarge);
        if (request.ContentLength > 0) CheckJsonContentType(request);
        // Sized by the announced length (bounded above), read through a pooled chunk: a decision's body is small.
        using var buffer = new MemoryStream(request.ContentLength is > 0 and <= MaxBodyBytes ? (int)request.ContentLength.Value : 0);
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > MaxBodyBytes)
                    throw new BadRequestException($"request body is larger than {MaxBodyBytes} bytes", StatusCodes.Status413PayloadTooLarge);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        if (buffer.Length == 0) throw new BadRequestException(BodyRequired);
        CheckJsonContentType(request);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), documentOptions: new JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, byte {ex.BytePositionInLine + 1}" : "";
            throw new BadRequestException($"request body is not valid JSON{where}: {FirstSentence(ex.Message)}");
        }
        return node as JsonObject ?? throw new BadRequestException($"request body must be a JSON object, not {Kind(node)}");
    }

    /// <summary>Only JSON bodies: a cross-site form post (text/plain, form-urlencoded) is refused unread.</summary>
    private static void CheckJsonContentType(HttpRequest request)
    {
        if (request.HasJsonContentType()) return;
        throw new BadRequestException(NotJson(request), StatusCodes.Status415UnsupportedMediaType);
    }

    /// <summary>Why a body that is not JSON is refused (also for the 415 routing answers itself, for endpoints that declare a JSON body).</summary>
    public static string NotJson(HttpRequest request) =>
        $"request body must be application/json (Content-Type: {(string.IsNullOrEmpty(request.ContentType) ? "none" : Shorten(request.ContentType))})";

    /// <summary>The body's object, or null when the request has no body (an empty body is allowed).</summary>
    public static async Task<Fields?> ReadOptionalObjectAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength == 0) return null;
        try
        {
            return new Fields(await ReadObjectAsync(request, cancellationToken));
        }
        catch (BadRequestException ex) when (ex.Message == BodyRequired)
        {
            return null;
        }
    }

    public static string CheckId(string value, string what)
    {
        if (!IdShape().IsMatch(value))
            throw new BadRequestException($"{what} '{Shorten(value)}' is not a valid id: use 1-128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit");
        return value;
    }

    internal static string Kind(JsonNode? node) => JsonInputText.Kind(node);

    public static bool HasLoneSurrogate(string text) => JsonInputText.HasLoneSurrogate(text);

    internal static string Shorten(string value) => JsonInputText.Shorten(value);

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

/// <summary>Typed access to the fields of one JSON object; every problem names the field's path.</summary>
public sealed class Fields(JsonObject json, string path = "")
{
    public JsonObject Json { get; } = json;

    private string Name(string field) => path.Length == 0 ? field : $"{path}.{field}";

    private JsonNode? Node(string field, bool required, out bool present)
    {
        present = Json.TryGetPropertyValue(field, out var node) && node is not null;
        if (!present && required) throw new BadRequestException($"{Name(field)} is required");
        return present ? node : null;
    }

    public string? String(string field, bool required = false, int maxLength = 256, bool allowEmpty = false)
    {
        var node = Node(field, required, out var present);
        if (!present) return null;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
            throw new BadRequestException($"{Name(field)} must be a string, not {RequestReading.Kind(node)}");
        var text = v.GetValue<string>();
        if (!allowEmpty && string.IsNullOrWhiteSpace(text)) throw new BadRequestException($"{Name(field)} must not be empty");
        if (text.Length > maxLength) throw new BadRequestException($"{Name(field)} is longer than {maxLength} characters");
        if (text.Any(char.IsControl) && maxLength <= 1024) throw new BadRequestException($"{Name(field)} must not contain control characters");
        return text;
    }

    public string RequiredString(string field, int maxLength = 256) => String(field, required: true, maxLength)!;

    /// <summary>Fields that used to name the actor: the actor is now the authenticated caller, so sending one is an error.</summary>
    public void RefuseActorFields(params string[] fields)
    {
        foreach (var field in fields)
        {
            if (Json.ContainsKey(field))
                throw new BadRequestException($"{Name(field)} is not accepted: the actor recorded is the authenticated caller (the token's subject)");
        }
    }

    public long? Long(string field, bool required = false, long min = long.MinValue, long max = long.MaxValue)
    {
        var node = Node(field, required, out var present);
        if (!present) return null;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue<long>(out var number))
        {
            if (node is JsonValue s && s.GetValueKind() == JsonValueKind.Number && s.TryGetValue<double>(out _))
                throw new BadRequestException($"{Name(field)} must be an integer");
            throw new BadRequestException($"{Name(field)} must be an integer, not {RequestReading.Kind(node)}");
        }
        if (number < min || number > max) throw new BadRequestException($"{Name(field)} must be between {min} and {max}");
        return number;
    }

    public DateTimeOffset? Timestamp(string field, bool required = false)
    {
        var text = String(field, required);
        if (text is null) return null;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
            throw new BadRequestException($"{Name(field)} must be an ISO-8601 timestamp, e.g. 2030-01-31T12:00:00Z");
        // Without an offset the instant depends on whose clock reads it: refused rather than guessed.
        if (!RequestReading.TimeZoneSuffix().IsMatch(text))
            throw new BadRequestException($"{Name(field)} must end with a time-zone offset (Z or +hh:mm), e.g. 2030-01-31T12:00:00Z, not '{RequestReading.Shorten(text)}'");
        return value.ToUniversalTime();
    }

    public JsonObject? Object(string field, bool required = false)
    {
        // An explicit null where an object belongs is a mistake to report, not an absent field to skip past.
        if (Json.TryGetPropertyValue(field, out var given) && given is null) throw new BadRequestException($"{Name(field)} must be an object, not null");
        var node = Node(field, required, out var present);
        if (!present) return null;
        return node as JsonObject ?? throw new BadRequestException($"{Name(field)} must be an object, not {RequestReading.Kind(node)}");
    }

    public Fields? Nested(string field, bool required = false) =>
        Object(field, required) is { } obj ? new Fields(obj, Name(field)) : null;

    public JsonNode? Any(string field) => Node(field, required: false, out _);

    public IReadOnlyList<string>? StringArray(string field, bool required = false, int maxItems = 64, int maxLength = 256)
    {
        var node = Node(field, required, out var present);
        if (!present) return null;
        if (node is not JsonArray array) throw new BadRequestException($"{Name(field)} must be an array of strings, not {RequestReading.Kind(node)}");
        if (array.Count > maxItems) throw new BadRequestException($"{Name(field)} has more than {maxItems} items");
        var items = new List<string>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
                throw new BadRequestException($"{Name(field)}[{i}] must be a string, not {RequestReading.Kind(array[i])}");
            var text = v.GetValue<string>();
            if (string.IsNullOrWhiteSpace(text)) throw new BadRequestException($"{Name(field)}[{i}] must not be empty");
            if (text.Length > maxLength) throw new BadRequestException($"{Name(field)}[{i}] is longer than {maxLength} characters");
            items.Add(text);
        }
        return items;
    }

    public IReadOnlyDictionary<string, string>? StringMap(string field, int maxItems = 64)
    {
        var obj = Object(field);
        if (obj is null) return null;
        if (obj.Count > maxItems) throw new BadRequestException($"{Name(field)} has more than {maxItems} entries");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in obj)
        {
            if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
                throw new BadRequestException($"{Name(field)}.{key} must be a string, not {RequestReading.Kind(value)}");
            map[key] = v.GetValue<string>();
        }
        return map;
    }
}
