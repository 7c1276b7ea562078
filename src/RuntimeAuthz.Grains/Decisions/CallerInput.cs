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
    private readonly Lazy<Parsed> properties = new(() => ReadRecord(request.ResourcePropertiesJson, "resource.properties"));
    private readonly Lazy<Parsed> context = new(() => ReadRecord(request.ContextJson, "context"));
    private readonly Lazy<Parsed> input = new(() => ReadValue(request.InputJson, "input"));
    private (EvidenceRedactor Redactor, EvidenceInput Input)? evidence;

    /// <summary>A text read: its value (null when absent), or why it could not be read.</summary>
    public readonly record struct Parsed(CedarValue? Value, Exception? Error)
    {
        /// <summary>The value, or the empty record when absent; the error when the text did not read.</summary>
        public CedarValue OrEmptyRecord => Error is null ? Value ?? CedarValue.EmptyRecord : throw Error;
    }

    /// <summary>The resource's properties: a record, or absent.</summary>
    public Parsed Properties => properties.Value;

    /// <summary>The caller's context keys: a record, or absent.</summary>
    public Parsed Context => context.Value;

    /// <summary>The tool input: any Cedar value, or absent (JSON <c>null</c> is absent too).</summary>
    public Parsed Input => input.Value;

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

    /// <summary>
    /// A JSON object read as a record of its members (a JSON <c>null</c> or a blank text is none). Members
    /// named <c>__entity</c> or <c>__extn</c> are plain fields at this level, as in Cedar's <c>attrs</c>.
    /// </summary>
    public static Parsed ReadRecord(string? json, string what)
    {
        if (json is null || IsJsonNull(json, blankToo: true)) return default;
        try
        {
            return new(CedarValue.RecordFromJson(json, what, MaxDepth), null);
        }
        catch (CedarSyntaxException ex)
        {
            return new(null, ex);
        }
    }

    /// <summary>Any JSON value read as a Cedar value (JSON <c>null</c> is none; a blank text does not read).</summary>
    public static Parsed ReadValue(string? json, string what)
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
