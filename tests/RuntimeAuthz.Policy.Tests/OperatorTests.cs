namespace RuntimeAuthz.Policy.Tests;

public class OperatorTests
{
    [Theory]
    [InlineData("true || (1 + true)", "true")] // right side never evaluated
    [InlineData("false && (1 + true)", "false")]
    [InlineData("!false", "true")]
    public void BooleanOperatorsShortCircuitAndRequireBooleans(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("1 && true", CedarErrorKind.TypeError)]
    [InlineData("true && 1", CedarErrorKind.TypeError)]
    [InlineData("false || \"x\"", CedarErrorKind.TypeError)]
    [InlineData("!1", CedarErrorKind.TypeError)]
    public void BooleanOperatorsShortCircuitAndRequireBooleans_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));

    [Theory]
    [InlineData("if true then 1 else (1 + \"x\")", "1")]
    [InlineData("if 1 < 0 then principal.missing else 2", "2")]
    public void IfThenElseEvaluatesOnlyTheChosenBranch(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("if 1 then 2 else 3", CedarErrorKind.TypeError)]
    public void IfThenElseEvaluatesOnlyTheChosenBranch_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));

    [Theory]
    [InlineData("1 == 1", "true")]
    [InlineData("1 == \"1\"", "false")]
    [InlineData("User::\"alice\" == Admin::\"alice\"", "false")]
    [InlineData("[1, 2, 2] == [2, 1]", "true")]
    [InlineData("{a: 1, b: [true]} == {b: [true], a: 1}", "true")]
    [InlineData("{a: 1} == {a: 1, b: 2}", "false")]
    [InlineData("1 != 2", "true")]
    [InlineData("principal == User::\"alice\"", "true")]
    [InlineData("decimal(\"1.50\") == decimal(\"1.5\")", "true")]
    [InlineData("ip(\"10.0.0.1/24\") == ip(\"10.0.0.0/24\")", "false")]
    [InlineData("ip(\"127.0.0.1\") == ip(\"127.0.0.1/32\")", "true")]
    public void EqualityIsStructuralAndNeverAnErrorAcrossTypes(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("1 < 2", "true")]
    [InlineData("2 <= 2", "true")]
    [InlineData("3 > 2", "true")]
    [InlineData("2 >= 3", "false")]
    [InlineData("-5 < -4", "true")]
    [InlineData("datetime(\"2024-01-01\") < datetime(\"2024-01-02\")", "true")]
    [InlineData("duration(\"1h\") >= duration(\"60m\")", "true")]
    public void ComparisonsWorkOnLongsAndOnDatetimesAndDurations(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("\"a\" < \"b\"", CedarErrorKind.TypeError)]
    [InlineData("decimal(\"1.0\") < decimal(\"2.0\")", CedarErrorKind.TypeError)]
    [InlineData("duration(\"1h\") < datetime(\"2024-01-01\")", CedarErrorKind.TypeError)]
    public void ComparisonsWorkOnLongsAndOnDatetimesAndDurations_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));

    [Theory]
    [InlineData("1 + 2 * 3", "7")]
    [InlineData("2 - 3", "-1")]
    [InlineData("-9223372036854775807 - 1", "-9223372036854775808")]
    public void ArithmeticIsChecked64Bit(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("9223372036854775807 + 1", CedarErrorKind.IntegerOverflow)]
    [InlineData("-9223372036854775808 - 1", CedarErrorKind.IntegerOverflow)]
    [InlineData("4611686018427387904 * 2", CedarErrorKind.IntegerOverflow)]
    [InlineData("-(-9223372036854775808)", CedarErrorKind.IntegerOverflow)]
    [InlineData("1 + \"2\"", CedarErrorKind.TypeError)]
    public void ArithmeticIsChecked64Bit_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));

    [Theory]
    [InlineData("-9223372036854775808", "-9223372036854775808")]
    [InlineData("--5", "5")]
    [InlineData("!!true", "true")]
    [InlineData("-context.n + 2", "-3")]
    public void NegativeLiteralsAndRepeatedUnaryOperators(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("principal in Group::\"staff\"", "true")]
    [InlineData("principal in Group::\"everyone\"", "true")] // two levels up
    [InlineData("User::\"bob\" in Group::\"everyone\"", "true")] // three levels up
    [InlineData("principal in principal", "true")]
    [InlineData("principal in Group::\"managers\"", "false")]
    [InlineData("principal in [Group::\"nope\", Group::\"everyone\"]", "true")]
    [InlineData("principal in []", "false")]
    [InlineData("User::\"ghost\" in Group::\"staff\"", "false")] // unknown entity: not an error
    [InlineData("User::\"ghost\" in User::\"ghost\"", "true")]
    public void InFollowsTheHierarchyTransitively(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("principal in [Group::\"staff\", 1]", CedarErrorKind.TypeError)]
    [InlineData("1 in Group::\"staff\"", CedarErrorKind.TypeError)]
    [InlineData("principal in \"staff\"", CedarErrorKind.TypeError)]
    public void InFollowsTheHierarchyTransitively_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));

    [Theory]
    [InlineData("principal.age", "30")]
    [InlineData("principal.address.city", "\"Paris\"")]
    [InlineData("principal[\"address\"][\"city\"]", "\"Paris\"")]
    [InlineData("principal.manager.age", "50")]
    [InlineData("principal has age", "true")]
    [InlineData("principal has \"name\"", "true")]
    [InlineData("principal has salary", "false")]
    [InlineData("principal has address.city", "true")]
    [InlineData("principal has address.country", "false")]
    [InlineData("principal has salary.amount", "false")] // `has a.b` stops at the first missing step
    [InlineData("User::\"ghost\" has age", "false")] // missing entity: false, not an error
    [InlineData("context has mfa", "true")]
    [InlineData("{a: {b: 1}} has a.b", "true")]
    public void AttributeAccessAndHas(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("principal has age.years", CedarErrorKind.TypeError)] // ...but `age.years` on a long is a type error
    [InlineData("principal.salary", CedarErrorKind.MissingAttribute)]
    [InlineData("User::\"ghost\".age", CedarErrorKind.EntityNotFound)]
    [InlineData("context.missing", CedarErrorKind.MissingAttribute)]
    [InlineData("1.foo", CedarErrorKind.TypeError)]
    [InlineData("\"x\" has foo", CedarErrorKind.TypeError)]
    public void AttributeAccessAndHas_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));

    [Theory]
    [InlineData("\"hello world\" like \"hello*\"", "true")]
    [InlineData("\"hello world\" like \"*o w*\"", "true")]
    [InlineData("\"\" like \"*\"", "true")]
    [InlineData("\"hello\" like \"hello?\"", "false")]
    [InlineData("\"a*b\" like \"a\\*b\"", "true")]
    [InlineData("\"axb\" like \"a\\*b\"", "false")]
    [InlineData("\"aaa\" like \"a*a*a\"", "true")]
    [InlineData("\"aa\" like \"a*a*a\"", "false")]
    [InlineData("\"line\\nbreak\" like \"line*\"", "true")]
    [InlineData("\"anything\" like \"\\u{2a}\"", "true")] // only a backslash-star is a literal star, as in Cedar
    [InlineData("\"anything\" like \"\\x2a\"", "true")]
    public void LikeMatchesWildcardsAndEscapedStars(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("1 like \"1\"", CedarErrorKind.TypeError)]
    public void LikeMatchesWildcardsAndEscapedStars_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));

    [Theory]
    [InlineData("principal is User", "true")]
    [InlineData("principal is Group", "false")]
    [InlineData("principal is User in Group::\"everyone\"", "true")]
    [InlineData("principal is Group in Group::\"everyone\"", "false")]
    [InlineData("A::User::\"x\" is User", "false")]
    [InlineData("A::User::\"x\" is A::User", "true")]
    public void IsChecksTheEntityType(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("1 is User", CedarErrorKind.TypeError)]
    public void IsChecksTheEntityType_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));

    [Theory]
    [InlineData("[1, 2, 3].contains(2)", "true")]
    [InlineData("[1, 2, 3].contains(\"2\")", "false")]
    [InlineData("[1, 2, 3].containsAll([3, 1])", "true")]
    [InlineData("[1, 2].containsAll([1, 4])", "false")]
    [InlineData("[1, 2].containsAll([])", "true")]
    [InlineData("[1, 2].containsAny([5, 2])", "true")]
    [InlineData("[1, 2].containsAny([])", "false")]
    [InlineData("[].isEmpty()", "true")]
    [InlineData("[[]].isEmpty()", "false")]
    [InlineData("principal.roles.contains(\"admin\")", "true")]
    [InlineData("[principal, resource].contains(User::\"alice\")", "true")]
    public void SetMethods(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("\"abc\".contains(\"a\")", CedarErrorKind.TypeError)]
    [InlineData("[1].containsAll(1)", CedarErrorKind.TypeError)]
    [InlineData("1.isEmpty()", CedarErrorKind.TypeError)]
    public void SetMethods_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));

    [Theory]
    [InlineData("principal.hasTag(\"clearance\")", "true")]
    [InlineData("principal.hasTag(\"nope\")", "false")]
    [InlineData("User::\"ghost\".hasTag(\"clearance\")", "false")]
    [InlineData("principal.getTag(\"clearance\")", "\"secret\"")]
    [InlineData("principal.getTag(\"level\")", "3")]
    public void TagsAreReadWithHasTagAndGetTag(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("principal.getTag(\"nope\")", CedarErrorKind.MissingTag)]
    [InlineData("User::\"ghost\".getTag(\"clearance\")", CedarErrorKind.MissingTag)]
    [InlineData("principal.getTag(1)", CedarErrorKind.TypeError)]
    [InlineData("context.getTag(\"x\")", CedarErrorKind.TypeError)]
    public void TagsAreReadWithHasTagAndGetTag_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));

    [Theory]
    [InlineData("{\"x\": principal.age, y: [principal.name]}", "{x: 30, y: [\"Alice\"]}")]
    public void RecordAndSetLiteralsEvaluateTheirElements(string expression, string expected) => Cedar.Same(expected, expression);

    [Theory]
    [InlineData("[principal.salary]", CedarErrorKind.MissingAttribute)]
    [InlineData("{a: principal.salary}", CedarErrorKind.MissingAttribute)]
    public void RecordAndSetLiteralsEvaluateTheirElements_Errors(string expression, CedarErrorKind kind) => Assert.Equal(kind, Cedar.Fails(expression));
}
