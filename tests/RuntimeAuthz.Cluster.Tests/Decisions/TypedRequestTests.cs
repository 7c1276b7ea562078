using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Catalog;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Grains.Entities;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Cluster.Tests.Decisions;

/// <summary>
/// The Cedar request built directly from engine values against the way it was built before: Cedar entity and
/// context JSON written from the caller's parsed JSON and read again by the engine. For a wide set of requests
/// (odd JSON included) both give the same entities, the same context, and the same decision and diagnostics,
/// or both refuse the request as invalid.
/// </summary>
public sealed class TypedRequestTests
{
    private const string Policies = """
        // policy0: caller-key
        permit (principal, action, resource) when { context has k1 && context.k1 == 1 };
        // policy1: input-path
        permit (principal, action, resource) when { context.input has path && context.input.path like "/reports/*" };
        // policy2: input-size
        forbid (principal, action, resource) when { context.input.size > 5 };
        // policy3: in-org
        permit (principal, action, resource in Org::"o") when { principal in Org::"o" };
        // policy4: owner
        permit (principal, action, resource) when { resource has owner && resource.owner in User::"u1" && resource.owner.name == "ann" };
        // policy5: label
        permit (principal, action, resource) when { principal.labels has env && principal.labels.env == "prod" };
        // policy6: grant
        permit (principal, action, resource) when { principal.grants.contains({id: "g1", purpose: "", grantedBy: "alice", delegator: "", depth: 0, elevated: false}) };
        // policy7: catalog
        forbid (principal, action, resource) when { context.action.known && context.action.reversibility == "irreversible" };
        // policy8: risk
        permit (principal, action, resource) when { context.session.risk > 3 && resource.fleet == principal.fleet };
        // policy9: ip
        permit (principal, action, resource) when { context.k2.isInRange(ip("10.0.0.0/8")) };
        // policy10: money
        permit (principal, action, resource) when { context.k3.lessThan(decimal("2.5")) };
        // policy11: entity
        permit (principal, action, resource) when { context.k1 == User::"u2" || context.k1 in Team::"t" };
        // policy12: stored
        permit (principal, action, resource) when { principal.team == "x" && principal.fleet == "research" };
        """;

    private static readonly PolicySet PolicySet = PolicySet.Parse(Policies);

    private static readonly ActionCatalog Catalog = ActionCatalog.Parse("""
        {"actions": {"delete_file": {"reversibility": "irreversible", "category": "data"}, "read_file": {"reversibility": "reversible", "category": "read"}}}
        """).Catalog!;

    private static readonly EntitySnapshot Stored = new(7,
    [
        Doc("Agent", "a1", """{"team":"x","fleet":"overridden","name":"stored name"}""", ("Team", "t")),
        Doc("Team", "t", """{"size":3}""", ("Org", "o")),
        Doc("Org", "o", "{}"),
        Doc("Document", "d1", """{"owner":{"__entity":{"type":"User","id":"u1"}},"fleet":"research","tags":["a","b"]}""", ("Org", "o")),
        Doc("User", "u1", """{"name":"ann","manager":{"__entity":{"type":"User","id":"u3"}}}"""),
        Doc("User", "u2", """{"name":"bob"}""", ("Team", "t")),
        Doc("User", "u3", """{"name":"cy","limit":{"__extn":{"fn":"decimal","arg":"1.5"}}}"""),
    ]);

    private static EntityDocument Doc(string type, string id, string attrs, params (string Type, string Id)[] parents) => new()
    {
        Uid = EntityKey.Of(type, id), AttrsJson = attrs, Parents = parents.Select(p => EntityKey.Of(p.Type, p.Id)).ToArray(),
    };

    // ---- generated requests ----

    private static readonly Gen<string> Strings = Gen.OneOf(
        Gen.OneOf("", "a", "/reports/q3.pdf", "/etc/passwd", "prod", "ann", "u1", "é😀", "\"q\"\\", "line\nbreak", "\u0001"),
        Gen.Char.AlphaNumeric.Array[0, 6].Select(c => new string(c)));

    private static readonly Gen<string> Keys = Gen.OneOf("k1", "k2", "k3", "path", "size", "env", "session", "input", "action", "__entity", "__extn", "fn", "arg", "type", "id", "name");

    private static readonly Gen<JsonNode?> Scalars = Gen.OneOf(
        Gen.Bool.Select(b => (JsonNode?)b),
        Gen.Long[-20, 20].Select(n => (JsonNode?)n),
        Gen.OneOf(long.MaxValue, long.MinValue, 1024L, -129L).Select(n => (JsonNode?)n),
        Strings.Select(s => (JsonNode?)s),
        Gen.OneOf("1.5", "1e3", "-0", "9223372036854775808", "null").Select(text => JsonNode.Parse(text)),
        Gen.OneOf("u1", "u2", "u3", "nobody").Select(id => (JsonNode?)new JsonObject { ["__entity"] = new JsonObject { ["type"] = "User", ["id"] = id } }),
        Gen.OneOf("Team", "bad type", "Org").Select(type => (JsonNode?)new JsonObject { ["__entity"] = new JsonObject { ["type"] = type, ["id"] = "t" } }),
        Gen.OneOf(("ip", "10.1.2.3"), ("ip", "192.168.0.1"), ("decimal", "1.25"), ("decimal", "7.0"), ("decimal", "x"), ("nope", "1"))
            .Select(e => (JsonNode?)new JsonObject { ["__extn"] = new JsonObject { ["fn"] = e.Item1, ["arg"] = e.Item2 } }));

    private static Gen<JsonNode?> Values(int depth) => depth == 0 ? Scalars : Gen.Frequency(
        (4, Scalars),
        (1, Values(depth - 1).List[0, 3].Select(items => (JsonNode?)new JsonArray(items.Select(i => i?.DeepClone()).ToArray()))),
        (2, Objects(depth - 1).Select(o => (JsonNode?)o)));

    private static Gen<JsonObject> Objects(int depth) => Gen.Select(Keys, Values(depth)).List[0, 4].Select(fields =>
    {
        var obj = new JsonObject();
        foreach (var (key, value) in fields) obj[key] = value?.DeepClone();
        return obj;
    });

    /// <summary>A JSON text as a caller might send it: mostly well formed, sometimes not JSON, not an object, or with a duplicate key.</summary>
    private static Gen<string?> Texts(Gen<JsonNode?> values) => Gen.Frequency(
        (1, Gen.Const((string?)null)),
        (10, values.Select(v => (string?)(v?.ToJsonString() ?? "null"))),
        (1, Gen.OneOf("", "  ", "null", " null ", "{", "[1,", "{\"k1\":1,\"k1\":2}", "{\"k1\":1} {}", "\"\\ud800\"", "{\"k2\":\"\\udc00\"}").Select(s => (string?)s)));

    private sealed record Case(DecisionRequest Request, AgentInfo Agent, CedarRequestBuilder.SessionFacts Facts, bool WithStore)
    {
        public override string ToString() =>
            $"agent {JsonSerializer.Serialize(Agent.Labels)} grants {Agent.Delegations.Count}, facts {Facts}, store {WithStore}, {Request.Action} {Request.ResourceType}::{Request.ResourceId} "
            + $"properties {Request.ResourcePropertiesJson} context {Request.ContextJson} input {Request.InputJson}";
    }

    private static readonly Gen<Delegation> Grants = Gen.Select(Gen.OneOf("g1", "g2"), Gen.OneOf((string?)null, "audit"), Gen.OneOf((string?)null, "s1", "other"), Gen.Int[0, 2])
        .Select((id, purpose, session, depth) => new Delegation { Id = id, Purpose = purpose, GrantedBy = "alice", SessionId = session, Depth = depth, DelegatorAgentId = depth > 0 ? "boss" : null });

    private static readonly Gen<AgentInfo> Agents = Gen.Select(
            Gen.Select(Gen.OneOf("env", "tier", "__entity"), Gen.OneOf("prod", "dev", "")).List[0, 3],
            Grants.List[0, 3], Gen.OneOf(AgentStatus.Active, AgentStatus.Suspended), Gen.OneOf("research", "ops"))
        .Select((labels, grants, status, fleet) => new AgentInfo
        {
            Id = "a1", Name = "agent one", Owner = "owner", Fleet = fleet, Status = status, Delegations = grants,
            Labels = labels.GroupBy(l => l.Item1).ToDictionary(g => g.Key, g => g.First().Item2),
        });

    private static readonly Gen<(string Type, string Id)> Resources = Gen.OneOf(
        ("Document", "d1"), ("Document", "d2"), ("Agent", "a1"), ("Fleet", "research"), ("User", "u1"), ("Team", "t"));

    private static readonly Gen<Case> Cases = Gen.Select(
            Gen.Select(Resources, Gen.OneOf("read_file", "delete_file", "unknown_tool"), Texts(Objects(2).Select(o => (JsonNode?)o))),
            Texts(Objects(3).Select(o => (JsonNode?)o)), Texts(Values(3)), Agents,
            Gen.Select(Gen.Long[0, 8], Gen.Long[0, 50], Gen.Long[0, 4000]), Gen.Bool)
        .Select((first, context, input, agent, facts, withStore) => new Case(
            new DecisionRequest
            {
                Action = first.Item2, ResourceType = first.Item1.Type, ResourceId = first.Item1.Id,
                ResourcePropertiesJson = first.Item3, ContextJson = context, InputJson = input,
            },
            agent, new CedarRequestBuilder.SessionFacts("s1", facts.Item1, facts.Item2, facts.Item3), withStore));

    // ---- the comparison ----

    [Fact]
    public void Directly_built_requests_decide_as_the_json_built_ones_did() =>
        Cases.Sample(c =>
        {
            if (FormerMisreadLabels(c.Agent)) return; // the one intended difference, shown below
            var call = new DecisionCall("s1", Guid.NewGuid(), DateTimeOffset.UnixEpoch, c.Request);
            var stored = c.WithStore ? Stored : null;
            var typed = Attempt(() => CedarRequestBuilder.Build(c.Agent, c.Facts, call, Catalog.DescribeForCedar(c.Request.Action), stored));
            var json = AttemptFormer(() => JsonPath.Build(c.Agent, c.Facts, c.Request, Catalog.Describe(c.Request.Action), stored));
            AssertSame(json, typed);
        }, iter: 3_000, print: c => c.ToString());

    /// <summary>The former path wrote labels as a JSON object, so a lone label named <c>__entity</c> or <c>__extn</c> read as Cedar's escape.</summary>
    private static bool FormerMisreadLabels(AgentInfo agent) => agent.Labels.Count == 1 && agent.Labels.Keys.Single() is "__entity" or "__extn";

    [Fact]
    public void A_label_named_like_a_cedar_json_escape_is_a_label_where_the_json_path_refused_the_agent()
    {
        var agent = new AgentInfo { Id = "a1", Fleet = "research", Labels = new Dictionary<string, string> { ["__entity"] = "prod" } };
        var request = new DecisionRequest { Action = "read_file", ResourceType = "Document", ResourceId = "d2" };
        var facts = new CedarRequestBuilder.SessionFacts("s1", 0, 0, 0);

        Assert.NotNull(AttemptFormer(() => JsonPath.Build(agent, facts, request, null, null)).Error);
        var (cedar, entities) = CedarRequestBuilder.Build(agent, facts, new DecisionCall("s1", Guid.NewGuid(), DateTimeOffset.UnixEpoch, request));
        var principal = entities.Entities.Single(e => e.Uid == cedar.Principal);
        Assert.True(principal.Attributes.TryGetField("labels", out var labels));
        Assert.Equal(CedarValue.Record([new("__entity", CedarValue.String("prod"))]), labels);
    }

    [Fact]
    public void Session_less_requests_decide_as_the_json_built_ones_did() =>
        Gen.Select(Cases, Gen.OneOf((string?)null, """{"team":"x"}""", """{"owner":{"__entity":{"type":"User","id":"u1"}}}""")).Sample((c, subject) =>
        {
            var call = new DecisionCall("", Guid.NewGuid(), DateTimeOffset.UnixEpoch, c.Request);
            var stored = c.WithStore ? Stored : EntitySnapshot.Empty;
            var principal = new EntityUid("User", "u2");
            var typed = Attempt(() => CedarRequestBuilder.BuildForSubject(principal, subject is null ? null : CedarJsonRecord.Parse(subject), call, Catalog.DescribeForCedar(c.Request.Action), stored));
            var json = AttemptFormer(() => JsonPath.BuildForSubject(principal, subject is null ? null : (JsonObject)JsonNode.Parse(subject)!, c.Request, Catalog.Describe(c.Request.Action), stored));
            AssertSame(json, typed);
        }, iter: 1_500, print: t => $"{t.Item1} subject {t.Item2}");

    [Fact]
    public void A_recorded_requests_context_is_the_one_the_json_path_built() =>
        Cases.Sample(c =>
        {
            var typed = Attempt(() => (new AuthorizationRequest(default, default, default, CedarRequestBuilder.Context(c.Facts, c.Request.ContextJson, c.Request.InputJson)), EntityStore.Empty));
            var json = AttemptFormer(() => (new AuthorizationRequest(default, default, default, JsonPath.Context(c.Facts, c.Request.ContextJson, c.Request.InputJson)), EntityStore.Empty));
            Assert.Equal(json.Error is null, typed.Error is null);
            if (json.Error is null) Assert.Equal(json.Built!.Value.Request.Context.ToValue(), typed.Built!.Value.Request.Context.ToValue());
        }, iter: 1_000, print: c => c.ToString());

    [Fact]
    public void The_evidence_input_is_the_canonical_form_of_the_request_as_received_computed_once_per_call()
    {
        var redactors = new[] { new EvidenceRedactor(), new EvidenceRedactor(["/input/password", "/context/*"]) };
        Cases.Sample(c =>
        {
            var call = new DecisionCall("s1", Guid.NewGuid(), DateTimeOffset.UnixEpoch, c.Request);
            var decision = new AuthzDecision { DecisionId = call.DecisionId, SessionId = "s1", AgentId = "a1", Outcome = DecisionOutcome.Allow };
            foreach (var redactor in redactors)
            {
                var expected = redactor.Prepare(DecisionEvidence.InputOf(c.Request));
                var first = DecisionEvidence.Build(redactor, call, decision, null);
                var correction = DecisionEvidence.Build(redactor, call, decision with { Outcome = DecisionOutcome.Deny }, null);
                Assert.Equal((expected.Digest, expected.Stored, expected.Truncated ? true : (bool?)null), (first.InputDigest, first.Input, first.InputTruncated));
                Assert.Equal((first.InputDigest, first.Input), (correction.InputDigest, correction.Input));
            }
        }, iter: 1_500, print: c => c.ToString());
    }

    [Theory]
    [InlineData("""{"k1":1}""", """{"path":"/reports/q3.pdf"}""", Decision.Allow, new[] { "policy0", "policy1", "policy12" })]
    [InlineData("""{"k2":{"__extn":{"fn":"ip","arg":"10.9.9.9"}}}""", """{"size":9}""", Decision.Deny, new[] { "policy2" })]
    [InlineData("""{"k3":{"__extn":{"fn":"decimal","arg":"1.0"}}}""", "{}", Decision.Allow, new[] { "policy10", "policy12" })]
    [InlineData("""{"k1":{"__entity":{"type":"User","id":"u2"}}}""", "null", Decision.Allow, new[] { "policy11", "policy12" })]
    public void Known_requests_decide_with_their_determining_policies(string context, string input, Decision expected, string[] reasons)
    {
        var request = new DecisionRequest { Action = "read_file", ResourceType = "Document", ResourceId = "d2", ContextJson = context, InputJson = input };
        var agent = new AgentInfo { Id = "a1", Fleet = "research", Status = AgentStatus.Active };
        var call = new DecisionCall("s1", Guid.NewGuid(), DateTimeOffset.UnixEpoch, request);
        var (cedar, entities) = CedarRequestBuilder.Build(agent, new CedarRequestBuilder.SessionFacts("s1", 0, 0, 0), call, Catalog.DescribeForCedar("read_file"), Stored);
        var response = Authorizer.IsAuthorized(cedar, PolicySet, entities);
        Assert.Equal(expected, response.Decision);
        Assert.Equal(reasons.Order(StringComparer.Ordinal), response.Reasons.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("[1]", null, null)]
    [InlineData("{\"a\":null}", null, null)]
    [InlineData("{\"k1\":1,\"k1\":2}", null, null)]
    [InlineData(null, "", null)]
    [InlineData(null, "{\"n\":1.5}", null)]
    [InlineData(null, null, "\"not an object\"")]
    public void Malformed_caller_json_makes_the_request_invalid(string? context, string? input, string? properties)
    {
        var request = new DecisionRequest { Action = "read_file", ResourceType = "Document", ResourceId = "d2", ContextJson = context, InputJson = input, ResourcePropertiesJson = properties };
        var call = new DecisionCall("s1", Guid.NewGuid(), DateTimeOffset.UnixEpoch, request);
        var verdict = EvaluationStage.Evaluate(CompiledPolicy.FromRecord(new PolicyVersionRecord { Version = 1, Policies = Policies }),
            new AgentInfo { Id = "a1", Fleet = "research" }, new CedarRequestBuilder.SessionFacts("s1", 0, 0, 0), call,
            new RuntimeAuthz.Grains.Governance.GrantAuthority.Resolution(null, null, [new RuntimeAuthz.Grains.Governance.GrantAuthority.Candidate(new Delegation { Id = "g", Actions = ["*"], Resources = ["*"] }, [])]),
            (r, e) => Authorizer.IsAuthorized(r, PolicySet, e));
        Assert.Equal(DenyReasons.InvalidRequest, verdict.DenyReason);
    }

    private readonly record struct Outcome((AuthorizationRequest Request, EntityStore Entities)? Built, Exception? Error);

    private static Outcome Attempt(Func<(AuthorizationRequest, EntityStore)> build)
    {
        try { return new(build(), null); }
        catch (Exception ex) when (ex is CedarSyntaxException or JsonException or ArgumentException or FormatException) { return new(null, ex); }
    }

    /// <summary>
    /// The former path could also fail writing a lone surrogate escape back out (InvalidOperationException, which ended
    /// the decision as internal-error); the typed path refuses such a text when it reads it (invalid-request).
    /// </summary>
    private static Outcome AttemptFormer(Func<(AuthorizationRequest, EntityStore)> build)
    {
        try { return Attempt(build); }
        catch (InvalidOperationException ex) { return new(null, ex); }
    }

    private static void AssertSame(Outcome json, Outcome typed)
    {
        Assert.True((json.Error is null) == (typed.Error is null), $"JSON path: {json.Error?.Message ?? "built"}; typed: {typed.Error?.Message ?? "built"}");
        if (json.Error is not null) return;
        var (jsonRequest, jsonEntities) = json.Built!.Value;
        var (typedRequest, typedEntities) = typed.Built!.Value;
        Assert.Equal((jsonRequest.Principal, jsonRequest.Action, jsonRequest.Resource), (typedRequest.Principal, typedRequest.Action, typedRequest.Resource));
        Assert.Equal(jsonRequest.Context.ToValue(), typedRequest.Context.ToValue());
        var expected = jsonEntities.Entities.ToDictionary(e => e.Uid);
        var actual = typedEntities.Entities.ToDictionary(e => e.Uid);
        Assert.Equal(expected.Keys.Select(u => u.ToString()).Order(StringComparer.Ordinal), actual.Keys.Select(u => u.ToString()).Order(StringComparer.Ordinal));
        foreach (var (uid, entity) in expected) Assert.True(entity.SameAs(actual[uid]), $"{uid}: {entity.Attributes} vs {actual[uid].Attributes}");
        var before = Authorizer.IsAuthorized(jsonRequest, PolicySet, jsonEntities);
        var after = Authorizer.IsAuthorized(typedRequest, PolicySet, typedEntities);
        Assert.Equal(before.Decision, after.Decision);
        Assert.Equal(before.Reasons, after.Reasons);
        Assert.Equal(before.Errors, after.Errors);
    }

    /// <summary>The former construction, kept as the reference: Cedar JSON written from System.Text.Json nodes and read by the engine.</summary>
    private static class JsonPath
    {
        private static (JsonNode? Node, JsonException? Error) Parse(string? json, bool blankIsAbsent)
        {
            if (json is null || (blankIsAbsent && string.IsNullOrWhiteSpace(json))) return (null, null);
            try { return (JsonNode.Parse(json), null); }
            catch (JsonException ex) { return (null, ex); }
        }

        public static (AuthorizationRequest, EntityStore) Build(AgentInfo agent, CedarRequestBuilder.SessionFacts session, DecisionRequest request, JsonObject? action, EntitySnapshot? stored)
        {
            var principal = new EntityUid("Agent", agent.Id);
            var fleet = new EntityUid("Fleet", agent.Fleet);
            var resource = new EntityUid(request.ResourceType, request.ResourceId);
            var labels = new JsonObject();
            foreach (var (key, value) in agent.Labels) labels[key] = value;
            var registered = new JsonObject
            {
                ["name"] = agent.Name, ["owner"] = agent.Owner, ["fleet"] = agent.Fleet, ["labels"] = labels,
                ["status"] = agent.Status.ToString().ToLowerInvariant(), ["grants"] = GrantRecords(agent, session.SessionId),
            };
            var storedAgent = stored?.Find(EntityKey.Of(principal.Type, principal.Id));
            var entities = new JsonArray
            {
                Entity(principal, Overlay(AttrsOf(storedAgent), registered), [fleet, .. ParentsOf(storedAgent)]),
                Entity(fleet, new JsonObject(), []),
            };
            if (resource != principal && resource != fleet) entities.Add(StoredOrGiven(resource, ObjectOf(Parse(request.ResourcePropertiesJson, true), "resource.properties"), stored));
            var contextNode = Parse(request.ContextJson, true);
            AddReachable(entities, stored, [principal, fleet, resource], contextNode.Node);
            var store = EntityStore.FromJson(entities.ToJsonString());
            var context = Context(session, ObjectOf(contextNode, "context"), Parse(request.InputJson, false), action);
            return (new AuthorizationRequest(principal, new EntityUid("Action", request.Action), resource, context), store);
        }

        public static (AuthorizationRequest, EntityStore) BuildForSubject(EntityUid principal, JsonObject? subjectProperties, DecisionRequest request, JsonObject? action, EntitySnapshot? stored)
        {
            var resource = new EntityUid(request.ResourceType, request.ResourceId);
            var entities = new JsonArray { StoredOrGiven(principal, subjectProperties ?? new JsonObject(), stored) };
            if (resource != principal) entities.Add(StoredOrGiven(resource, ObjectOf(Parse(request.ResourcePropertiesJson, true), "resource.properties"), stored));
            var contextNode = Parse(request.ContextJson, true);
            AddReachable(entities, stored, [principal, resource], contextNode.Node);
            var context = ObjectOf(contextNode, "context");
            var input = Parse(request.InputJson, false);
            if (input.Error is { } invalid) throw invalid;
            if (action is not null) context["action"] = action;
            context["input"] = input.Node?.DeepClone() ?? new JsonObject();
            return (new AuthorizationRequest(principal, new EntityUid("Action", request.Action), resource, CedarContext.FromJson(context.ToJsonString())), EntityStore.FromJson(entities.ToJsonString()));
        }

        public static CedarContext Context(CedarRequestBuilder.SessionFacts session, string? contextJson, string? inputJson) =>
            Context(session, ObjectOf(Parse(contextJson, true), "context"), Parse(inputJson, false), null);

        private static CedarContext Context(CedarRequestBuilder.SessionFacts session, JsonObject context, (JsonNode? Node, JsonException? Error) input, JsonObject? action)
        {
            context["session"] = new JsonObject { ["id"] = session.SessionId, ["risk"] = session.Risk, ["decisions"] = session.Decisions, ["ageSeconds"] = session.AgeSeconds };
            if (input.Error is { } invalid) throw invalid;
            if (action is not null) context["action"] = action;
            context["input"] = input.Node?.DeepClone() ?? new JsonObject();
            return CedarContext.FromJson(context.ToJsonString());
        }

        private static JsonObject AttrsOf(CachedEntity? entity) => entity is null ? new JsonObject() : JsonNode.Parse(entity.Document.AttrsJson) as JsonObject ?? new JsonObject();

        private static IEnumerable<EntityUid> ParentsOf(CachedEntity? entity) => entity?.Document.Parents.Select(p => new EntityUid(p.Type, p.Id)) ?? [];

        private static JsonObject StoredOrGiven(EntityUid uid, JsonObject given, EntitySnapshot? stored)
        {
            var entity = stored?.Find(EntityKey.Of(uid.Type, uid.Id));
            return Entity(uid, entity is null ? given : Overlay(given, AttrsOf(entity)), ParentsOf(entity));
        }

        private static JsonObject Overlay(JsonObject under, JsonObject over)
        {
            foreach (var key in over.Select(p => p.Key).ToArray())
            {
                var value = over[key];
                over.Remove(key);
                under[key] = value;
            }
            return under;
        }

        private static void AddReachable(JsonArray entities, EntitySnapshot? stored, IEnumerable<EntityUid> present, JsonNode? context)
        {
            if (stored is null || stored.Count == 0) return;
            var have = present.Select(u => EntityKey.Of(u.Type, u.Id)).ToHashSet();
            var roots = entities.OfType<JsonObject>().SelectMany(e => ((JsonArray)e["parents"]!).OfType<JsonObject>()
                    .Select(p => EntityKey.Of(p["type"]!.GetValue<string>(), p["id"]!.GetValue<string>())))
                .Concat(have.SelectMany(k => stored.Find(k)?.References ?? []))
                .Concat(EntityJson.References(context));
            foreach (var entity in stored.Reachable(roots))
            {
                if (have.Add(entity.Uid)) entities.Add(EntityJson.ToNode(entity.Document));
            }
        }

        private static JsonArray GrantRecords(AgentInfo agent, string sessionId)
        {
            var grants = new JsonArray();
            foreach (var grant in agent.Delegations)
            {
                if (grant.SessionId is not null && !string.Equals(grant.SessionId, sessionId, StringComparison.Ordinal)) continue;
                grants.Add(new JsonObject
                {
                    ["id"] = grant.Id, ["purpose"] = grant.Purpose ?? "", ["grantedBy"] = grant.GrantedBy,
                    ["delegator"] = grant.DelegatorAgentId ?? "", ["depth"] = grant.Depth, ["elevated"] = grant.SessionId is not null,
                });
            }
            return grants;
        }

        private static JsonObject Entity(EntityUid uid, JsonObject attributes, IEnumerable<EntityUid> parents)
        {
            var parentArray = new JsonArray();
            foreach (var parent in parents) parentArray.Add(new JsonObject { ["type"] = parent.Type, ["id"] = parent.Id });
            return new JsonObject { ["uid"] = new JsonObject { ["type"] = uid.Type, ["id"] = uid.Id }, ["attrs"] = attributes, ["parents"] = parentArray };
        }

        private static JsonObject ObjectOf((JsonNode? Node, JsonException? Error) parsed, string what)
        {
            if (parsed.Error is { } invalid) throw invalid;
            if (parsed.Node is null) return new JsonObject();
            return parsed.Node.DeepClone() as JsonObject ?? throw new JsonException($"{what} must be a JSON object");
        }
    }
}
