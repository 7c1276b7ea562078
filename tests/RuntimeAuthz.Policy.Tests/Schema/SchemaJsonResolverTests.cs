using System.Text.Json.Nodes;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Policy.Tests.Schema;

public sealed class SchemaJsonResolverTests
{
    private static readonly CedarSchema Schema = CedarSchema.Parse("""
        entity Group;
        type Net = { addr: ipaddr, nets?: Set<ipaddr> };
        entity User in [Group] = {
          manager?: User,
          friends: Set<User>,
          net: Net,
          score: decimal,
          name: String,
          meta: { created: datetime, ttl?: duration },
        } tags ipaddr;
        entity Doc;
        action "read-all";
        action read in ["read-all"] appliesTo {
          principal: User, resource: Doc,
          context: { ip: ipaddr, owner: User, trust?: Set<decimal>, n: Long },
        };
        """);

    private static JsonNode Entities(string json) => JsonNode.Parse(SchemaJsonResolver.ResolveEntities(json, Schema))!;

    [Fact]
    public void MakesImplicitEntityReferencesAndExtensionValuesExplicit()
    {
        var result = Entities("""
            [{"uid": {"type": "User", "id": "a"},
              "attrs": {
                "manager": {"type": "User", "id": "b"},
                "friends": [{"type": "User", "id": "c"}, {"__entity": {"type": "User", "id": "d"}}],
                "net": {"addr": "10.0.0.1", "nets": ["10.0.0.0/8"]},
                "score": "1.5",
                "name": "alice",
                "meta": {"created": "2024-01-01", "ttl": {"fn": "duration", "arg": "1h"}},
                "unknownAttr": {"type": "User", "id": "x"}
              },
              "parents": [{"type": "Group", "id": "g"}],
              "tags": {"home": "192.168.0.1"}}]
            """);
        var attrs = result[0]!["attrs"]!;
        Assert.Equal("""{"__entity":{"type":"User","id":"b"}}""", attrs["manager"]!.ToJsonString());
        Assert.Equal("""[{"__entity":{"type":"User","id":"c"}},{"__entity":{"type":"User","id":"d"}}]""", attrs["friends"]!.ToJsonString());
        Assert.Equal("""{"addr":{"__extn":{"fn":"ip","arg":"10.0.0.1"}},"nets":[{"__extn":{"fn":"ip","arg":"10.0.0.0/8"}}]}""", attrs["net"]!.ToJsonString());
        Assert.Equal("""{"__extn":{"fn":"decimal","arg":"1.5"}}""", attrs["score"]!.ToJsonString());
        Assert.Equal("\"alice\"", attrs["name"]!.ToJsonString());
        Assert.Equal("""{"created":{"__extn":{"fn":"datetime","arg":"2024-01-01"}},"ttl":{"__extn":{"fn":"duration","arg":"1h"}}}""", attrs["meta"]!.ToJsonString());
        Assert.Equal("""{"type":"User","id":"x"}""", attrs["unknownAttr"]!.ToJsonString());
        Assert.Equal("""{"home":{"__extn":{"fn":"ip","arg":"192.168.0.1"}}}""", result[0]!["tags"]!.ToJsonString());
        Assert.Equal("""[{"type":"Group","id":"g"}]""", result[0]!["parents"]!.ToJsonString());
    }

    [Fact]
    public void LeavesEntitiesOfUndeclaredTypesAlone()
    {
        var result = Entities("""[{"uid": {"__entity": {"type": "Other", "id": "o"}}, "attrs": {"score": "1.5"}, "parents": []}]""");
        Assert.Equal("\"1.5\"", result[0]!["attrs"]!["score"]!.ToJsonString());
    }

    [Fact]
    public void AddsTheSchemasActionEntitiesWithTheirGroups()
    {
        var result = Entities("[]").AsArray();
        var read = result.Single(e => e!["uid"]!["__entity"]!["id"]!.GetValue<string>() == "read")!;
        Assert.Equal("""[{"__entity":{"type":"Action","id":"read-all"}}]""", read["parents"]!.ToJsonString());
        Assert.Equal(2, result.Count);
    }

    [Fact]
    public void DoesNotDuplicateActionEntitiesTheInputLists()
    {
        var result = Entities("""[{"uid": {"type": "Action", "id": "read"}, "attrs": {}, "parents": []}]""").AsArray();
        Assert.Equal(2, result.Count);
        Assert.Equal("[]", result[0]!["parents"]!.ToJsonString());
    }

    [Fact]
    public void ResolvesContextByTheActionsContextType()
    {
        string json = """{"ip": "1.2.3.4", "owner": {"type": "User", "id": "a"}, "trust": ["0.5"], "n": 3, "extra": "1.2.3.4"}""";
        var result = JsonNode.Parse(SchemaJsonResolver.ResolveContext(json, Schema, new EntityUid("Action", "read")))!;
        Assert.Equal("""{"__extn":{"fn":"ip","arg":"1.2.3.4"}}""", result["ip"]!.ToJsonString());
        Assert.Equal("""{"__entity":{"type":"User","id":"a"}}""", result["owner"]!.ToJsonString());
        Assert.Equal("""[{"__extn":{"fn":"decimal","arg":"0.5"}}]""", result["trust"]!.ToJsonString());
        Assert.Equal("3", result["n"]!.ToJsonString());
        Assert.Equal("\"1.2.3.4\"", result["extra"]!.ToJsonString());

        var unknownAction = JsonNode.Parse(SchemaJsonResolver.ResolveContext(json, Schema, new EntityUid("Action", "nope")))!;
        Assert.Equal("\"1.2.3.4\"", unknownAction["ip"]!.ToJsonString());
    }

    [Fact]
    public void ReportsMalformedJsonWithPosition()
    {
        var e = Assert.Throws<CedarSyntaxException>(() => SchemaJsonResolver.ResolveContext("{\n  \"a\": ,\n}", Schema, null, "ctx.json"));
        Assert.Equal("ctx.json", e.SourceName);
        Assert.Equal(2, e.Line);
    }
}
