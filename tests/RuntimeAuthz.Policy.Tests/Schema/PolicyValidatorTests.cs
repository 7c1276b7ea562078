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
        var issues = Validate("""
            permit (principal in App::Team::"t", action in App::Action::"readGroup", resource is App::Doc)
            when { resource.owner == principal && principal.age >= 18 && resource.meta.label like "pub*"
                   && principal.roles.contains("admin") && context.ip.isInRange(ip("10.0.0.0/8"))
                   && context["amount"] + 1 < 100 && principal has manager && principal.manager.name == "x"
                   && principal.getTag("k") == "v" && resource is App::Doc && App::Color::"red" != principal };
            forbid (principal, action, resource) unless { resource.public };
            """);
        Assert.Empty(issues);
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
            i => Assert.Equal(("policy1", 2, 43, "unknown action App::Action::\"write\""), (i.PolicyId, i.Line, i.Column, i.Message)),
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
              principal.nickname == "x" ||
              resource.meta.colour == "red" || context.amout > 3 || context["ip"].isIpv4()
            };
            """);
        Assert.Equal(3, issues.Count);
        Assert.Equal((3, 13), (issues[0].Line, issues[0].Column));
        Assert.Contains("'nickname' is not declared for entity type 'App::User'", issues[0].Message);
        Assert.Equal((4, 17), (issues[1].Line, issues[1].Column));
        Assert.Contains("'colour'", issues[1].Message);
        Assert.Equal((4, 44), (issues[2].Line, issues[2].Column));
        Assert.Contains("'amout'", issues[2].Message);
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
            permit (principal, action == App::Action::"read", resource)
            when { principal.name + 1 > 0 && principal.age like "1*" && resource.public.contains(1) && principal.name.isIpv4() && resource.getTag("x") == "" };
            """);
        Assert.Equal(5, issues.Count);
        Assert.All(issues.Take(4), i => Assert.Contains("type mismatch", i.Message));
        Assert.Contains("needs Long", issues[0].Message);
        Assert.Contains("needs String", issues[1].Message);
        Assert.Contains("needs Set", issues[2].Message);
        Assert.Contains("needs ipaddr", issues[3].Message);
        Assert.Contains("'App::Doc' has no tags", issues[4].Message);
        Assert.Equal((2, 23), (issues[0].Line, issues[0].Column));
    }

    [Fact]
    public void OperandChecksFollowOperatorPrecedence()
    {
        // "principal.name" is not the left operand of "&&" or "<" here, so nothing is wrong.
        var issues = Validate("""
            permit (principal, action == App::Action::"read", resource)
            when { "a" == principal.name && 1 + principal.age < 3 && !principal.roles.isEmpty() };
            """);
        Assert.Empty(issues);
        var bad = Validate("""permit (principal, action == App::Action::"read", resource) when { principal.roles && true };""");
        Assert.Contains("needs Bool", Assert.Single(bad).Message);
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
        Assert.Equal((3, 95), (issue.Line, issue.Column));
    }
}
