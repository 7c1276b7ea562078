using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Tests.Schema;

public sealed class RequestValidatorTests
{
    private static readonly CedarSchema Schema = CedarSchema.Parse("""
        entity User; entity Doc; entity Color enum ["red", "blue"];
        action read appliesTo { principal: [User], resource: [Doc], context: { mfa: Bool, level?: Long, color?: Color, ip?: ipaddr } };
        """);

    private static readonly EntityUid Read = new("Action", "read");

    private static IReadOnlyList<CedarError> Validate(EntityUid principal, EntityUid action, EntityUid resource, string contextJson = """{"mfa": true}""") =>
        RequestValidator.Validate(new AuthorizationRequest(principal, action, resource, CedarContext.FromJson(contextJson, Schema, action)), Schema);

    [Fact]
    public void ARequestTheSchemaAllowsHasNoErrors()
    {
        Assert.Empty(Validate(new("User", "a"), Read, new("Doc", "d"), """{"mfa": false, "level": 3, "color": {"type": "Color", "id": "red"}, "ip": "10.0.0.1"}"""));
    }

    [Theory]
    [InlineData("Robot", "read", "Doc", """{"mfa": true}""")]             // undeclared principal type
    [InlineData("User", "read", "User", """{"mfa": true}""")]             // resource type not in appliesTo
    [InlineData("User", "write", "Doc", """{"mfa": true}""")]             // undeclared action
    [InlineData("User", "read", "Doc", """{}""")]                         // required context attribute missing
    [InlineData("User", "read", "Doc", """{"mfa": true, "extra": 1}""")]  // undeclared context attribute
    [InlineData("User", "read", "Doc", """{"mfa": 1}""")]                 // wrong type
    [InlineData("User", "read", "Doc", """{"mfa": true, "color": {"type": "Color", "id": "green"}}""")] // not one of the enum's ids
    public void ARequestTheSchemaDoesNotAllowIsInvalid(string principalType, string action, string resourceType, string contextJson)
    {
        var errors = Validate(new(principalType, "x"), new("Action", action), new(resourceType, "x"), contextJson);
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Equal(CedarErrorKind.InvalidRequest, e.Kind));
    }

    [Fact]
    public void AnEnumeratedPrincipalMustUseADeclaredId()
    {
        var schema = CedarSchema.Parse("""entity Color enum ["red"]; entity Doc; action paint appliesTo { principal: [Color], resource: [Doc] };""");
        var paint = new EntityUid("Action", "paint");
        Assert.Empty(RequestValidator.Validate(new(new("Color", "red"), paint, new("Doc", "d"), CedarContext.Empty), schema));
        Assert.Equal(CedarErrorKind.InvalidRequest, Assert.Single(RequestValidator.Validate(new(new("Color", "green"), paint, new("Doc", "d"), CedarContext.Empty), schema)).Kind);
    }
}
