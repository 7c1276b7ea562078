using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Tests.Schema;

public sealed class SchemaParserTests
{
    [Fact]
    public void ParsesEntitiesWithParentsOptionalAttributesAndTags()
    {
        var schema = CedarSchema.Parse("""
            // a comment
            entity Team;
            entity User, Bot in [Team] = {
              name: String,
              "display name"?: String,
              age?: Long,
              admin: Bool,
              friends: Set<User>,
              address: { city: String, zip?: Long },
            } tags Set<String>;
            """);
        Assert.Equal(new[] { "Bot", "Team", "User" }, schema.EntityTypes.OrderBy(x => x, StringComparer.Ordinal));
        var user = schema.GetEntityType("User")!;
        Assert.Equal(["Team"], user.MemberOfTypes);
        Assert.True(user.Attributes.Attributes["name"].Required);
        Assert.False(user.Attributes.Attributes["display name"].Required);
        Assert.Equal(PrimitiveSchemaType.Long, user.Attributes.Attributes["age"].Type);
        Assert.Equal(new SetSchemaType(new EntitySchemaType("User")), user.Attributes.Attributes["friends"].Type);
        var address = Assert.IsType<RecordSchemaType>(user.Attributes.Attributes["address"].Type);
        Assert.False(address.Attributes["zip"].Required);
        Assert.Equal(new SetSchemaType(PrimitiveSchemaType.String), user.Tags);
        Assert.Same(user.Attributes, schema.GetEntityType("Bot")!.Attributes);
        Assert.Null(schema.GetEntityType("Team")!.Tags);
    }

    [Fact]
    public void ParsesEnumeratedEntities()
    {
        var schema = CedarSchema.Parse("""entity Color enum ["red", "green", "bl\u{75}e"];""");
        Assert.Equal(["red", "green", "blue"], schema.GetEntityType("Color")!.EnumIds!);
    }

    [Fact]
    public void ParsesActionsWithGroupsAppliesToAndContext()
    {
        var schema = CedarSchema.Parse("""
            entity User; entity Doc;
            type Ctx = { ip: ipaddr, score?: decimal };
            action "read-group";
            action read, "write it" in ["read-group"] appliesTo {
              principal: User,
              resource: [Doc],
              context: Ctx,
            };
            action audit in [Action::"read-group", read] appliesTo { principal: [User], resource: [Doc], context: { when: datetime, for: duration } };
            action nothing;
            """);
        Assert.Equal(5, schema.Actions.Count);
        var read = schema.GetAction(new EntityUid("Action", "read"))!;
        Assert.Equal([new EntityUid("Action", "read-group")], read.Parents);
        Assert.Equal(["User"], read.PrincipalTypes);
        Assert.Equal(["Doc"], read.ResourceTypes);
        Assert.Equal(new ExtensionSchemaType("ipaddr"), read.Context.Attributes["ip"].Type);
        Assert.NotNull(schema.GetAction(new EntityUid("Action", "write it")));
        var audit = schema.GetAction(new EntityUid("Action", "audit"))!;
        Assert.Equal([new EntityUid("Action", "read-group"), new EntityUid("Action", "read")], audit.Parents);
        Assert.Equal(new ExtensionSchemaType("duration"), audit.Context.Attributes["for"].Type);
        var nothing = schema.GetAction(new EntityUid("Action", "nothing"))!;
        Assert.False(nothing.HasAppliesTo);
        Assert.Empty(nothing.PrincipalTypes);
        Assert.Empty(nothing.Context.Attributes);
    }

    [Fact]
    public void ResolvesNamesInNestedNamespacesThenTheEmptyNamespace()
    {
        var schema = CedarSchema.Parse("""
            entity Global;
            type Shared = String;
            namespace Acme::Core {
              type Shared = Long;
              entity User in [Global] = { a: Shared, b: __cedar::String, c: Global, d: Acme::Core::User, e: Other::Thing };
              action view appliesTo { principal: User, resource: Other::Thing };
              action edit in view;
            }
            namespace Other {
              entity Thing = { s: Shared };
              action share in [Acme::Core::Action::"view"];
            }
            """);
        var user = schema.GetEntityType("Acme::Core::User")!;
        Assert.Equal(["Global"], user.MemberOfTypes);
        Assert.Equal(PrimitiveSchemaType.Long, user.Attributes.Attributes["a"].Type);
        Assert.Equal(PrimitiveSchemaType.String, user.Attributes.Attributes["b"].Type);
        Assert.Equal(new EntitySchemaType("Global"), user.Attributes.Attributes["c"].Type);
        Assert.Equal(new EntitySchemaType("Acme::Core::User"), user.Attributes.Attributes["d"].Type);
        Assert.Equal(new EntitySchemaType("Other::Thing"), user.Attributes.Attributes["e"].Type);
        Assert.Equal(PrimitiveSchemaType.String, schema.GetEntityType("Other::Thing")!.Attributes.Attributes["s"].Type);
        var view = schema.GetAction(new EntityUid("Acme::Core::Action", "view"))!;
        Assert.Equal(["Acme::Core::User"], view.PrincipalTypes);
        Assert.Equal(["Other::Thing"], view.ResourceTypes);
        Assert.Equal([new EntityUid("Acme::Core::Action", "view")], schema.GetAction(new EntityUid("Acme::Core::Action", "edit"))!.Parents);
        Assert.Equal([new EntityUid("Acme::Core::Action", "view")], schema.GetAction(new EntityUid("Other::Action", "share"))!.Parents);
    }

    [Fact]
    public void CommonTypeShadowsEntityTypeAndBuiltinsInItsNamespace()
    {
        var schema = CedarSchema.Parse("""
            namespace N {
              type ipaddr = Long;
              entity ipaddrHolder = { x: ipaddr, y: __cedar::ipaddr, z: Set<Set<decimal>> };
            }
            """);
        var attrs = schema.GetEntityType("N::ipaddrHolder")!.Attributes.Attributes;
        Assert.Equal(PrimitiveSchemaType.Long, attrs["x"].Type);
        Assert.Equal(new ExtensionSchemaType("ipaddr"), attrs["y"].Type);
        Assert.Equal(new SetSchemaType(new SetSchemaType(new ExtensionSchemaType("decimal"))), attrs["z"].Type);
    }

    [Fact]
    public void EntityNamedLikeKeywordsIsAllowed()
    {
        var schema = CedarSchema.Parse("entity Set; entity entity = { s: Set, t: Set<Set> }; action action appliesTo { principal: entity, resource: Set };");
        var attrs = schema.GetEntityType("entity")!.Attributes.Attributes;
        Assert.Equal(new EntitySchemaType("Set"), attrs["s"].Type);
        Assert.Equal(new SetSchemaType(new EntitySchemaType("Set")), attrs["t"].Type);
    }

    [Fact]
    public void KeepsAnnotations()
    {
        var schema = CedarSchema.Parse("""
            @doc("people")
            @internal
            entity User = { @doc("the name") name: String };
            @doc("reading") action read;
            """);
        var user = schema.GetEntityType("User")!;
        Assert.Equal("people", user.Annotations["doc"]);
        Assert.Equal("", user.Annotations["internal"]);
        Assert.Equal("the name", user.Attributes.Attributes["name"].Annotations["doc"]);
        Assert.Equal("reading", schema.GetAction(new EntityUid("Action", "read"))!.Annotations["doc"]);
    }

    [Theory]
    [InlineData("entity User = { name: String ", 1, 30, CedarErrorKind.UnexpectedToken)]
    [InlineData("entity User;\nentity Doc = { owner: Usr };", 2, 23, CedarErrorKind.UnknownType)]
    [InlineData("entity User in [Group];", 1, 17, CedarErrorKind.UnknownEntityType)]
    [InlineData("entity User;\n  entity User;", 2, 10, CedarErrorKind.DuplicateDeclaration)]
    [InlineData("action a in [b];", 1, 14, CedarErrorKind.UnknownAction)]
    [InlineData("type A = B;\ntype B = A;", 1, 1, CedarErrorKind.CyclicDefinition)]
    [InlineData("entity A = { x: String, x: Long };", 1, 25, CedarErrorKind.DuplicateKey)]
    [InlineData("entity A;\naction a appliesTo { principal: A, resource: A, context: String };", 2, 58, CedarErrorKind.TypeMismatch)]
    [InlineData("entity if;", 1, 8, CedarErrorKind.ReservedWord)]
    [InlineData("entity A = { s: \"ok\" };", 1, 17, CedarErrorKind.UnexpectedToken)]
    [InlineData("entity A = { \"bad\\q\": String };", 1, 14, CedarErrorKind.InvalidEscape)]
    [InlineData("entity A # ;", 1, 10, CedarErrorKind.UnexpectedCharacter)]
    [InlineData("namespace N { entity A; ", 1, 25, CedarErrorKind.UnexpectedToken)]
    [InlineData("action a in [b]; action b in [a];", 1, 8, CedarErrorKind.CyclicDefinition)]
    [InlineData("@a @a entity A;", 1, 5, CedarErrorKind.DuplicateAnnotation)]
    public void ReportsErrorsWithLineAndColumn(string text, int line, int column, CedarErrorKind kind)
    {
        var e = Assert.Throws<CedarSyntaxException>(() => CedarSchema.Parse(text, "s.cedarschema"));
        Assert.Equal((kind, line, column), (e.Kind, e.Line, e.Column));
        Assert.StartsWith($"s.cedarschema:{line}:{column}: ", e.Message);
    }
}
