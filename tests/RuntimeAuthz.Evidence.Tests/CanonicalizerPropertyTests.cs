using System.Globalization;
using System.Text.Json;
using CsCheck;

namespace RuntimeAuthz.Evidence.Tests;

/// <summary>
/// Property-based tests of <see cref="JsonCanonicalizer"/>: the canonical form is a fixed point, denotes the same JSON
/// value as its input whatever the input's layout, member order and escapes, and malformed text only ever raises the
/// documented <see cref="JsonException"/>. A failure prints the seed that replays it.
/// </summary>
public sealed class CanonicalizerPropertyTests
{
    private static readonly Gen<string> Text =
        Gen.OneOf("a", "Z", "\"", "\\", "/", "\n", "\u001f", "\u007f", "é", "€", "日本", "😀", "\u2028", " ").List[0, 8].Select(string.Concat);

    private static readonly Gen<double> Numbers = Gen.OneOf(
        Gen.Int.Select(i => (double)i),
        Gen.Double.Where(double.IsFinite),
        Gen.OneOf(0.0, -0.0, 1e21, 1e-7, 5e-324, double.MaxValue, 0.1, 123456789012345680000.0));

    /// <summary>A random JSON value, written with random whitespace, escapes and member order.</summary>
    private static Gen<string> Json(int depth)
    {
        var scalar = Gen.OneOf(
            Gen.OneOf("true", "false", "null"),
            Numbers.Select(n => n.ToString("R", CultureInfo.InvariantCulture)),
            Gen.Select(Text, Gen.Bool).Select((s, escapeAll) => Quote(s, escapeAll)));
        if (depth == 0) return scalar;
        var space = Gen.OneOf("", " ", "\n\t ");
        var inner = Json(depth - 1);
        var array = Gen.Select(inner.List[0, 4], space).Select((items, ws) => "[" + ws + string.Join("," + ws, items) + ws + "]");
        var obj = Gen.Select(Gen.Select(Text, inner).List[0, 4], space, Gen.Bool).Select((members, ws, escapeAll) =>
            "{" + ws + string.Join("," + ws, members.DistinctBy(m => m.Item1).Select(m => Quote(m.Item1, escapeAll) + ws + ":" + ws + m.Item2)) + ws + "}");
        return Gen.OneOf(scalar, array, obj);
    }

    /// <summary>A JSON string literal; with <paramref name="escapeAll"/> every character as \uXXXX (surrogate pairs as two escapes).</summary>
    private static string Quote(string value, bool escapeAll) =>
        escapeAll ? "\"" + string.Concat(value.Select(c => $"\\u{(int)c:x4}")) + "\"" : JsonSerializer.Serialize(value);

    [Fact]
    public void The_canonical_form_is_a_fixed_point_and_denotes_the_same_value() =>
        Json(3).Sample(json =>
        {
            var canonical = JsonCanonicalizer.Canonicalize(json);
            using var original = JsonDocument.Parse(json);
            using var again = JsonDocument.Parse(canonical);
            return JsonCanonicalizer.Canonicalize(canonical) == canonical && SameValue(original.RootElement, again.RootElement) && !canonical.Contains('\n');
        }, iter: 3_000);

    [Fact]
    public void Member_order_does_not_change_the_canonical_form() =>
        Gen.Select(Text, Text, Numbers, Numbers).Where((a, b, _, _) => a != b).Sample((a, b, x, y) =>
        {
            var one = $"{{{Quote(a, false)}:{x.ToString("R", CultureInfo.InvariantCulture)},{Quote(b, true)}:[{y.ToString("R", CultureInfo.InvariantCulture)}]}}";
            var other = $"{{ {Quote(b, false)} : [ {y.ToString("R", CultureInfo.InvariantCulture)} ] , {Quote(a, true)} : {x.ToString("R", CultureInfo.InvariantCulture)} }}";
            return JsonCanonicalizer.Canonicalize(one) == JsonCanonicalizer.Canonicalize(other);
        }, iter: 2_000);

    [Fact]
    public void Malformed_text_is_only_ever_a_JsonException() =>
        Gen.Select(Json(2), Gen.Int[0, 1000], Gen.OneOf("", "{", "}", "]", ",", "\"", "\\", "\\ud800", "\\udc00\\ud800", "1e999", "-", "00", "nul", "\"a\":1", "\u0000"))
            .Sample((json, at, insert) =>
            {
                var text = json.Insert(Math.Min(at, json.Length), insert);
                try
                {
                    JsonCanonicalizer.Canonicalize(text);
                }
                catch (JsonException)
                {
                }
                return true;
            }, iter: 3_000);

    private static bool SameValue(JsonElement a, JsonElement b)
    {
        if (a.ValueKind != b.ValueKind) return false;
        return a.ValueKind switch
        {
            JsonValueKind.Object => a.EnumerateObject().Count() == b.EnumerateObject().Count()
                && a.EnumerateObject().All(p => b.TryGetProperty(p.Name, out var other) && SameValue(p.Value, other)),
            JsonValueKind.Array => a.GetArrayLength() == b.GetArrayLength() && a.EnumerateArray().Zip(b.EnumerateArray()).All(p => SameValue(p.First, p.Second)),
            JsonValueKind.String => a.GetString() == b.GetString(),
            JsonValueKind.Number => a.GetDouble().Equals(b.GetDouble()),
            _ => true,
        };
    }
}
