using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Tests;

public class EntityJsonTests
{
    [Fact]
    public void ParsesExplicitFormsHierarchyAndTags()
    {
        var store = EntityStore.FromJson("""
            [
              {"uid": {"__entity": {"type": "User", "id": "a"}}, "attrs": {
                 "friend": {"__entity": {"type": "User", "id": "b"}},
                 "limit": {"__extn": {"fn": "decimal", "arg": "1.5"}},
                 "start": {"__extn": {"fn": "offset", "args": [{"__extn": {"fn": "datetime", "arg": "2024-01-01"}}, {"__extn": {"fn": "duration", "arg": "1h"}}]}},
                 "plain": {"type": "User", "id": "b"}},
               "parents": [{"type": "G", "id": "1"}], "tags": {"t": 1}},
              {"uid": {"type": "G", "id": "1"}, "attrs": {}, "parents": [{"type": "G", "id": "2"}]},
              {"uid": {"type": "G", "id": "2"}, "attrs": {}, "parents": [{"type": "G", "id": "1"}]}
            ]
            """);
        Assert.Equal(3, store.Count);
        Assert.True(store.IsDescendantOrSelf(new EntityUid("User", "a"), new EntityUid("G", "2")));
        Assert.True(store.IsDescendantOrSelf(new EntityUid("G", "2"), new EntityUid("G", "2")));   // a cycle does not hang
        Assert.True(store.TryGet(new EntityUid("User", "a"), out var a));
        Assert.Equal(new EntityValue(new("User", "b")), a.Attributes["friend"]);
        Assert.Equal(new DecimalValue(15000), a.Attributes["limit"]);
        Assert.Equal(DatetimeValue.Parse("2024-01-01T01:00:00Z"), a.Attributes["start"]);
        Assert.IsType<RecordValue>(a.Attributes["plain"]);   // without a schema this is just a record
        Assert.Equal(LongValue.Of(1), a.Tags["t"]);
    }

    [Theory]
    [InlineData("[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": {\"n\": 1.5}, \"parents\": []}]", 1, 51, CedarErrorKind.IntegerOutOfRange)]
    [InlineData("[\n  {\"uid\": {\"type\": \"U\"}, \"attrs\": {}, \"parents\": []}\n]", 2, 11, CedarErrorKind.MissingField)]
    [InlineData("[\n {\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": {\"x\": {\"__extn\": {\"fn\": \"nope\", \"arg\": \"1\"}}}}]", 2, 69, CedarErrorKind.UnknownFunction)]
    [InlineData("[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": {\"x\": {\"__extn\": {\"fn\": \"ip\", \"arg\": \"1.2.3\"}}}}]", 1, 62, CedarErrorKind.InvalidExtensionArgument)]
    [InlineData("[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": {}, \"parents\": []}, {\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": {\"x\": 1}, \"parents\": []}]", 1, 73, CedarErrorKind.DuplicateEntity)]
    [InlineData("[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"parents\": []}]", 1, 2, CedarErrorKind.MissingField)]
    [InlineData("[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": {}}]", 1, 2, CedarErrorKind.MissingField)]
    [InlineData("[{\"uid\": {\"type\": \"A:: B\", \"id\": \"a\"}, \"attrs\": {}, \"parents\": []}]", 1, 19, CedarErrorKind.InvalidName)]
    [InlineData("[{\"uid\": {\"type\": \"if\", \"id\": \"a\"}, \"attrs\": {}, \"parents\": []}]", 1, 19, CedarErrorKind.InvalidName)]
    [InlineData("[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": null, \"parents\": []}]", 1, 45, CedarErrorKind.UnexpectedJsonValue)]
    [InlineData("[{\"uid\": {\"type\": \"U\", \"id\": \"a\"}, \"attrs\": {\"x\": null}}]", 1, 51, CedarErrorKind.UnexpectedJsonValue)]
    [InlineData("{}", 1, 1, CedarErrorKind.UnexpectedJsonValue)]
    [InlineData("[{\"uid\": {\"type\": \"U\", \"id\": \"\\ud800\"}, \"attrs\": {}, \"parents\": []}]", 1, 30, CedarErrorKind.InvalidJson)]
    [InlineData("[{\"uid\": ", 1, 10, CedarErrorKind.InvalidJson)]
    public void BadEntitiesReportLineAndColumn(string json, int line, int column, CedarErrorKind kind)
    {
        var error = Assert.Throws<CedarSyntaxException>(() => EntityStore.FromJson(json, sourceName: "e.json"));
        Assert.Equal("e.json", error.SourceName);
        Assert.Equal((kind, line, column), (error.Kind, error.Line, error.Column));
    }

    [Fact]
    public void WithEntitiesFromJsonMergesAndLaterWins()
    {
        var store = EntityStore.FromJson("""[{"uid": {"type": "U", "id": "a"}, "attrs": {"v": 1}, "parents": [{"type": "G", "id": "g"}]}]""");
        var merged = store.WithEntitiesFromJson("""[{"uid": {"type": "U", "id": "a"}, "attrs": {"v": 2}, "parents": []}, {"uid": {"type": "U", "id": "b"}, "attrs": {}, "parents": []}]""");
        Assert.Equal(1, store.Count);
        Assert.Equal(2, merged.Count);
        Assert.Equal(1, EntityStore.FromJson("""[{"uid": {"type": "U", "id": "a"}, "attrs": {"v": [1, 2]}, "parents": []}, {"uid": {"type": "U", "id": "a"}, "attrs": {"v": [2, 1]}, "parents": []}]""").Count);
        Assert.True(merged.TryGet(new EntityUid("U", "a"), out var a));
        Assert.Equal(LongValue.Of(2), a.Attributes["v"]);
        Assert.False(merged.IsDescendantOrSelf(new EntityUid("U", "a"), new EntityUid("G", "g")));
        Assert.True(store.IsDescendantOrSelf(new EntityUid("U", "a"), new EntityUid("G", "g")));
    }

    [Fact]
    public void ContextMustBeARecord()
    {
        var duplicate = Assert.Throws<CedarSyntaxException>(() => CedarContext.FromJson("""{"a": 1, "b": 2, "a": 3}"""));
        Assert.Equal((CedarErrorKind.DuplicateKey, 1, 18), (duplicate.Kind, duplicate.Line, duplicate.Column));
        var many = string.Join(", ", Enumerable.Range(0, 20).Select(i => $"\"k{i}\": {i}"));
        Assert.Equal(20, CedarContext.FromJson($"{{{many}}}").Record.Attributes.Count);
        var late = Assert.Throws<CedarSyntaxException>(() => CedarContext.FromJson($"{{{many}, \"k3\": 0}}"));
        Assert.Equal((CedarErrorKind.DuplicateKey, $"{{{many}, ".Length + 1), (late.Kind, late.Column));
        Assert.Throws<CedarSyntaxException>(() => CedarContext.FromJson("[1]"));
        Assert.Throws<CedarSyntaxException>(() => CedarContext.FromJson("""{"__entity": {"type": "U", "id": "a"}}"""));
        var context = CedarContext.FromJson("""{"a": [1, 1, 2], "b": {"c": "d"}}""");
        Assert.Equal(2, ((SetValue)context.Record.Attributes["a"]).Count);
    }

    [Fact]
    public void ErrorsFoundAfterTheSchemaRewritePointIntoTheOriginalText()
    {
        var schema = CedarSchema.Parse("entity User { addr: ipaddr, n: Long };");
        var json = "[\n  {\"uid\": {\"type\": \"User\", \"id\": \"a\"},\n   \"attrs\": {\"n\": 1, \"addr\": \"10.0.0.300\"}, \"parents\": []}\n]";
        var error = Assert.Throws<CedarSyntaxException>(() => EntityStore.FromJson(json, schema, "e.json"));
        Assert.Equal((CedarErrorKind.InvalidExtensionArgument, 3, 30), (error.Kind, error.Line, error.Column));
    }

    [Fact]
    public void SchemaMakesImplicitFormsExplicit()
    {
        var schema = CedarSchema.Parse("""
            entity Group;
            entity User in [Group] { boss: User, addr: ipaddr, since: datetime };
            action view appliesTo { principal: User, resource: User, context: { origin: ipaddr, who: User } };
            action all;
            """);
        var store = EntityStore.FromJson("""
            [{"uid": {"type": "User", "id": "a"}, "attrs": {"boss": {"type": "User", "id": "b"}, "addr": "10.0.0.1", "since": "2024-01-01"}, "parents": []}]
            """, schema);
        var context = CedarContext.FromJson("""{"origin": "192.168.0.1", "who": {"type": "User", "id": "a"}}""", schema, new EntityUid("Action", "view"));
        var policies = PolicySet.Parse("""
            permit(principal, action == Action::"view", resource) when {
              principal.boss == User::"b" && principal.addr.isInRange(ip("10.0.0.0/8")) && principal.since < datetime("2025-01-01")
              && context.origin.isIpv4() && context.who == principal
            };
            """);
        var response = Authorizer.IsAuthorized(new AuthorizationRequest(new("User", "a"), new("Action", "view"), new("User", "x"), context), policies, store);
        Assert.Empty(response.Errors);
        Assert.Equal(Decision.Allow, response.Decision);
    }
}
