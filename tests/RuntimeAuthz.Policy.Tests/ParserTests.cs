using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Tests;

public class ParserTests
{
    private static CedarSyntaxException SyntaxError(string text) =>
        Assert.Throws<CedarSyntaxException>(() => PolicySet.Parse(text, "test.cedar"));

    [Fact]
    public void MissingParenthesisIsReportedWithLineColumnAndTheOffendingToken()
    {
        var error = SyntaxError("permit(principal, action, resource)\nwhen { [1].contains(1 foo };");
        Assert.Equal((CedarErrorKind.UnexpectedToken, 2, 23, 2, 26), (error.Kind, error.Line, error.Column, error.Span.EndLine, error.Span.EndColumn));
        Assert.StartsWith("test.cedar:2:23: ", error.Message);
    }

    [Fact]
    public void UnknownExtensionFunctionIsNamed()
    {
        var error = SyntaxError("permit(principal, action, resource) when { decimall(\"1.0\") };");
        Assert.Equal((CedarErrorKind.UnknownFunction, 1, 44), (error.Kind, error.Line, error.Column));
    }

    [Fact]
    public void UnknownMethodIsNamed()
    {
        var error = SyntaxError("permit(principal, action, resource) when { [1].containz(1) };");
        Assert.Equal((CedarErrorKind.UnknownMethod, 1, 48), (error.Kind, error.Line, error.Column));
    }

    [Theory]
    [InlineData("permit(principal, action, resource)", CedarErrorKind.UnexpectedToken, 1, 36)]
    [InlineData("permit(principal, action, resource)\nforbid(principal, action, resource);", CedarErrorKind.UnexpectedToken, 2, 1)]
    [InlineData("permit(principal, action, resource) whenever { true };", CedarErrorKind.UnexpectedToken, 1, 37)]
    [InlineData("allow(principal, action, resource);", CedarErrorKind.UnexpectedToken, 1, 1)]
    [InlineData("permit(action, principal, resource);", CedarErrorKind.UnexpectedToken, 1, 8)]
    [InlineData("permit(principal, action, resource) when { 1 + };", CedarErrorKind.UnexpectedToken, 1, 48)]
    [InlineData("permit(principal, action, resource) when { 1 == 2 == 3 };", CedarErrorKind.ChainedComparison, 1, 51)]
    [InlineData("permit(principal, action, resource) when { 9223372036854775808 };", CedarErrorKind.IntegerOutOfRange, 1, 44)]
    [InlineData("permit(principal, action, resource) when { -9223372036854775808.foo };", CedarErrorKind.IntegerOutOfRange, 1, 45)]
    [InlineData("permit(principal, action, resource) when { \"\\q\" };", CedarErrorKind.InvalidEscape, 1, 44)]
    [InlineData("permit(principal, action, resource) when { \"open };", CedarErrorKind.UnterminatedString, 1, 44)]
    [InlineData("permit(principal, action, resource) when { {a: 1, a: 2} };", CedarErrorKind.DuplicateKey, 1, 51)]
    [InlineData("permit(principal, action, resource) when { principal == ?principal };", CedarErrorKind.MisplacedSlot, 1, 57)]
    [InlineData("permit(principal == ?resource, action, resource);", CedarErrorKind.MisplacedSlot, 1, 21)]
    [InlineData("@id(\"a\") @id(\"b\") permit(principal, action, resource);", CedarErrorKind.DuplicateAnnotation, 1, 11)]
    [InlineData("permit(principal, action, resource) when { principal == like::\"x\" };", CedarErrorKind.ReservedWord, 1, 57)]
    [InlineData("permit(principal, action, resource) when { a & b };", CedarErrorKind.UnexpectedCharacter, 1, 46)]
    [InlineData("permit(principal, action, resource) when { [1].contains() };", CedarErrorKind.WrongArity, 1, 48)]
    [InlineData("permit(principal, action, resource) when { !!!!!true };", CedarErrorKind.MixedUnaryOperators, 1, 44)]
    [InlineData("permit(principal, action, resource) when { !-1 };", CedarErrorKind.MixedUnaryOperators, 1, 45)]
    [InlineData("permit(principal, action, resource) when { -!true };", CedarErrorKind.MixedUnaryOperators, 1, 45)]
    [InlineData("permit(principal, action == User::\"x\", resource);", CedarErrorKind.NotAnAction, 1, 29)]
    [InlineData("permit(principal, action in [Action::\"a\", User::\"x\"], resource);", CedarErrorKind.NotAnAction, 1, 43)]
    [InlineData("permit(principal, action, resource) when { principal.if == 1 };", CedarErrorKind.ReservedWord, 1, 54)]
    [InlineData("permit(principal, action, resource) when { context has a.then };", CedarErrorKind.ReservedWord, 1, 58)]
    [InlineData("permit(principal, action, resource) when { {in: 1} == {} };", CedarErrorKind.ReservedWord, 1, 45)]
    [InlineData("permit(principal, action, resource) when { 1 < 2 < 3 };", CedarErrorKind.ChainedComparison, 1, 50)]
    [InlineData("permit(principal, action, resource) when { principal in User::\"x\" == true };", CedarErrorKind.ChainedComparison, 1, 67)]
    [InlineData("permit(principal, action, resource) when { 1 + if true then 1 else 2 == 2 };", CedarErrorKind.UnexpectedToken, 1, 48)]
    [InlineData("permit(principal is User in [Group::\"a\"], action, resource);", CedarErrorKind.UnexpectedToken, 1, 29)]
    [InlineData("permit(principal, action, resource) when { lessThan(decimal(\"1.0\"), decimal(\"2.0\")) };", CedarErrorKind.UnknownFunction, 1, 44)]
    [InlineData("permit(principal, action, resource) when { __cedar::ip(\"1.2.3.4\") };", CedarErrorKind.ReservedWord, 1, 44)]
    public void InvalidPoliciesAreRejectedWithTheKindAndPositionOfTheError(string text, CedarErrorKind kind, int line, int column)
    {
        var error = SyntaxError(text);
        Assert.Equal((kind, line, column), (error.Kind, error.Line, error.Column));
        Assert.Equal($"test.cedar:{line}:{column}: ", error.Message[..$"test.cedar:{line}:{column}: ".Length]);
    }

    [Theory]
    [InlineData("permit(principal, action, resource)\nforbid(principal, action, resource);")]
    [InlineData("permit(principal, action, resource) whenever { true };")]
    [InlineData("permit(principal, action, resource) when { 1 < 2 < 3 };")]
    public void LikelyMistakesComeWithHelp(string text)
    {
        var error = SyntaxError(text);
        Assert.False(string.IsNullOrWhiteSpace(error.Help));
        Assert.EndsWith("; " + error.Help, error.Message);
    }

    [Fact]
    public void EveryIndependentErrorIsReportedWithItsPosition()
    {
        // Four broken policies (the fourth also lacks its ';') around a good one: parsing goes on after each.
        var error = SyntaxError("""
            permit(principal, action, resource) when { 1 + };
            permit(principal, action, resource);
            forbid(principal, action == User::"x", resource);
            @id("a") @id("b") permit(principal, action, resource)
            permit(principal, action, resource) when { context.a == ?principal };
            """);
        Assert.Equal(
            [(CedarErrorKind.UnexpectedToken, 1, 48), (CedarErrorKind.NotAnAction, 3, 29), (CedarErrorKind.DuplicateAnnotation, 4, 11), (CedarErrorKind.UnexpectedToken, 5, 1), (CedarErrorKind.MisplacedSlot, 5, 57)],
            error.Errors.Select(e => (e.Kind, e.Span.Line, e.Span.Column)));
        Assert.Equal(5, error.Message.Split('\n').Length);
        Assert.All(error.Message.Split('\n'), line => Assert.StartsWith("test.cedar:", line));
    }

    [Fact]
    public void APolicyFileWithThreeIndependentErrorsReportsAllThree()
    {
        var error = SyntaxError("""
            permit(principal, action, resource) when { context.n + };
            forbid(principal, action, resource) when { context.ok };
            permit(principal, action, resource) when { context has if };
            permit(principal, action == Doc::"x", resource);
            """);
        Assert.Equal(
            [(CedarErrorKind.UnexpectedToken, 1, 56), (CedarErrorKind.ReservedWord, 3, 56), (CedarErrorKind.NotAnAction, 4, 29)],
            error.Errors.Select(e => (e.Kind, e.Span.Line, e.Span.Column)));
        Assert.Equal(
            ["test.cedar:1:56: ", "test.cedar:3:56: ", "test.cedar:4:29: "],
            error.Message.Split('\n').Select(line => line[..line.IndexOf(' ', StringComparison.Ordinal)] + " "));
    }

    [Fact]
    public void AMissingSemicolonDoesNotHideTheNextPolicysError()
    {
        var error = SyntaxError("permit(principal, action, resource)\nforbid(principal, action, resource) when { 1 < };");
        Assert.Equal([(2, 1), (2, 48)], error.Errors.Select(e => (e.Span.Line, e.Span.Column)));
    }

    [Fact]
    public void ErrorInSecondPolicyPointsIntoIt()
    {
        var error = SyntaxError("permit(principal, action, resource);\n\n  forbid(principal, action, resource) when { context.x < };");
        Assert.Equal(3, error.Line);
        Assert.Equal(58, error.Column);
    }

    [Fact]
    public void PoliciesGetSequentialIdsAnnotationsPositionsAndText()
    {
        var set = PolicySet.Parse("""
            // a comment
            @id("first") @advice
            permit(principal, action, resource);
            forbid(principal == User::"x", action in [Action::"a", Action::"b"], resource is Doc in Folder::"f")
              unless { context.ok };
            """);
        Assert.Equal(["policy0", "policy1"], set.Policies.Select(p => p.Id));
        var first = set.Policies[0];
        Assert.Equal("first", first.Annotations["id"]);
        Assert.Equal("", first.Annotations["advice"]);
        Assert.Equal(PolicyEffect.Permit, first.Effect);
        Assert.Equal((2, 1), (first.Line, first.Column));
        Assert.StartsWith("@id(\"first\")", first.Text);
        Assert.EndsWith("resource);", first.Text);
        Assert.Equal(PolicyEffect.Forbid, set.Policies[1].Effect);
        Assert.EndsWith("unless { context.ok };", set.Policies[1].Text);
    }

    [Fact]
    public void StringEscapesFollowCedar()
    {
        Cedar.Same("\"a\\nb\"", "\"a\\u{a}b\"");
        Cedar.Same("\"A\"", "\"\\x41\"");
        Cedar.Same("\"\\u{1F600}\"", "\"😀\"");
        Cedar.True("\"tab\\there\" == \"tab\\u{9}here\"");
        Cedar.True("\"q\\\"q\" == \"q\\u{22}q\"");
        Cedar.True("\"\\0\" != \"0\"");
        // Rust's rules, which Cedar uses: underscores after the first digit of \u{...}, and a backslash
        // before a line break skips the break and the indentation after it.
        Cedar.Same("\"\\u{123}\"", "\"\\u{0_1_2_3}\"");
        Cedar.Same("\"\\u{10FFFF}\"", "\"\\u{10_FF_FF}\"");
        Cedar.Same("\"ab\"", "\"a\\\n     b\"");
    }

    [Theory]
    [InlineData("\"\\u{_1}\"")]        // a leading underscore
    [InlineData("\"\\u{}\"")]          // no digits
    [InlineData("\"\\u{1234567}\"")]   // more than six digits
    [InlineData("\"\\u{12_345_67}\"")] // still more than six digits
    [InlineData("\"\\u{D800}\"")]      // a surrogate
    [InlineData("\"\\u{110000}\"")]    // beyond Unicode
    [InlineData("\"\\x80\"")]          // \x is ASCII only
    [InlineData("\"\\q\"")]
    [InlineData("\"a\rb\"")]            // a bare carriage return
    public void EscapesCedarRejectsAreInvalidEscapes(string literal)
    {
        var error = SyntaxError($"permit(principal, action, resource) when {{ {literal} == \"\" }};");
        Assert.Equal((CedarErrorKind.InvalidEscape, 1, 44), (error.Kind, error.Line, error.Column));
    }

    [Fact]
    public void EscapesReadTheSameInEntityIdsPatternsAndSchemas()
    {
        var set = PolicySet.Parse("permit(principal == User::\"\\u{0_1_2_3}\", action, resource) when { \"a\\u{2_a}b\" like \"a\\u{2_A}*\" };");
        Assert.Equal(new EntityUid("User", "\u0123"), set.Policies[0].Principal.Entity);
        var schema = CedarSchema.Parse("entity Color enum [\"\\u{0_1_2_3}\"]; action \"gr\\u{6_f}up\"; action view in [\"group\"] appliesTo { principal: [Color], resource: [Color] };");
        Assert.Equal(["\u0123"], schema.GetEntityType("Color")!.EnumIds!);
        Assert.NotNull(schema.GetAction(new EntityUid("Action", "group")));
        Assert.Throws<CedarSyntaxException>(() => CedarSchema.Parse("entity Color enum [\"\\u{_1}\"];"));
    }

    [Fact]
    public void AnEscapedLineBreakInAStringStillCountsAsALine()
    {
        var error = SyntaxError("permit(principal, action, resource) when { \"a\\\nb\" == 1 + };");
        Assert.Equal((2, 11), (error.Line, error.Column));
    }

    [Fact]
    public void EntityLiteralsWithNamespacesAndEscapedIds()
    {
        var set = PolicySet.Parse("permit(principal == A::B::User::\"al\\\"ice\", action, resource);");
        Assert.Equal(new EntityUid("A::B::User", "al\"ice"), set.Policies[0].Principal.Entity);
        Assert.Equal("A::B::User::\"al\\\"ice\"", new EntityUid("A::B::User", "al\"ice").ToString());
    }

    [Theory]
    [InlineData("permit(principal, action, resource) when { [1, 2,].contains(1,) };")]
    [InlineData("permit(principal, action, resource,);")]
    [InlineData("permit(principal, action == NS::Action::\"x\", resource) when { true } when { principal.contains };")]
    [InlineData("permit(principal, action, resource) when { principal == principal::\"x\" && {\"a b\": 1}[\"a b\"] == 1 };")]
    [InlineData("permit(principal, action, resource) when { principal is User in [Group::\"a\"] };")]
    public void CedarAcceptsTheseAndSoDoWe(string text)
    {
        Assert.Single(PolicySet.Parse(text).Policies);
    }

    [Fact]
    public void HostileNestingIsASyntaxErrorNotAStackOverflow()
    {
        var deepParens = new string('(', 5000) + "1" + new string(')', 5000);
        Assert.Equal(CedarErrorKind.TooDeep, SyntaxError($"permit(principal, action, resource) when {{ {deepParens} == 1 }};").Kind);
        var deepSets = new string('[', 5000) + new string(']', 5000);
        Assert.Equal(CedarErrorKind.TooDeep, SyntaxError($"permit(principal, action, resource) when {{ {deepSets} == [] }};").Kind);
        var longChain = string.Join(" || ", Enumerable.Repeat("false", 5000));
        Assert.Equal(CedarErrorKind.TooDeep, SyntaxError($"permit(principal, action, resource) when {{ {longChain} }};").Kind);
        // Within the bounds, deep expressions still work.
        var fine = new string('(', 150) + "1" + new string(')', 150);
        Cedar.True($"{fine} == 1");
        Cedar.False(string.Join(" || ", Enumerable.Repeat("false", 500)));
    }

    [Fact]
    public void EmptyInputHasNoPolicies()
    {
        Assert.Empty(PolicySet.Parse("  // nothing here\n").Policies);
    }
}
