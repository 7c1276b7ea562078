namespace RuntimeAuthz.Policy.Tests;

/// <summary>A Cedar expression parsed on its own, as grant conditions are.</summary>
public class ExpressionTests
{
    private static readonly EntityStore Entities = EntityStore.FromJson(Cedar.Entities);

    private static AuthorizationRequest Request(string contextJson) =>
        new(new EntityUid("User", "alice"), new EntityUid("Action", "view"), new EntityUid("Doc", "d1"), CedarContext.FromJson(contextJson));

    [Theory]
    [InlineData("context.pages <= 10", """{"pages": 3}""", true)]
    [InlineData("context.pages <= 10", """{"pages": 30}""", false)]
    [InlineData("principal in Group::\"everyone\" && resource.owner == principal", "{}", true)]
    public void HoldsEvaluatesAgainstTheRequest(string text, string contextJson, bool expected)
    {
        var expression = CedarExpression.Parse(text);
        Assert.Equal(expected, expression.Holds(Request(contextJson), Entities, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("context.pages <= 10", "{}", CedarErrorKind.MissingAttribute)]
    [InlineData("context.pages", """{"pages": 3}""", CedarErrorKind.TypeError)]
    public void AnErrorOrANonBooleanDoesNotHold(string text, string contextJson, CedarErrorKind because)
    {
        Assert.False(CedarExpression.Parse(text).Holds(Request(contextJson), Entities, out var error));
        Assert.Equal(because, error?.Kind);
    }

    [Fact]
    public void PositionsCountFromWhereTheTextStarts()
    {
        var error = Assert.Throws<CedarSyntaxException>(() => CedarExpression.Parse("context.a &&\n  context.b <", "grant", line: 7, column: 20));
        Assert.Equal(("grant", 8, 14), (error.SourceName, error.Line, error.Column));
        var first = Assert.Throws<CedarSyntaxException>(() => CedarExpression.Parse("1 +", "grant", line: 7, column: 20));
        Assert.Equal((7, 23), (first.Line, first.Column));
    }

    [Fact]
    public void SpansOfTheParsedExpressionAreRelativeToTheGivenStart()
    {
        var expression = CedarExpression.Parse("  principal.age > 3", "grant", line: 2, column: 5);
        Assert.Equal(new SourceSpan("grant", 2, 7, 2, 24, 2, 19), expression.Span);
    }

    [Theory]
    [InlineData("true }; permit (principal, action, resource) when { true", 1, 6)]
    [InlineData("principal == ?principal", 1, 14)]
    [InlineData("", 1, 1)]
    [InlineData("true true", 1, 6)]
    public void OnlyOneWholeExpressionIsAccepted(string text, int line, int column)
    {
        var error = Assert.Throws<CedarSyntaxException>(() => CedarExpression.Parse(text));
        Assert.Equal((line, column), (error.Line, error.Column));
    }
}
