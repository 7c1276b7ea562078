namespace RuntimeAuthz.Policy.Tests;

public class ParserTests
{
    private static CedarSyntaxException SyntaxError(string text) =>
        Assert.Throws<CedarSyntaxException>(() => PolicySet.Parse(text, "test.cedar"));

    [Fact]
    public void MissingParenthesisIsReportedWithLineColumnAndTheOffendingToken()
    {
        var error = SyntaxError("permit(principal, action, resource)\nwhen { [1].contains(1 foo };");
        Assert.Equal(2, error.Line);
        Assert.Equal(23, error.Column);
        Assert.Contains("expected ')' after the arguments of 'contains', found 'foo'", error.Detail);
        Assert.StartsWith("test.cedar:2:23: ", error.Message);
    }

    [Fact]
    public void UnknownExtensionFunctionIsNamed()
    {
        var error = SyntaxError("permit(principal, action, resource) when { decimall(\"1.0\") };");
        Assert.Equal("unknown extension function 'decimall'", error.Detail);
        Assert.Equal((1, 44), (error.Line, error.Column));
    }

    [Fact]
    public void UnknownMethodIsNamed()
    {
        var error = SyntaxError("permit(principal, action, resource) when { [1].containz(1) };");
        Assert.Contains("unknown method 'containz'", error.Detail);
    }

    [Theory]
    [InlineData("permit(principal, action, resource)", "expected ';'")]
    [InlineData("permit(principal, action, resource)\nforbid(principal, action, resource);", "is the ';' after the previous policy missing?")]
    [InlineData("permit(principal, action, resource) whenever { true };", "conditions start with 'when' or 'unless'")]
    [InlineData("allow(principal, action, resource);", "expected 'permit' or 'forbid'")]
    [InlineData("permit(action, principal, resource);", "expected 'principal'")]
    [InlineData("permit(principal, action, resource) when { 1 + };", "expected an expression")]
    [InlineData("permit(principal, action, resource) when { 1 == 2 == 3 };", "chained comparisons")]
    [InlineData("permit(principal, action, resource) when { 9223372036854775808 };", "does not fit in 64 bits")]
    [InlineData("permit(principal, action, resource) when { -9223372036854775808.foo };", "does not fit in 64 bits")]
    [InlineData("permit(principal, action, resource) when { \"\\q\" };", "invalid escape sequence")]
    [InlineData("permit(principal, action, resource) when { \"open };", "unterminated string")]
    [InlineData("permit(principal, action, resource) when { {a: 1, a: 2} };", "duplicate key \"a\"")]
    [InlineData("permit(principal, action, resource) when { principal == ?principal };", "only allowed in the policy scope")]
    [InlineData("permit(principal == ?resource, action, resource);", "cannot be used in the principal constraint")]
    [InlineData("@id(\"a\") @id(\"b\") permit(principal, action, resource);", "duplicate annotation '@id'")]
    [InlineData("permit(principal, action, resource) when { principal == like::\"x\" };", "reserved word")]
    [InlineData("permit(principal, action, resource) when { a & b };", "did you mean '&&'")]
    [InlineData("permit(principal, action, resource) when { [1].contains() };", "takes 1 argument")]
    [InlineData("permit(principal, action, resource) when { !!!!!true };", "too many unary operators")]
    [InlineData("permit(principal, action, resource) when { !-1 };", "cannot be combined without parentheses")]
    [InlineData("permit(principal, action, resource) when { -!true };", "cannot be combined without parentheses")]
    [InlineData("permit(principal, action == User::\"x\", resource);", "expected an action entity")]
    [InlineData("permit(principal, action in [Action::\"a\", User::\"x\"], resource);", "expected an action entity")]
    [InlineData("permit(principal, action, resource) when { principal.if == 1 };", "'if' is a reserved word")]
    [InlineData("permit(principal, action, resource) when { context has a.then };", "'then' is a reserved word")]
    [InlineData("permit(principal, action, resource) when { {in: 1} == {} };", "'in' is a reserved word")]
    [InlineData("permit(principal, action, resource) when { 1 < 2 < 3 };", "chained comparisons need parentheses")]
    [InlineData("permit(principal, action, resource) when { principal in User::\"x\" == true };", "chained comparisons need parentheses")]
    [InlineData("permit(principal, action, resource) when { 1 + if true then 1 else 2 == 2 };", "must be in parentheses")]
    [InlineData("permit(principal is User in [Group::\"a\"], action, resource);", "expected an entity like Type::\"id\"")]
    [InlineData("permit(principal, action, resource) when { lessThan(decimal(\"1.0\"), decimal(\"2.0\")) };", "'lessThan' is a method, not a function")]
    [InlineData("permit(principal, action, resource) when { __cedar::ip(\"1.2.3.4\") };", "'__cedar' is a reserved word")]
    public void InvalidPoliciesAreRejectedWithAClearMessage(string text, string expected)
    {
        Assert.Contains(expected, SyntaxError(text).Detail);
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
        Assert.Contains("nested too deeply", SyntaxError($"permit(principal, action, resource) when {{ {deepParens} == 1 }};").Detail);
        var deepSets = new string('[', 5000) + new string(']', 5000);
        Assert.Contains("nested too deeply", SyntaxError($"permit(principal, action, resource) when {{ {deepSets} == [] }};").Detail);
        var longChain = string.Join(" || ", Enumerable.Repeat("false", 5000));
        Assert.Contains("expression too large", SyntaxError($"permit(principal, action, resource) when {{ {longChain} }};").Detail);
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
