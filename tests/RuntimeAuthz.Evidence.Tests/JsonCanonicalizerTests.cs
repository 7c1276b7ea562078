using System.Globalization;
using System.Text.Json;

namespace RuntimeAuthz.Evidence.Tests;

public sealed class JsonCanonicalizerTests
{
    /// <summary>RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical number form.</summary>
    [Theory]
    [InlineData("0000000000000000", "0")]
    [InlineData("8000000000000000", "0")]
    [InlineData("0000000000000001", "5e-324")]
    [InlineData("8000000000000001", "-5e-324")]
    [InlineData("7fefffffffffffff", "1.7976931348623157e+308")]
    [InlineData("ffefffffffffffff", "-1.7976931348623157e+308")]
    [InlineData("4340000000000000", "9007199254740992")]
    [InlineData("c340000000000000", "-9007199254740992")]
    [InlineData("4430000000000000", "295147905179352830000")]
    [InlineData("44b52d02c7e14af5", "9.999999999999997e+22")]
    [InlineData("44b52d02c7e14af6", "1e+23")]
    [InlineData("44b52d02c7e14af7", "1.0000000000000001e+23")]
    [InlineData("444b1ae4d6e2ef4e", "999999999999999700000")]
    [InlineData("444b1ae4d6e2ef4f", "999999999999999900000")]
    [InlineData("444b1ae4d6e2ef50", "1e+21")]
    [InlineData("3eb0c6f7a0b5ed8c", "9.999999999999997e-7")]
    [InlineData("3eb0c6f7a0b5ed8d", "0.000001")]
    [InlineData("41b3de4355555553", "333333333.3333332")]
    [InlineData("41b3de4355555554", "333333333.33333325")]
    [InlineData("41b3de4355555555", "333333333.3333333")]
    [InlineData("41b3de4355555556", "333333333.3333334")]
    [InlineData("41b3de4355555557", "333333333.33333343")]
    [InlineData("becbf647612f3696", "-0.0000033333333333333333")]
    [InlineData("43143ff3c1cb0959", "1424953923781206.2")]
    public void Numbers_follow_the_appendix_B_samples(string bits, string expected)
    {
        var value = BitConverter.Int64BitsToDouble(long.Parse(bits, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        Assert.Equal(expected, JsonCanonicalizer.SerializeNumber(value));
        // The same value read back from its JSON text canonicalizes identically.
        Assert.Equal(expected, JsonCanonicalizer.Canonicalize(value.ToString("R", CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("1E30", "1e+30")]
    [InlineData("4.50", "4.5")]
    [InlineData("2e-3", "0.002")]
    [InlineData("0.000000000000000000000000001", "1e-27")]
    [InlineData("1e-7", "1e-7")]
    [InlineData("-0.0", "0")]
    [InlineData("100", "100")]
    [InlineData("1e20", "100000000000000000000")]
    [InlineData("123.456e5", "12345600")]
    public void Number_texts_canonicalize_to_the_ecmascript_form(string json, string expected) =>
        Assert.Equal(expected, JsonCanonicalizer.Canonicalize(json));

    [Fact]
    public void The_rfc_sample_object_canonicalizes_exactly()
    {
        const string input = """
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;
        const string expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
        Assert.Equal(expected, JsonCanonicalizer.Canonicalize(input));
    }

    [Fact]
    public void Members_are_sorted_by_utf16_code_units()
    {
        const string input = """
            {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",
             "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}
            """;
        using var document = JsonDocument.Parse(JsonCanonicalizer.Canonicalize(input));
        var values = document.RootElement.EnumerateObject().Select(p => p.Value.GetString()!).ToArray();
        Assert.Equal(["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"], values);
    }

    [Fact]
    public void Nested_objects_are_sorted_and_whitespace_removed() =>
        Assert.Equal("{\"a\":{\"x\":[1,{\"b\":2,\"c\":3}],\"y\":\"\"},\"b\":[]}",
            JsonCanonicalizer.Canonicalize("{ \"b\" : [ ], \"a\": {\"y\": \"\", \"x\": [1.0, {\"c\": 3, \"b\": 2}]}}"));

    [Theory]
    [InlineData("{\"a\":1,\"a\":2}")]
    [InlineData("[1e400]")]
    [InlineData("{\"a\":")]
    public void Invalid_input_is_rejected(string json) =>
        Assert.ThrowsAny<JsonException>(() => JsonCanonicalizer.Canonicalize(json));
}
