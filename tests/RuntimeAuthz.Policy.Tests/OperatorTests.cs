namespace RuntimeAuthz.Policy.Tests;

public class OperatorTests
{
    [Fact]
    public void BooleanOperatorsShortCircuitAndRequireBooleans()
    {
        Cedar.True("true || (1 + true)");        // right side never evaluated
        Cedar.False("false && (1 + true)");
        Cedar.True("!false");
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("1 && true"));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("true && 1"));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("false || \"x\""));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("!1"));
    }

    [Fact]
    public void IfThenElseEvaluatesOnlyTheChosenBranch()
    {
        Cedar.Same("1", "if true then 1 else (1 + \"x\")");
        Cedar.Same("2", "if 1 < 0 then principal.missing else 2");
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("if 1 then 2 else 3"));
    }

    [Fact]
    public void EqualityIsStructuralAndNeverAnErrorAcrossTypes()
    {
        Cedar.True("1 == 1");
        Cedar.False("1 == \"1\"");
        Cedar.False("User::\"alice\" == Admin::\"alice\"");
        Cedar.True("[1, 2, 2] == [2, 1]");
        Cedar.True("{a: 1, b: [true]} == {b: [true], a: 1}");
        Cedar.False("{a: 1} == {a: 1, b: 2}");
        Cedar.True("1 != 2");
        Cedar.True("principal == User::\"alice\"");
        Cedar.True("decimal(\"1.50\") == decimal(\"1.5\")");
        Cedar.False("ip(\"10.0.0.1/24\") == ip(\"10.0.0.0/24\")");
        Cedar.True("ip(\"127.0.0.1\") == ip(\"127.0.0.1/32\")");
    }

    [Fact]
    public void ComparisonsWorkOnLongsAndOnDatetimesAndDurations()
    {
        Cedar.True("1 < 2");
        Cedar.True("2 <= 2");
        Cedar.True("3 > 2");
        Cedar.False("2 >= 3");
        Cedar.True("-5 < -4");
        Cedar.True("datetime(\"2024-01-01\") < datetime(\"2024-01-02\")");
        Cedar.True("duration(\"1h\") >= duration(\"60m\")");
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("\"a\" < \"b\""));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("decimal(\"1.0\") < decimal(\"2.0\")"));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("duration(\"1h\") < datetime(\"2024-01-01\")"));
    }

    [Fact]
    public void ArithmeticIsChecked64Bit()
    {
        Cedar.Same("7", "1 + 2 * 3");
        Cedar.Same("-1", "2 - 3");
        Cedar.Same("-9223372036854775808", "-9223372036854775807 - 1");
        Assert.Equal(CedarErrorKind.IntegerOverflow, Cedar.Fails("9223372036854775807 + 1"));
        Assert.Equal(CedarErrorKind.IntegerOverflow, Cedar.Fails("-9223372036854775808 - 1"));
        Assert.Equal(CedarErrorKind.IntegerOverflow, Cedar.Fails("4611686018427387904 * 2"));
        Assert.Equal(CedarErrorKind.IntegerOverflow, Cedar.Fails("-(-9223372036854775808)"));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("1 + \"2\""));
    }

    [Fact]
    public void NegativeLiteralsAndRepeatedUnaryOperators()
    {
        Cedar.Same("-9223372036854775808", "-9223372036854775808");
        Cedar.Same("5", "--5");
        Cedar.True("!!true");
        Cedar.Same("-3", "-context.n + 2");
    }

    [Fact]
    public void InFollowsTheHierarchyTransitively()
    {
        Cedar.True("principal in Group::\"staff\"");
        Cedar.True("principal in Group::\"everyone\"");        // two levels up
        Cedar.True("User::\"bob\" in Group::\"everyone\"");    // three levels up
        Cedar.True("principal in principal");
        Cedar.False("principal in Group::\"managers\"");
        Cedar.True("principal in [Group::\"nope\", Group::\"everyone\"]");
        Cedar.False("principal in []");
        Cedar.False("User::\"ghost\" in Group::\"staff\"");    // unknown entity: not an error
        Cedar.True("User::\"ghost\" in User::\"ghost\"");
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("principal in [Group::\"staff\", 1]"));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("1 in Group::\"staff\""));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("principal in \"staff\""));
    }

    [Fact]
    public void AttributeAccessAndHas()
    {
        Cedar.Same("30", "principal.age");
        Cedar.Same("\"Paris\"", "principal.address.city");
        Cedar.Same("\"Paris\"", "principal[\"address\"][\"city\"]");
        Cedar.Same("50", "principal.manager.age");
        Cedar.True("principal has age");
        Cedar.True("principal has \"name\"");
        Cedar.False("principal has salary");
        Cedar.True("principal has address.city");
        Cedar.False("principal has address.country");
        Cedar.False("principal has salary.amount");        // `has a.b` stops at the first missing step
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("principal has age.years")); // ...but `age.years` on a long is a type error
        Cedar.False("User::\"ghost\" has age");              // missing entity: false, not an error
        Cedar.True("context has mfa");
        Cedar.True("{a: {b: 1}} has a.b");
        Assert.Equal(CedarErrorKind.MissingAttribute, Cedar.Fails("principal.salary"));
        Assert.Equal(CedarErrorKind.EntityNotFound, Cedar.Fails("User::\"ghost\".age"));
        Assert.Equal(CedarErrorKind.MissingAttribute, Cedar.Fails("context.missing"));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("1.foo"));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("\"x\" has foo"));
    }

    [Fact]
    public void LikeMatchesWildcardsAndEscapedStars()
    {
        Cedar.True("\"hello world\" like \"hello*\"");
        Cedar.True("\"hello world\" like \"*o w*\"");
        Cedar.True("\"\" like \"*\"");
        Cedar.False("\"hello\" like \"hello?\"");
        Cedar.True("\"a*b\" like \"a\\*b\"");
        Cedar.False("\"axb\" like \"a\\*b\"");
        Cedar.True("\"aaa\" like \"a*a*a\"");
        Cedar.False("\"aa\" like \"a*a*a\"");
        Cedar.True("\"line\\nbreak\" like \"line*\"");
        Cedar.True("\"anything\" like \"\\u{2a}\"");   // only a backslash-star is a literal star, as in Cedar
        Cedar.True("\"anything\" like \"\\x2a\"");
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("1 like \"1\""));
    }

    [Fact]
    public void IsChecksTheEntityType()
    {
        Cedar.True("principal is User");
        Cedar.False("principal is Group");
        Cedar.True("principal is User in Group::\"everyone\"");
        Cedar.False("principal is Group in Group::\"everyone\"");
        Cedar.False("A::User::\"x\" is User");
        Cedar.True("A::User::\"x\" is A::User");
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("1 is User"));
    }

    [Fact]
    public void SetMethods()
    {
        Cedar.True("[1, 2, 3].contains(2)");
        Cedar.False("[1, 2, 3].contains(\"2\")");
        Cedar.True("[1, 2, 3].containsAll([3, 1])");
        Cedar.False("[1, 2].containsAll([1, 4])");
        Cedar.True("[1, 2].containsAll([])");
        Cedar.True("[1, 2].containsAny([5, 2])");
        Cedar.False("[1, 2].containsAny([])");
        Cedar.True("[].isEmpty()");
        Cedar.False("[[]].isEmpty()");
        Cedar.True("principal.roles.contains(\"admin\")");
        Cedar.True("[principal, resource].contains(User::\"alice\")");
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("\"abc\".contains(\"a\")"));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("[1].containsAll(1)"));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("1.isEmpty()"));
    }

    [Fact]
    public void TagsAreReadWithHasTagAndGetTag()
    {
        Cedar.True("principal.hasTag(\"clearance\")");
        Cedar.False("principal.hasTag(\"nope\")");
        Cedar.False("User::\"ghost\".hasTag(\"clearance\")");
        Cedar.Same("\"secret\"", "principal.getTag(\"clearance\")");
        Cedar.Same("3", "principal.getTag(\"level\")");
        Assert.Equal(CedarErrorKind.MissingTag, Cedar.Fails("principal.getTag(\"nope\")"));
        Assert.Equal(CedarErrorKind.MissingTag, Cedar.Fails("User::\"ghost\".getTag(\"clearance\")"));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("principal.getTag(1)"));
        Assert.Equal(CedarErrorKind.TypeError, Cedar.Fails("context.getTag(\"x\")"));
    }

    [Fact]
    public void RecordAndSetLiteralsEvaluateTheirElements()
    {
        Cedar.Same("{x: 30, y: [\"Alice\"]}", "{\"x\": principal.age, y: [principal.name]}");
        Assert.Equal(CedarErrorKind.MissingAttribute, Cedar.Fails("[principal.salary]"));
        Assert.Equal(CedarErrorKind.MissingAttribute, Cedar.Fails("{a: principal.salary}"));
    }
}
