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
            ["policy0 attribute 'manager' is optional: test it with 'has' before reading it",
             "policy1 the tag may be absent: test it with hasTag before reading it",
             "policy3 attribute 'manager' is optional: test it with 'has' before reading it"], // "||" keeps only guards both sides give
            issues.Select(i => $"{i.PolicyId} {i.Message}"));
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
            i => Assert.Equal(("policy0", 1, 22, "unknown entity type 'App::Usr' in the principal scope"), (i.PolicyId, i.Line, i.Column, i.Message)),
            i => Assert.Equal(("policy1", 2, 30, "unknown action App::Action::\"write\""), (i.PolicyId, i.Line, i.Column, i.Message)),
            i => Assert.Equal(("policy2", 3, 40, "unknown entity type 'Doc' in the resource scope"), (i.PolicyId, i.Line, i.Column, i.Message)));
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
        Assert.Equal((1, 1), (issue.Line, issue.Column));
        Assert.Contains("can never apply", issue.Message);
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
        Assert.Equal(3, issues.Count);
        Assert.Equal((3, 3), (issues[0].Line, issues[0].Column));
        Assert.Contains("'nickname' is not declared for entity type 'App::User'", issues[0].Message);
        Assert.Equal((4, 3), (issues[1].Line, issues[1].Column));
        Assert.Contains("'colour'", issues[1].Message);
        Assert.Equal((4, 38), (issues[2].Line, issues[2].Column));
        Assert.Contains("'amout'", issues[2].Message);
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
        Assert.Equal("attribute 'members' is not declared for entity type 'User'", Assert.Single(issues).Message);
    }

    [Fact]
    public void ContextAttributesComeFromTheApplicableActionsOnly()
    {
        var issues = Validate("""permit (principal, action == App::Action::"share", resource) when { context.amount > 1 };""");
        Assert.Contains("'amount'", Assert.Single(issues).Message);
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
            ["policy0 1:68 type mismatch: expected Long, but the expression is String",
             "policy1 2:68 type mismatch: expected String, but the expression is Long",
             "policy2 3:68 type mismatch: expected a Set, but the expression is Bool",
             "policy3 4:68 type mismatch: expected ipaddr, but the expression is String",
             "policy4 5:68 entity type 'App::Doc' has no tags",
             "policy5 6:68 type mismatch: expected Long, datetime or duration, but the expression is ipaddr",
             "policy6 7:68 type mismatch: expected Bool, but the expression is a record"],
            issues.Select(i => $"{i.PolicyId} {i.Line}:{i.Column} {i.Message}"));
    }

    [Fact]
    public void CodeCedarMayConsiderUnreachableIsNotFlagged()
    {
        // After a test Cedar may type as a constant (==, in, has, is) or a literal false, nothing is reported.
        var issues = Validate("""
            permit (principal, action == App::Action::"read", resource)
            when { (false && [].isEmpty()) || (principal has manager || ip("bad").isIpv4()) || (if principal == principal then true else principal.bogus) };
            """);
        Assert.Empty(issues);
        var live = Validate("""
            permit (principal, action == App::Action::"read", resource) when { true && ip("bad").isIpv4() };
            """);
        Assert.StartsWith("invalid argument to 'ip'", Assert.Single(live).Message);
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
        Assert.Contains("expected Bool, but the expression is a Set", Assert.Single(bad).Message);
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
            ["empty set literals", "invalid argument to 'ip'", "'decimal' must be called with a string literal",
             "wrong number of arguments for 'isInRange': expected 1, got 0", "wrong number of arguments for 'datetime': expected 1, got 2"],
            issues.Select(i => i.Message.Contains("empty set") ? "empty set literals" : i.Message.StartsWith("invalid argument to 'ip'", StringComparison.Ordinal) ? "invalid argument to 'ip'" : i.Message));
        Assert.Equal((1, 96), (issues[0].Line, issues[0].Column));
    }

    [Fact]
    public void ReportsUnknownEntityLiteralsInConditions()
    {
        var issues = Validate("""
            permit (principal, action, resource) when { principal in App::Group::"g" || action == App::Action::"nope" || resource is App::Folder };
            """);
        Assert.Equal(["unknown entity type 'App::Group'", "unknown action App::Action::\"nope\"", "unknown entity type 'App::Folder'"], issues.Select(i => i.Message));
        Assert.Equal(58, issues[0].Column);
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
}
