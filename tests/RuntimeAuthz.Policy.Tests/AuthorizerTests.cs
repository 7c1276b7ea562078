namespace RuntimeAuthz.Policy.Tests;

public class AuthorizerTests
{
    [Fact]
    public void DefaultIsDeny()
    {
        var response = Cedar.Authorize("permit(principal == User::\"bob\", action, resource);");
        Assert.Equal(Decision.Deny, response.Decision);
        Assert.Empty(response.Reasons);
        Assert.Empty(response.Errors);
    }

    [Fact]
    public void ForbidOverridesPermitAndOnlyForbidsAreReasons()
    {
        var response = Cedar.Authorize("""
            permit(principal, action, resource);
            forbid(principal in Group::"staff", action, resource) when { resource.public == false };
            permit(principal == User::"alice", action == Action::"view", resource in Folder::"f1");
            """);
        Assert.Equal(Decision.Deny, response.Decision);
        Assert.Equal(["policy1"], response.Reasons);
    }

    [Fact]
    public void AllowListsEverySatisfiedPermit()
    {
        var response = Cedar.Authorize("""
            permit(principal, action in Action::"read", resource) when { resource.owner == principal };
            permit(principal is User, action, resource is Doc in Folder::"f1");
            permit(principal, action, resource) when { false };
            forbid(principal, action, resource) when { context has blocked };
            """);
        Assert.Equal(Decision.Allow, response.Decision);
        Assert.Equal(["policy0", "policy1"], response.Reasons);
    }

    [Fact]
    public void ErroringPoliciesAreSkippedAndReported()
    {
        var response = Cedar.Authorize("""
            forbid(principal, action, resource) when { principal.salary > 100 };
            permit(principal, action, resource) when { principal.age + 9223372036854775807 > 0 };
            permit(principal, action, resource) when { principal.age >= 18 };
            """);
        Assert.Equal(Decision.Allow, response.Decision);   // the erroring forbid does not apply
        Assert.Equal(["policy2"], response.Reasons);
        Assert.Equal(["policy0", "policy1"], response.Errors.Select(e => e.PolicyId));
        // Each error says what failed and where: the attribute access, and the addition.
        Assert.Equal((CedarErrorKind.MissingAttribute, 1, 44, 1, 60), Where(response.Errors[0]));
        Assert.Equal((CedarErrorKind.IntegerOverflow, 2, 44, 2, 79), Where(response.Errors[1]));

        static (CedarErrorKind, int, int, int, int) Where(PolicyEvaluationError e) => (e.Kind, e.Span.Line, e.Span.Column, e.Span.EndLine, e.Span.EndColumn);
    }

    [Fact]
    public void UnlessNegatesItsConditionAndConditionsCombine()
    {
        const string policies = """
            permit(principal, action, resource) when { context.level > 2 } unless { context.suspended };
            """;
        Assert.Equal(Decision.Allow, Cedar.Authorize(policies, contextJson: """{"level": 3, "suspended": false}""").Decision);
        Assert.Equal(Decision.Deny, Cedar.Authorize(policies, contextJson: """{"level": 3, "suspended": true}""").Decision);
        Assert.Equal(Decision.Deny, Cedar.Authorize(policies, contextJson: """{"level": 1, "suspended": false}""").Decision);
        var error = Cedar.Authorize(policies, contextJson: """{"level": 3, "suspended": "no"}""");
        Assert.Equal(["policy0"], error.Errors.Select(e => e.PolicyId));
        // A false `when` short-circuits: the bad `unless` is never evaluated.
        Assert.Empty(Cedar.Authorize(policies, contextJson: """{"level": 1, "suspended": "no"}""").Errors);
    }

    [Fact]
    public void ConditionMustBeBoolean()
    {
        var response = Cedar.Authorize("permit(principal, action, resource) when { 1 };");
        Assert.Equal(Decision.Deny, response.Decision);
        Assert.Single(response.Errors);
    }

    [Fact]
    public void TemplatesApplyOnlyThroughLinks()
    {
        var set = PolicySet.Parse("""
            permit(principal == ?principal, action == Action::"view", resource in ?resource);
            permit(principal in ?principal, action, resource) unless { resource.public };
            """);
        Assert.True(set.Policies[0].IsTemplate);
        var request = new AuthorizationRequest(new("User", "alice"), new("Action", "view"), new("Doc", "d1"), CedarContext.Empty);
        var store = EntityStore.FromJson(Cedar.Entities);
        Assert.Equal(Decision.Deny, Authorizer.IsAuthorized(request, set, store).Decision);

        var linked = set.Link("policy0", "alice-f1", new EntityUid("User", "alice"), new EntityUid("Folder", "f1"));
        var response = Authorizer.IsAuthorized(request, linked, store);
        Assert.Equal(Decision.Allow, response.Decision);
        Assert.Equal(["alice-f1"], response.Reasons);
        Assert.Equal("policy0", linked["alice-f1"]!.TemplateId);

        var other = set.Link("policy0", "bob-f1", new EntityUid("User", "bob"), new EntityUid("Folder", "f1"));
        Assert.Equal(Decision.Deny, Authorizer.IsAuthorized(request, other, store).Decision);

        var group = set.Link("policy1", "staff", new EntityUid("Group", "everyone"), null);
        Assert.Equal(["staff"], Authorizer.IsAuthorized(request, group, store).Reasons);
    }

    [Fact]
    public void LinkRejectsBadArguments()
    {
        var set = PolicySet.Parse("""
            permit(principal == ?principal, action, resource);
            permit(principal, action, resource);
            """);
        Assert.Throws<ArgumentException>(() => set.Link("nope", "x", new EntityUid("User", "a"), null));
        Assert.Throws<ArgumentException>(() => set.Link("policy1", "x", new EntityUid("User", "a"), null));
        Assert.Throws<ArgumentException>(() => set.Link("policy0", "x", null, null));
        Assert.Throws<ArgumentException>(() => set.Link("policy0", "x", new EntityUid("User", "a"), new EntityUid("Doc", "d")));
        Assert.Throws<ArgumentException>(() => set.Link("policy0", "policy1", new EntityUid("User", "a"), null));
        Assert.Throws<ArgumentException>(() => set.LinkMany([new TemplateLink("policy0", "x", new EntityUid("User", "a"), null), new TemplateLink("policy0", "x", new EntityUid("User", "b"), null)]));
    }

    [Fact]
    public void ActionGroupsFromEntitiesApply()
    {
        var response = Cedar.Authorize("permit(principal, action in [Action::\"write\", Action::\"read\"], resource);");
        Assert.Equal(Decision.Allow, response.Decision);
    }
}
