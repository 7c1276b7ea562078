using System.Buffers;
using System.Text.Json;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Grains.Decisions;

/// <summary>
/// The caller's JSON texts read once for the whole call, straight into Cedar values (the live and the shadow
/// evaluations share them), and the call's evidence input canonicalized once. A text that does not read is
/// its error here: the Cedar request then fails as invalid, and the evidence record keeps the text as received.
/// </summary>
public sealed class CallerInput(DecisionRequest request)
{
    /// <summary>How deep the caller's JSON may nest (System.Text.Json's default, which the texts were always read with).</summary>
    public const int MaxDepth = 64;

    // A blank properties or context text means none (as it always did); a blank input is malformed.
    private readonly Lazy<ParsedRecord> properties = new(() => ReadRecord(request.ResourcePropertiesJson, "resource.properties"));
    private readonly Lazy<ParsedRecord> context = new(() => ReadRecord(request.ContextJson, "context"));
    private readonly Lazy<ParsedValue> input = new(() => ReadValue(request.InputJson, "input"));
    private (EvidenceRedactor Redactor, EvidenceInput Input)? evidence;

    /// <summary>A JSON object text read: its members (null when absent), or why it could not be read.</summary>
    public readonly record struct ParsedRecord(CedarJsonRecord? Record, CedarSyntaxException? Error)
    {
        /// <summary>A record builder starting from the members (none when absent); the error when the text did not read.</summary>
        public CedarRecordBuilder ToBuilder() => Error is not null ? throw Error : Record is null ? new() : new(Record);

        public IReadOnlyList<EntityUid> References => Record?.References ?? [];
    }

    /// <summary>A JSON value text read: its value (null when absent), or why it could not be read.</summary>
    public readonly record struct ParsedValue(CedarValue? Value, CedarSyntaxException? Error)
    {
        /// <summary>The value, or the empty record when absent; the error when the text did not read.</summary>
        public CedarValue OrEmptyRecord => Error is null ? Value ?? CedarValue.EmptyRecord : throw Error;
    }

    /// <summary>The resource's properties: an object's members, or absent.</summary>
    public ParsedRecord Properties => properties.Value;

    /// <summary>The caller's context keys: an object's members, or absent.</summary>
    public ParsedRecord Context => context.Value;

    /// <summary>The tool input: any Cedar value, or absent (JSON <c>null</c> is absent too).</summary>
    public ParsedValue Input => input.Value;

    /// <summary>
    /// The evidence input of the call (digest and stored copy), canonicalized once however many records the
    /// call gets (a record that could not be confirmed gets a Deny correction with the same input).
    /// </summary>
    public EvidenceInput EvidenceWith(EvidenceRedactor redactor, Func<EvidenceInput> prepare)
    {
        if (evidence is { } known && ReferenceEquals(known.Redactor, redactor)) return known.Input;
        var prepared = prepare();
        evidence = (redactor, prepared);
        return prepared;
    }

    /// <summary>A JSON object read member by member (a JSON <c>null</c> or a blank text is none).</summary>
    public static ParsedRecord ReadRecord(string? json, string what)
    {
        if (json is null || IsJsonNull(json, blankToo: true)) return default;
        try
        {
            return new(CedarJsonRecord.Parse(json, what, MaxDepth), null);
        }
        catch (CedarSyntaxException ex)
        {
            return new(null, ex);
        }
    }

    /// <summary>Any JSON value read as a Cedar value (JSON <c>null</c> is none; a blank text does not read).</summary>
    public static ParsedValue ReadValue(string? json, string what)
    {
        if (json is null || IsJsonNull(json, blankToo: false)) return default;
        try
        {
            return new(CedarValue.FromJson(json, what, MaxDepth), null);
        }
        catch (CedarSyntaxException ex)
        {
            return new(null, ex);
        }
    }

    private static readonly SearchValues<char> JsonWhitespace = SearchValues.Create(" \t\r\n");

    private static bool IsJsonNull(string json, bool blankToo)
    {
        var text = json.AsSpan();
        var start = text.IndexOfAnyExcept(JsonWhitespace);
        if (start < 0) return blankToo;
        var end = text.LastIndexOfAnyExcept(JsonWhitespace);
        return text[start..(end + 1)] is "null";
    }

    /// <summary>Whether a text is JSON at all (for the rare shapes the values above do not take, such as a non-object where one may be ignored).</summary>
    internal static bool IsJson(string json)
    {
        try
        {
            using var _ = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth });
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
