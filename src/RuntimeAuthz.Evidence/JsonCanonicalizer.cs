using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RuntimeAuthz.Evidence;

/// <summary>
/// RFC 8785 JSON Canonicalization Scheme (JCS): no whitespace, object members sorted by the
/// UTF-16 code units of their names, strings with the minimal ECMAScript escaping, and numbers
/// serialized as ECMAScript's Number.prototype.toString does for the IEEE-754 double they denote.
/// </summary>
public static class JsonCanonicalizer
{
    /// <summary>Canonical form of a JSON text. Throws <see cref="JsonException"/> on invalid JSON, duplicate names or non-finite numbers.</summary>
    public static string Canonicalize(string json)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        return Canonicalize(document.RootElement);
    }

    public static string Canonicalize(JsonElement element)
    {
        var builder = new StringBuilder();
        try
        {
            Write(builder, element);
        }
        catch (InvalidOperationException ex)
        {
            // System.Text.Json reads a lone escaped surrogate ("\ud800") only when the text is taken: no canonical form exists.
            throw new JsonException($"the JSON holds text that is not valid Unicode: {ex.Message}", ex);
        }
        return builder.ToString();
    }

    private static void Write(StringBuilder output, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var members = new List<KeyValuePair<string, JsonElement>>();
                foreach (var property in element.EnumerateObject()) members.Add(new(property.Name, property.Value));
                // string.CompareOrdinal compares UTF-16 code units, which is the order JCS prescribes.
                members.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
                for (var i = 1; i < members.Count; i++)
                {
                    if (string.Equals(members[i - 1].Key, members[i].Key, StringComparison.Ordinal))
                        throw new JsonException($"duplicate property name '{members[i].Key}'");
                }
                output.Append('{');
                for (var i = 0; i < members.Count; i++)
                {
                    if (i > 0) output.Append(',');
                    WriteString(output, members[i].Key);
                    output.Append(':');
                    Write(output, members[i].Value);
                }
                output.Append('}');
                break;
            case JsonValueKind.Array:
                output.Append('[');
                var first = true;
                foreach (var item in element.EnumerateArray())
                {
                    if (!first) output.Append(',');
                    first = false;
                    Write(output, item);
                }
                output.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(output, element.GetString()!);
                break;
            case JsonValueKind.Number:
                if (!element.TryGetDouble(out var number)) throw new JsonException($"number {element.GetRawText()} is outside the IEEE-754 double range");
                output.Append(SerializeNumber(number));
                break;
            case JsonValueKind.True: output.Append("true"); break;
            case JsonValueKind.False: output.Append("false"); break;
            case JsonValueKind.Null: output.Append("null"); break;
            default: throw new JsonException($"unexpected JSON value kind {element.ValueKind}");
        }
    }

    /// <summary>JSON string with JCS escaping: \" \\ \b \f \n \r \t, other controls as \u00xx (lowercase hex), everything else literal.</summary>
    public static void WriteString(StringBuilder output, string value)
    {
        output.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': output.Append("\\\""); break;
                case '\\': output.Append("\\\\"); break;
                case '\b': output.Append("\\b"); break;
                case '\f': output.Append("\\f"); break;
                case '\n': output.Append("\\n"); break;
                case '\r': output.Append("\\r"); break;
                case '\t': output.Append("\\t"); break;
                default:
                    if (c < 0x20) output.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else output.Append(c);
                    break;
            }
        }
        output.Append('"');
    }

    /// <summary>
    /// ECMAScript Number::toString(x) (ECMA-262 §6.1.6.1.20) for a finite double: the shortest
    /// digits that round-trip, placed in plain notation when the decimal exponent is in [-6, 21),
    /// otherwise as d.ddde±n. Negative zero is "0".
    /// </summary>
    public static string SerializeNumber(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value)) throw new JsonException("NaN and Infinity have no JSON form");
        if (value == 0) return "0";
        var negative = value < 0;
        // "E16" is not shortest; "R" is the shortest round-trip form in .NET Core 3.0+. Parse its digits and exponent.
        var roundTrip = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var exponentAt = roundTrip.IndexOfAny(['E', 'e']);
        var mantissa = exponentAt < 0 ? roundTrip : roundTrip[..exponentAt];
        var exponent = exponentAt < 0 ? 0 : int.Parse(roundTrip[(exponentAt + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.');
        var integerDigits = point < 0 ? mantissa : mantissa[..point];
        var fractionDigits = point < 0 ? "" : mantissa[(point + 1)..];
        var digits = (integerDigits + fractionDigits).TrimStart('0');
        // n: position of the decimal point relative to the first significant digit (value = 0.d1d2... × 10^n).
        var leadingZeros = (integerDigits + fractionDigits).Length - digits.Length;
        var n = integerDigits.Length - leadingZeros + exponent;
        digits = digits.TrimEnd('0');
        var k = digits.Length;

        var text = new StringBuilder();
        if (negative) text.Append('-');
        if (k <= n && n <= 21)
        {
            text.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            text.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            text.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            text.Append(digits[0]);
            if (k > 1) text.Append('.').Append(digits, 1, k - 1);
            var e = n - 1;
            text.Append('e').Append(e < 0 ? '-' : '+').Append(Math.Abs(e).ToString(CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }
}
