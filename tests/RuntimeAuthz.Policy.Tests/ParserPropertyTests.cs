using CsCheck;
using RuntimeAuthz.Policy.Temporal;

namespace RuntimeAuthz.Policy.Tests;

/// <summary>
/// Property-based tests of the Cedar and Dogwood parsers: printing a Cedar value and parsing it back gives the same
/// value, and no text, however mangled, makes a parser throw anything but its documented <see cref="CedarSyntaxException"/>.
/// A failure prints the seed that replays it (CsCheck: pass it as <c>seed:</c>).
/// </summary>
public sealed class ParserPropertyTests
{
    private static readonly Gen<string> Text =
        Gen.OneOf("a", "Z", "\"", "\\", "\n", "\t", "\0", "\u0001", "é", "日本", "😀", "*", " ", "{", "'").List[0, 10].Select(string.Concat);

    private static readonly Gen<Value> Scalars = Gen.OneOf(
        Gen.Bool.Select(b => (Value)BoolValue.Of(b)),
        Gen.Long.Select(n => (Value)LongValue.Of(n)),
        Text.Select(s => (Value)new StringValue(s)),
        Gen.Select(Gen.OneOf("User", "Ns::Doc"), Text).Select((type, id) => (Value)new EntityValue(new EntityUid(type, id))));

    private static Gen<Value> Values(int depth) => depth == 0
        ? Scalars
        : Gen.OneOf(
            Scalars,
            Values(depth - 1).Array[0, 4].Select(items => (Value)SetValue.FromDistinctCandidates(items)),
            Gen.Select(Text, Values(depth - 1)).List[0, 4]
                .Select(fields => (Value)new RecordValue(fields.GroupBy(f => f.Item1).ToDictionary(g => g.Key, g => g.First().Item2, StringComparer.Ordinal))));

    [Fact]
    public void A_printed_value_parses_back_to_an_equal_value() =>
        Values(3).Sample(value =>
        {
            var printed = value.ToString();
            var parsed = Cedar.Compile(printed).Eval(Cedar.Env());
            return parsed.Equals(value);
        }, iter: 3_000, print: v => v.ToString());

    private const string Policies = """
        @id("read")
        permit (principal == User::"alice", action in [Action::"view", Action::"edit"], resource in Folder::"f1")
        when { context.mfa && resource.owner == principal && context.n + 1 > 2 }
        unless { principal.name like "A*\*" || [1, 2, 3].containsAll([1]) || ip("10.0.0.1").isInRange(ip("10.0.0.0/8")) };
        forbid (principal is User in Group::"staff", action, resource is Doc)
        when { if resource has owner then resource.owner.age < -5 else decimal("1.5") == decimal("1.50") && {a: 1, "b c": [true]}.a == 1 };
        """;

    private const string Dogwood = """
        permit (principal, action == App::Action::"Read", resource) unless temporal { formerly within 1h App::Action::"Login"::request { } };
        """;

    /// <summary>Deletes, duplicates, replaces or inserts characters of a valid text at random places.</summary>
    private static Gen<string> Mangled(string valid)
    {
        var noise = Gen.OneOf("(", ")", "{", "}", "\"", "\\", "*", "::", ";", ",", "==", "like", "when", "temporal", "-", "9223372036854775808", "\ud800", "\0", "@", "in", "has", ".", "[", "]", "if", "0x", "1e9", "within", "since");
        var edit = Gen.Select(Gen.Int[0, 3], Gen.Int[0, valid.Length], Gen.Int[1, 12], noise);
        return edit.List[1, 6].Select(edits =>
        {
            var text = valid;
            foreach (var (kind, rawAt, length, insert) in edits)
            {
                var at = Math.Min(rawAt, text.Length);
                var span = Math.Min(length, text.Length - at);
                text = kind switch
                {
                    0 => text.Remove(at, span),
                    1 => text.Insert(at, text.Substring(at, span)),
                    2 => text.Remove(at, span).Insert(at, insert),
                    _ => text.Insert(at, insert),
                };
            }
            return text;
        });
    }

    private static bool ParsesOrSyntaxError(Action parse)
    {
        try
        {
            parse();
        }
        catch (CedarSyntaxException)
        {
        }
        return true;
    }

    [Fact]
    public void The_valid_texts_parse()
    {
        Assert.Equal(2, PolicySet.Parse(Policies).Policies.Count);
        Assert.True(TemporalPolicySet.Parse(Dogwood, "p.dw", EventSchema.DogwoodDefault).HasTemporalConditions);
    }

    [Fact]
    public void A_mangled_Cedar_text_parses_or_is_a_syntax_error() =>
        Mangled(Policies).Sample(text => ParsesOrSyntaxError(() => PolicySet.Parse(text)), iter: 3_000);

    [Fact]
    public void A_mangled_Dogwood_text_parses_or_is_a_syntax_error() =>
        Mangled(Dogwood).Sample(text => ParsesOrSyntaxError(() => TemporalPolicySet.Parse(text, "p.dw", EventSchema.DogwoodDefault)), iter: 3_000);

    [Fact]
    public void Random_token_soup_is_a_syntax_error_or_parses() =>
        Gen.OneOf("permit", "forbid", "(", ")", "principal", "action", "resource", ",", ";", "when", "unless", "{", "}", "==", "!=", "<", "&&", "||", "!",
                "if", "then", "else", "like", "\"a*\"", "has", "in", "is", "User", "::", "\"x\"", "[", "]", ".", "context", "1", "-", "+", "*", "@id", "temporal", "formerly",
                "within", "1h", "count", "?principal", "decimal", "(\"1.0\")", "containsAll", "9223372036854775807")
            .Array[0, 40].Select(tokens => string.Join(' ', tokens))
            .Sample(text => ParsesOrSyntaxError(() => PolicySet.Parse(text)) && ParsesOrSyntaxError(() => TemporalPolicySet.Parse(text, "p.dw", EventSchema.DogwoodDefault)), iter: 3_000);
}
