using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Tests.Schema;

public sealed class PolicyValidatorTests
{
    private static readonly CedarSchema Schema = CedarSchema.Parse("""
        namespace App {
          entity Team;
          entity User in [Team] = { name: String, age: Long, manager?: User, roles: Set<String>, ip: ipaddr } tags String;
          entity Doc = { owner: User, public: Bool, meta: { size: Long, label: String } };
          entity Color enum ["red"];
          action "readGroup";
          action read in ["readGroup"] appliesTo { principal: [User], resource: [Doc], context: { ip: ipaddr, amount: Long } };
          action share appliesTo { principal: [User], resource: [Doc] };
          action admin appliesTo { principal: [Team], resource: [Doc] };
        }
        """);

    private static IReadOnlyList<ValidationIssue> Validate(string policies) => PolicyValidator.Validate(PolicySet.Parse(policies), Schema);

    [Fact]
    public void AcceptsWellTypedPolicies()
    {
        // Constant-typed tests (==, has, is) come last so that everything before them is checked.
        var issues = Validate("""
            permit (principal in App::Team::"t", action in App::Action::"readGroup", resource is App::Doc)
            when { principal.age >= 18 && resource.meta.label like "pub*"
                   && principal.roles.contains("admin") && context.ip.isInRange(ip("10.0.0.0/8"))
                   && context["amount"] + 1 < 100 && (if principal has manager then principal.manager.age > 3 else true)
                   && (principal.hasTag("k") && principal.getTag("k") like "v")
                   && resource.owner == principal && resource is App::Doc && App::Color::"red" != principal };
            forbid (principal, action, resource) unless { resource.public };
            """);
        Assert.Empty(issues);
    }

    [Fact]
    public void OptionalAttributesAndTagsMustBeGuarded()
    {
        var issues = Validate("""
            permit (principal, action == App::Action::"read", resource) when { principal.manager.age > 3 };
            permit (principal, action == App::Action::"read", resource) when { principal.getTag("k") like "v" };
            permit (principal, action == App::Action::"read", resource) when { principal has manager } when { principal.manager.age > 3 };
            permit (principal, action == App::Action::"read", resource) when { (principal has manager || true) && principal.manager.age > 3 };
            """);
        Assert.Equal(
            [("policy0", CedarErrorKind.UnguardedAttribute, 1, 68), ("policy1", CedarErrorKind.UnguardedTag, 2, 68),
             ("policy3", CedarErrorKind.UnguardedAttribute, 4, 103)], // "||" keeps only guards both sides give
            issues.Select(i => (i.PolicyId, i.Kind, i.Line, i.Column)));
        Assert.All(issues, i => Assert.NotNull(i.Help));
    }

    [Fact]
    public void ReportsUnknownEntityTypesAndActionsInTheScope()
    {
        var issues = Validate("""
            permit (principal == App::Usr::"a", action, resource);
            permit (principal, action == App::Action::"write", resource);
            permit (principal, action, resource is Doc);
            """);
        Assert.Collection(issues,
            i => Assert.Equal(("policy0", CedarErrorKind.UnknownEntityType, 1, 22), (i.PolicyId, i.Kind, i.Line, i.Column)),
            i => Assert.Equal(("policy1", CedarErrorKind.UnknownAction, 2, 30), (i.PolicyId, i.Kind, i.Line, i.Column)),
            i => Assert.Equal(("policy2", CedarErrorKind.UnknownEntityType, 3, 40), (i.PolicyId, i.Kind, i.Line, i.Column)));
    }

    [Fact]
    public void ReportsScopesThatNoActionAppliesTo()
    {
        var issues = Validate("""
            permit (principal is App::Team, action == App::Action::"read", resource);
            permit (principal is App::Team, action, resource);
            """);
        var issue = Assert.Single(issues);
        Assert.Equal("policy0", issue.PolicyId);
        Assert.Equal((CedarErrorKind.ImpossiblePolicy, 1, 1, 1, 74), (issue.Kind, issue.Line, issue.Column, issue.Span.EndLine, issue.Span.EndColumn));
    }

    [Fact]
    public void ReportsUnknownAttributesWithTheirPosition()
    {
        var issues = Validate("""
            permit (principal, action == App::Action::"read", resource)
            when {
              principal.nickname like "x" &&
              resource.meta.colour like "red" && context.amout > 3 && context["ip"].isIpv4()
            };
            """);
        // Each span covers the whole access: principal.nickname, resource.meta.colour, context.amout.
        Assert.Equal(
            [(CedarErrorKind.UndeclaredAttribute, 3, 3, 3, 21), (CedarErrorKind.UndeclaredAttribute, 4, 3, 4, 23), (CedarErrorKind.UndeclaredAttribute, 4, 38, 4, 51)],
            issues.Select(i => (i.Kind, i.Line, i.Column, i.Span.EndLine, i.Span.EndColumn)));
    }

    [Fact]
    public void ChecksEachRequestEnvironmentSeparately()
    {
        // Under action "read" the principal is a User, which has no attribute "members"; the error is
        // reported even though another environment could have it.
        var schema = CedarSchema.Parse("""
            entity Team = { members: Long }; entity User; entity Doc;
            action read appliesTo { principal: [User, Team], resource: [Doc] };
            """);
        var issues = PolicyValidator.Validate(PolicySet.Parse("permit (principal, action, resource) when { principal.members > 1 };"), schema);
        Assert.Equal((CedarErrorKind.UndeclaredAttribute, 1, 45), Assert.Single(issues) is var i ? (i.Kind, i.Line, i.Column) : default);
    }

    [Fact]
    public void ContextAttributesComeFromTheApplicableActionsOnly()
    {
        var issues = Validate("""permit (principal, action == App::Action::"share", resource) when { context.amount > 1 };""");
        Assert.Equal((CedarErrorKind.UndeclaredAttribute, 1, 69), Assert.Single(issues) is var i ? (i.Kind, i.Line, i.Column) : default);
    }

    [Fact]
    public void ReportsOperandTypeMismatches()
    {
        var issues = Validate("""
            permit (principal, action == App::Action::"read", resource) when { principal.name + 1 > 0 };
            permit (principal, action == App::Action::"read", resource) when { principal.age like "1*" };
            permit (principal, action == App::Action::"read", resource) when { resource.public.contains(1) };
            permit (principal, action == App::Action::"read", resource) when { principal.name.isIpv4() };
            permit (principal, action == App::Action::"read", resource) when { resource.getTag("x") like "" };
            permit (principal, action == App::Action::"read", resource) when { context.ip < 3 };
            permit (principal, action == App::Action::"read", resource) when { resource.meta };
            """);
        Assert.Equal(
            ["policy0 1:68 TypeMismatch", "policy1 2:68 TypeMismatch", "policy2 3:68 TypeMismatch", "policy3 4:68 TypeMismatch",
             "policy4 5:68 NoTags", "policy5 6:68 TypeMismatch", "policy6 7:68 TypeMismatch"],
            issues.Select(i => $"{i.PolicyId} {i.Line}:{i.Column} {i.Kind}"));
    }

    [Fact]
    public void CodeCedarConsidersUnreachableIsNotFlagged()
    {
        // After a test Cedar types as a constant (here: a literal, an attribute no User has, entities of disjoint types), nothing is reported.
        var issues = Validate("""
            permit (principal, action == App::Action::"read", resource)
            when { (false && [].isEmpty()) || (principal has bogus && ip("bad").isIpv4()) || (if principal == resource then principal.bogus else true) };
            """);
        Assert.Empty(issues);
        // An optional attribute and two entities of one type may or may not be there or equal: both sides are checked.
        var live = Validate("""
            permit (principal, action == App::Action::"read", resource) when { true && ip("bad").isIpv4() };
            permit (principal, action == App::Action::"read", resource) when { principal has manager || ip("bad").isIpv4() };
            permit (principal, action == App::Action::"read", resource) when { if principal == principal then true else principal.bogus };
            """);
        Assert.Equal(
            [("policy0", CedarErrorKind.InvalidExtensionArgument, 1, 79), ("policy1", CedarErrorKind.InvalidExtensionArgument, 2, 96),
             ("policy2", CedarErrorKind.UndeclaredAttribute, 3, 109)],
            live.Select(i => (i.PolicyId, i.Kind, i.Line, i.Column)));
    }

    [Fact]
    public void OperandChecksFollowOperatorPrecedence()
    {
        // "principal.name" is not the left operand of "&&" or "<" here, so nothing is wrong.
        var issues = Validate("""
            permit (principal, action == App::Action::"read", resource)
            when { principal.name like "a" && 1 + principal.age < 3 && !principal.roles.isEmpty() };
            """);
        Assert.Empty(issues);
        var bad = Validate("""permit (principal, action == App::Action::"read", resource) when { principal.roles && true };""");
        Assert.Equal((CedarErrorKind.TypeMismatch, 1, 68), Assert.Single(bad) is var i ? (i.Kind, i.Line, i.Column) : default);
    }

    [Fact]
    public void ReportsEmptySetsAndBadExtensionCalls()
    {
        var issues = Validate("""
            permit (principal, action == App::Action::"read", resource) when { principal.roles.containsAny([]) };
            permit (principal, action == App::Action::"read", resource) when { ip("10.0.0.300").isIpv4() };
            permit (principal, action == App::Action::"read", resource) when { decimal(principal.name).lessThan(decimal("1.0")) };
            permit (principal, action == App::Action::"read", resource) when { context.ip.isInRange() };
            permit (principal, action == App::Action::"read", resource) when { datetime("2024-01-01", "x") < datetime("2024-01-01") };
            permit (principal, action == App::Action::"read", resource) when { duration("1h").toHours() > 0 };
            """);
        Assert.Equal(
            [(CedarErrorKind.EmptySetLiteral, 1, 96), (CedarErrorKind.InvalidExtensionArgument, 2, 71), (CedarErrorKind.InvalidExtensionArgument, 3, 68),
             (CedarErrorKind.WrongArity, 4, 68), (CedarErrorKind.WrongArity, 5, 68)],
            issues.Select(i => (i.Kind, i.Line, i.Column)));
    }

    [Fact]
    public void ReportsUnknownEntityLiteralsInConditions()
    {
        var issues = Validate("""
            permit (principal, action, resource) when { principal in App::Group::"g" || action == App::Action::"nope" || resource is App::Folder };
            """);
        Assert.Equal(
            [(CedarErrorKind.UnknownEntityType, 58), (CedarErrorKind.UnknownAction, 87), (CedarErrorKind.UnknownEntityType, 122)],
            issues.Select(i => (i.Kind, i.Column)));
    }

    [Fact]
    public void PositionsAccountForWhereThePolicyStartsInTheFile()
    {
        var issues = Validate("""
            permit (principal, action, resource);

               @id("second") permit (principal, action == App::Action::"read", resource) when { principal.bogus };
            """);
        var issue = Assert.Single(issues);
        Assert.Equal("policy1", issue.PolicyId);
        Assert.Equal((3, 85), (issue.Line, issue.Column));
    }

    [Theory]
    [InlineData("if principal.age > 1 then 1 else \"one\"", 68)]
    [InlineData("[1, \"one\"].contains(1)", 68)]
    [InlineData("[[1], [true]].isEmpty()", 68)]
    [InlineData("principal.age == \"one\"", 68)]
    [InlineData("principal.roles.contains(1)", 68)]
    [InlineData("principal.roles.containsAny([1])", 68)]
    [InlineData("principal in [App::Team::\"t\", action]", 81)]
    [InlineData("{a: 1} == {b: 1}", 68)]
    [InlineData("if principal is App::User then (if principal.age > 1 then 1 else \"one\") else true", 100)]
    [InlineData("if principal.hasTag(\"k\") then 1 else \"one\"", 68)]
    public void TypesWithoutACommonTypeAreNotCompatible(string condition, int column)
    {
        var issue = Assert.Single(Validate($$"""permit (principal, action == App::Action::"read", resource) when { {{condition}} };"""));
        Assert.Equal((CedarErrorKind.IncompatibleTypes, 1, column), (issue.Kind, issue.Line, issue.Column));
    }

    [Theory]
    // The branches may differ when Cedar decides the condition itself: an action is in its group...
    [InlineData("if action in App::Action::\"readGroup\" then 1 else \"one\"")]
    // ...a User can never be in a Doc, and two different literals are never equal.
    [InlineData("if principal in resource then \"one\" else 1")]
    [InlineData("if 1 == 2 then \"one\" else 1")]
    [InlineData("[1, 2].contains(3) && principal.age > 1")]
    [InlineData("if principal.age > 1 then [1] else [2, 3]")]
    // The type decides `is`; a type without tags never has one; a User is never in an action.
    [InlineData("if principal is App::Doc then \"one\" else 1")]
    [InlineData("if resource.hasTag(\"k\") then \"one\" else 1")]
    [InlineData("if principal in action then \"one\" else 1")]
    public void BranchesCedarNeverTakesNeedNoCommonType(string condition)
    {
        Assert.Empty(Validate($$"""permit (principal, action == App::Action::"read", resource) when { ({{condition}}) == ({{condition}}) || true };"""));
    }

    [Theory]
    // An optional attribute, and a required one of an entity (which may not exist), may be absent: both branches are typed.
    [InlineData("principal has manager", true)]
    [InlineData("principal has name", true)]
    [InlineData("principal has manager.manager", true)]
    [InlineData("resource has meta.size", true)]
    [InlineData("principal is App::User in App::Team::\"t\"", true)]
    // A required attribute of a record is always there; records, entities and actions have no undeclared attributes;
    // an attribute already tested is there; "x is T in e" is false when x is never a T.
    [InlineData("resource.meta has size", false)]
    [InlineData("context has amount", false)]
    [InlineData("{a: 1} has a", false)]
    [InlineData("!(principal has bogus)", false)]
    [InlineData("!(action has bogus)", false)]
    [InlineData("!(principal has manager.bogus)", false)]
    [InlineData("!({a: 1} has b)", false)]
    [InlineData("principal has manager && principal has manager", true)]
    [InlineData("!(principal is App::Doc in resource)", false)]
    public void HasIsTypedAsCedarTypesIt(string test, bool bothBranchesTyped)
    {
        // Cedar needs a common type for the branches only when the condition's type is Bool rather than True or False.
        var issues = Validate($$"""permit (principal, action == App::Action::"read", resource) when { [if {{test}} then 1 else "one"].isEmpty() };""");
        Assert.Equal(bothBranchesTyped ? [CedarErrorKind.IncompatibleTypes] : [], issues.Select(i => i.Kind));
    }

    [Fact]
    public void AnAttributeTestedTrueIsTrueAfterwards()
    {
        // The second test is True (its else branch is never typed), the first is Bool.
        Assert.Empty(Validate("""permit (principal, action == App::Action::"read", resource) when { principal has manager && (if principal has manager then 1 else "one") == 1 };"""));
    }

    [Theory]
    // Cedar matches a guard to an access by the shape of the expression, whatever the expression is.
    [InlineData("App::User::\"a\" has manager && App::User::\"a\".manager.age > 3", null)]
    [InlineData("App::User::\"a\" has manager && App::User::\"b\".manager.age > 3", CedarErrorKind.UnguardedAttribute)]
    [InlineData("(if resource.public then principal else resource.owner) has manager && (if resource.public then principal else resource.owner).manager.age > 3", null)]
    [InlineData("(if resource.public then principal else resource.owner) has manager && (if resource.public then resource.owner else principal).manager.age > 3", CedarErrorKind.UnguardedAttribute)]
    [InlineData("{b: principal, a: 1}.b has manager && {a: 1, b: principal}.b.manager.age > 3", null)]
    [InlineData("principal.hasTag(resource.meta.label) && principal.getTag(resource.meta.label) like \"v\"", null)]
    [InlineData("principal.hasTag(resource.meta.label) && principal.getTag(principal.name) like \"v\"", CedarErrorKind.UnguardedTag)]
    [InlineData("resource.owner.hasTag(\"k\") && resource.owner.getTag(\"k\") like \"v\"", null)]
    [InlineData("principal has bogus || principal.manager.age > 3", CedarErrorKind.UnguardedAttribute)]
    public void GuardsMatchAccessesByTheirShape(string condition, CedarErrorKind? expected)
    {
        var issues = Validate($$"""permit (principal, action == App::Action::"read", resource) when { {{condition}} };""");
        Assert.Equal(expected is { } kind ? [kind] : [], issues.Select(i => i.Kind));
    }

    [Fact]
    public void AnActionLiteralInAnotherActionIsDecidedFromTheSchema()
    {
        // "read" is in "readGroup", so the else branch is never taken and its empty set is not reported; "share" is not.
        Assert.Empty(Validate("""permit (principal, action == App::Action::"read", resource) when { if action in App::Action::"readGroup" then true else [].isEmpty() };"""));
        var issue = Assert.Single(Validate("""permit (principal, action == App::Action::"share", resource) when { if action in App::Action::"readGroup" then true else [].isEmpty() };"""));
        Assert.Equal(CedarErrorKind.EmptySetLiteral, issue.Kind);
    }
}
