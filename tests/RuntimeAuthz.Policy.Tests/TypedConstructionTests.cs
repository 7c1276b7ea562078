namespace RuntimeAuthz.Policy.Tests;

/// <summary>Entities and contexts built from engine values, against the same read from Cedar JSON.</summary>
public sealed class TypedConstructionTests
{
    private static readonly EntityUid Alice = new("User", "alice");
    private static readonly EntityUid Admins = new("Group", "admins");
    private static readonly EntityUid Staff = new("Group", "staff");
    private static readonly EntityUid Report = new("Doc", "report");

    private const string EntitiesJson = """
        [
          {"uid": {"type": "User", "id": "alice"}, "attrs": {"age": 41, "ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}}, "boss": {"__entity": {"type": "User", "id": "bob"}}, "tags": ["a", "b", "a"]},
           "parents": [{"type": "Group", "id": "admins"}], "tags": {"level": 3}},
          {"uid": {"type": "Group", "id": "admins"}, "attrs": {}, "parents": [{"type": "Group", "id": "staff"}]},
          {"uid": {"type": "Group", "id": "staff"}, "attrs": {}, "parents": []},
          {"uid": {"type": "Doc", "id": "report"}, "attrs": {"limit": {"__extn": {"fn": "decimal", "arg": "2.50"}}, "meta": {"__entity": {"type": "User", "id": "bob"}, "x": 1}}, "parents": []}
        ]
        """;

    private static IEnumerable<CedarEntity> Built() =>
    [
        new(Alice, CedarValue.Record(
            [
                new("age", CedarValue.Long(41)), new("ip", CedarValue.Extension("ip", "10.1.2.3")),
                new("boss", CedarValue.Entity(new EntityUid("User", "bob"))),
                new("tags", CedarValue.Set([CedarValue.String("a"), CedarValue.String("b")])),
            ]), [Admins], CedarValue.Record([new("level", CedarValue.Long(3))])),
        new(Admins, CedarValue.EmptyRecord, [Staff]),
        new(Staff, default, []),
        new(Report, new CedarRecordBuilder()
            .Set("limit", CedarValue.Extension("decimal", "2.5"))
            .Set("meta", CedarValue.Record(
            [
                new("__entity", CedarValue.Record([new("type", CedarValue.String("User")), new("id", CedarValue.String("bob"))])), new("x", CedarValue.Long(1)),
            ])).ToValue(), []),
    ];

    [Fact]
    public void Entities_built_directly_are_the_entities_read_from_json()
    {
        var read = EntityStore.FromJson(EntitiesJson).Entities.ToDictionary(e => e.Uid);
        var built = EntityStore.FromEntities(Built()).Entities.ToDictionary(e => e.Uid);

        Assert.Equal(read.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal), built.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal));
        Assert.All(read, pair => Assert.True(pair.Value.SameAs(built[pair.Key]), $"{pair.Key}: {pair.Value.Attributes} / {built[pair.Key].Attributes}"));
    }

    [Theory]
    [InlineData("""permit (principal in Group::"staff", action, resource);""", Decision.Allow)]
    [InlineData("""permit (principal, action, resource) when { principal.ip.isInRange(ip("10.0.0.0/8")) && principal.getTag("level") == 3 };""", Decision.Allow)]
    [InlineData("""permit (principal, action, resource) when { resource.limit.greaterThan(decimal("1.0")) && context.floor == "1.0" && context.who == principal };""", Decision.Allow)]
    [InlineData("""permit (principal, action, resource) when { context.count > 9 };""", Decision.Deny)]
    public void A_directly_built_request_decides_as_the_json_read_one(string policy, Decision expected)
    {
        var policies = PolicySet.Parse(policy);
        var action = new EntityUid("Action", "read");
        var jsonRequest = new AuthorizationRequest(Alice, action, Report, CedarContext.FromJson("""{"floor": "1.0", "who": {"__entity": {"type": "User", "id": "alice"}}, "count": 3}"""));
        var builtRequest = jsonRequest with
        {
            Context = new CedarRecordBuilder().Set("floor", CedarValue.String("1.0")).Set("who", CedarValue.Entity(Alice)).Set("count", CedarValue.Long(3)).ToContext(),
        };

        var fromJson = Authorizer.IsAuthorized(jsonRequest, policies, EntityStore.FromJson(EntitiesJson));
        var built = Authorizer.IsAuthorized(builtRequest, policies, EntityStore.FromEntities(Built()));

        Assert.Equal(jsonRequest.Context.ToValue(), builtRequest.Context.ToValue());
        Assert.Equal(expected, built.Decision);
        Assert.Equal(fromJson.Decision, built.Decision);
        Assert.Equal(fromJson.Reasons, built.Reasons);
        Assert.Equal(fromJson.Errors, built.Errors);
    }

    [Fact]
    public void An_entity_given_twice_must_be_the_same_both_times()
    {
        var once = new CedarEntity(Staff, CedarValue.Record([new("n", CedarValue.Long(1))]), [Admins]);
        var same = new CedarEntity(Staff, CedarValue.Record([new("n", CedarValue.Long(1))]), [Admins, Admins]);
        var other = new CedarEntity(Staff, CedarValue.Record([new("n", CedarValue.Long(2))]), [Admins]);

        Assert.Single(EntityStore.FromEntities([once, same]).Entities);
        Assert.Throws<ArgumentException>(() => EntityStore.FromEntities([once, other]));
    }

    [Fact]
    public void Values_that_are_not_cedar_are_refused_where_they_are_built()
    {
        Assert.Throws<ArgumentException>(() => CedarValue.Record([new("a", CedarValue.Long(1)), new("a", CedarValue.Long(2))]));
        Assert.Throws<ArgumentException>(() => CedarValue.Set([CedarValue.Long(1), default]));
        Assert.Throws<ArgumentException>(() => CedarValue.Extension("decimal", "1.23456"));
        Assert.Throws<ArgumentException>(() => CedarValue.Extension("money", "1"));
        Assert.Throws<ArgumentException>(() => new CedarEntity(Alice, CedarValue.Long(1), []));
        Assert.Throws<ArgumentException>(() => CedarContext.FromRecord(CedarValue.String("x")));
    }

    [Fact]
    public void A_json_record_keeps_a_members_error_until_the_member_is_replaced()
    {
        var record = CedarJsonRecord.Parse("""{"keep": 1, "session": [1.5, {"__entity": {"type": "User", "id": "carol"}}], "also": null}""", "context.json");

        var stillThere = Assert.Throws<CedarSyntaxException>(() => new CedarRecordBuilder(record).Set("session", CedarValue.Long(0)).ToValue());
        Assert.Equal((CedarErrorKind.UnexpectedJsonValue, 1, 86), (stillThere.Kind, stillThere.Line, stillThere.Column));
        var replaced = new CedarRecordBuilder(record).Set("session", CedarValue.Long(0)).Set("also", CedarValue.Bool(true)).ToValue();
        Assert.Equal(CedarValue.Record([new("keep", CedarValue.Long(1)), new("session", CedarValue.Long(0)), new("also", CedarValue.Bool(true))]), replaced);
        Assert.Equal([new EntityUid("User", "carol")], record.References);
    }

    [Theory]
    [InlineData("[1]", CedarErrorKind.UnexpectedJsonValue)]
    [InlineData("""{"a": 1, "a": 2}""", CedarErrorKind.DuplicateKey)]
    [InlineData("""{"a": """, CedarErrorKind.InvalidJson)]
    public void A_json_record_that_is_not_one_object_is_refused_when_read(string json, CedarErrorKind kind) =>
        Assert.Equal(kind, Assert.Throws<CedarSyntaxException>(() => CedarJsonRecord.Parse(json)).Kind);
}
