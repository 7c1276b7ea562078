using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Grains.Entities;

namespace RuntimeAuthz.Cluster.Tests;

/// <summary>A real silo host with examples/authzen-certification loaded over HTTP (policy, then entities), shared by the tests.</summary>
public sealed class AuthZenCertificationFixture
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private RunningHost? host;

    public async Task<RunningHost> HostAsync(ClusterEnvironment environment)
    {
        await gate.WaitAsync();
        try
        {
            if (host is not null) return host;
            var started = await environment.StartHostAsync("authzen-cert-" + Guid.NewGuid().ToString("N")[..12], seed: false);
            var fixture = Path.Combine(RepoPaths.Examples, "authzen-certification");
            var published = await started.Http.PostJsonAsync("/v1/policies", new JsonObject
            {
                ["policies"] = await File.ReadAllTextAsync(Path.Combine(fixture, "policies.cedar")),
                ["note"] = "AuthZEN certification fixture",
            }.ToJsonString());
            Assert.Equal(HttpStatusCode.Created, published.Status);
            var entities = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(fixture, "entities.json")))!.AsObject();
            entities["mode"] = "replace";
            var imported = await started.Http.PostJsonAsync("/v1/entities", entities.ToJsonString());
            Assert.Equal(HttpStatusCode.OK, imported.Status);
            var version = imported.Json["version"]!.GetValue<long>();
            var cache = started.App.Services.GetRequiredService<EntityCache>();
            await Eventually.UntilAsync("the silo's entity cache to hold the fixture", () => cache.Version, v => v >= version);
            return host = started;
        }
        finally
        {
            gate.Release();
        }
    }
}

/// <summary>
/// The OpenID AuthZEN working group's certification scenario for the Authorization API 1.0
/// (certification/authorization-api-1_0-scenario.md in openid/authzen), one test per mandated case, at Basic,
/// Batch and Search (Core and Properties) and Discovery, against the real HTTP API with our fixture
/// (examples/authzen-certification). The PDP is called as an enforcement point would (the admin test token).
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AuthZenCertificationTests(ClusterEnvironment environment, AuthZenCertificationFixture fixture) : IClassFixture<AuthZenCertificationFixture>
{
    private const string Evaluation = "/access/v1/evaluation";
    private const string Evaluations = "/access/v1/evaluations";

    private async Task<HttpClient> PdpAsync() => (await fixture.HostAsync(environment)).Http;

    private static JsonObject Entity(string type, string id, JsonObject? properties = null)
    {
        var entity = new JsonObject { ["type"] = type, ["id"] = id };
        if (properties is not null) entity["properties"] = properties;
        return entity;
    }

    private static JsonObject Action(string name, JsonObject? properties = null)
    {
        var action = new JsonObject { ["name"] = name };
        if (properties is not null) action["properties"] = properties;
        return action;
    }

    private static JsonObject Request(JsonObject? subject, JsonObject? action, JsonObject? resource)
    {
        var request = new JsonObject();
        if (subject is not null) request["subject"] = subject;
        if (action is not null) request["action"] = action;
        if (resource is not null) request["resource"] = resource;
        return request;
    }

    private static JsonObject User(string id, JsonObject? properties = null) => Entity("user", id, properties);

    private static JsonObject Record(string id, JsonObject? properties = null) => Entity("record", id, properties);

    /// <summary>HTTP 200, JSON, a boolean decision (and a context, if any, that is an object); returns the decision.</summary>
    private static bool DecisionOf(HttpReply reply)
    {
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        var decision = reply.Json["decision"];
        Assert.NotNull(decision);
        Assert.Contains(decision.GetValueKind(), new[] { System.Text.Json.JsonValueKind.True, System.Text.Json.JsonValueKind.False });
        if (reply.Json["context"] is { } context) Assert.IsType<JsonObject>(context);
        return decision.GetValue<bool>();
    }

    /// <summary>HTTP 200 with an evaluations array of exactly <paramref name="count"/> decision objects; returns the decisions in order.</summary>
    private static bool[] DecisionsOf(HttpReply reply, int count)
    {
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        var evaluations = Assert.IsType<JsonArray>(reply.Json["evaluations"]);
        Assert.Equal(count, evaluations.Count);
        return [.. evaluations.Select(e => e!["decision"]!.GetValue<bool>())];
    }

    private async Task<bool> DecideAsync(JsonObject request) => DecisionOf(await (await PdpAsync()).PostJsonAsync(Evaluation, request.ToJsonString()));

    // ---- Basic Core ----------------------------------------------------------------------------------

    [Fact]
    public async Task Basic_core_c_2_2_1_fixture_permit_alice_reads_record_1() =>
        Assert.True(await DecideAsync(Request(User("alice"), Action("read"), Record("record-1"))));

    [Fact]
    public async Task Basic_core_c_2_2_2_fixture_deny_bob_writes_record_1() =>
        Assert.False(await DecideAsync(Request(User("bob"), Action("write"), Record("record-1"))));

    [Fact]
    public async Task Basic_core_c_2_2_3_optional_context_does_not_change_the_decision()
    {
        var request = Request(User("alice"), Action("read"), Record("record-1"));
        request["context"] = new JsonObject { ["time"] = "2025-06-27T18:03-07:00", ["ip"] = "192.168.1.1" };
        Assert.True(await DecideAsync(request));
    }

    [Fact]
    public async Task Basic_core_c_2_2_8_additional_properties_are_accepted() =>
        Assert.True(await DecideAsync(Request(
            User("alice", new JsonObject { ["department"] = "Sales", ["role"] = "manager" }),
            Action("read", new JsonObject { ["method"] = "GET" }),
            Record("record-1", new JsonObject { ["status"] = "active", ["owner"] = "bob" }))));

    [Fact]
    public async Task Basic_core_c_2_2_9_unknown_fields_are_ignored()
    {
        var request = Request(User("alice"), Action("read"), Record("record-1"));
        request["foo"] = "bar";
        request["futureField"] = new JsonObject { ["nested"] = true };
        Assert.True(await DecideAsync(request));
    }

    [Fact]
    public async Task Basic_core_c_2_3_the_response_has_a_boolean_decision_and_an_object_context()
    {
        var reply = await (await PdpAsync()).PostJsonAsync(Evaluation, Request(User("bob"), Action("read"), Record("record-1")).ToJsonString());
        Assert.True(DecisionOf(reply));
        Assert.IsType<JsonObject>(reply.Json["context"]);
    }

    public static TheoryData<string, string> MalformedEvaluations() => new()
    {
        { "c-2-4-1 missing subject", """{"action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}""" },
        { "c-2-4-1 missing action", """{"subject": {"type": "user", "id": "alice"}, "resource": {"type": "record", "id": "record-1"}}""" },
        { "c-2-4-1 missing resource", """{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}}""" },
        { "c-2-4-2 subject missing type", """{"subject": {"id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}""" },
        { "c-2-4-2 subject missing id", """{"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}""" },
        { "c-2-4-2 action missing name", """{"subject": {"type": "user", "id": "alice"}, "action": {}, "resource": {"type": "record", "id": "record-1"}}""" },
        { "c-2-4-2 resource missing type", """{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"id": "record-1"}}""" },
        { "c-2-4-2 resource missing id", """{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "record"}}""" },
        { "c-2-4-4 malformed JSON", """{"subject": {"type": "user", "id": "alice"}""" },
        { "c-2-4-5 empty body", "" },
        { "c-2-4-6 subject is a string", """{"subject": "alice", "action": {"name": "read"}, "resource": {"type": "record", "id": "record-1"}}""" },
        { "c-2-4-6 action.name is a number", """{"subject": {"type": "user", "id": "alice"}, "action": {"name": 123}, "resource": {"type": "record", "id": "record-1"}}""" },
    };

    [Theory]
    [MemberData(nameof(MalformedEvaluations))]
    public async Task Basic_core_c_2_4_a_malformed_evaluation_is_400(string mandatedCase, string body)
    {
        var http = await PdpAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, Evaluation) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{mandatedCase}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task Basic_core_c_2_4_3_a_body_that_is_not_application_json_is_400()
    {
        var http = await PdpAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, Evaluation)
        {
            Content = new StringContent(Request(User("alice"), Action("read"), Record("record-1")).ToJsonString(), Encoding.UTF8, "text/plain"),
        };
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Basic_core_c_2_5_x_request_id_is_echoed_and_its_absence_does_not_fail()
    {
        var http = await PdpAsync();
        var body = Request(User("alice"), Action("read"), Record("record-1")).ToJsonString();

        var with = await http.PostJsonAsync(Evaluation, body, requestId: "cert-req-42");
        var without = await http.PostJsonAsync(Evaluation, body);

        Assert.True(DecisionOf(with));
        Assert.Equal("cert-req-42", Assert.Single(with.Response.Headers.GetValues("X-Request-ID")));
        Assert.True(DecisionOf(without));
    }

    [Fact]
    public async Task Basic_core_c_2_6_the_same_request_gets_the_same_decision_every_time()
    {
        var request = Request(User("bob"), Action("write"), Record("record-1"));
        var decisions = new List<bool>();
        for (var i = 0; i < 5; i++) decisions.Add(await DecideAsync(request));
        Assert.All(decisions, Assert.False);
    }

    // ---- Basic Properties ----------------------------------------------------------------------------

    [Fact]
    public async Task Basic_properties_c_2_2_4_deny_writing_an_archived_resource() =>
        Assert.False(await DecideAsync(Request(User("alice"), Action("write"), Record("record-2", new JsonObject { ["status"] = "archived" }))));

    [Fact]
    public async Task Basic_properties_c_2_2_5_an_admin_subject_writes_an_archived_resource() =>
        Assert.True(await DecideAsync(Request(
            User("bob", new JsonObject { ["role"] = "admin" }), Action("write"), Record("record-2", new JsonObject { ["status"] = "archived" }))));

    [Fact]
    public async Task Basic_properties_c_2_2_6_a_soft_delete_is_permitted() =>
        Assert.True(await DecideAsync(Request(User("alice"), Action("delete", new JsonObject { ["soft"] = true }), Record("record-1"))));

    [Fact]
    public async Task Basic_properties_c_2_2_7_a_hard_delete_is_denied() =>
        Assert.False(await DecideAsync(Request(User("alice"), Action("delete", new JsonObject { ["soft"] = false }), Record("record-1"))));

    // ---- Batch Core ----------------------------------------------------------------------------------

    private async Task<bool[]> BatchAsync(JsonObject request, int count) =>
        DecisionsOf(await (await PdpAsync()).PostJsonAsync(Evaluations, request.ToJsonString()), count);

    private static JsonArray Items(params JsonObject[] items) => new(items.Select(i => (JsonNode?)i).ToArray());

    [Fact]
    public async Task Batch_core_c_3_2_1_defaults_with_an_evaluations_array()
    {
        var request = Request(User("alice"), Action("read"), null);
        request["evaluations"] = Items(new JsonObject { ["resource"] = Record("record-1") }, new JsonObject { ["resource"] = Record("record-2") });
        Assert.Equal(2, (await BatchAsync(request, 2)).Length);
    }

    [Fact]
    public async Task Batch_core_c_3_2_2_fixture_decisions_in_request_order()
    {
        var request = Request(User("bob"), null, Record("record-1"));
        request["evaluations"] = Items(new JsonObject { ["action"] = Action("read") }, new JsonObject { ["action"] = Action("write") });
        Assert.Equal(new[] { true, false }, await BatchAsync(request, 2));
    }

    [Fact]
    public async Task Batch_core_c_3_2_5_fully_specified_evaluations_without_defaults()
    {
        var request = new JsonObject
        {
            ["evaluations"] = Items(
                Request(User("alice"), Action("read"), Record("record-1")),
                Request(User("bob"), Action("write"), Record("record-1"))),
        };
        Assert.Equal(new[] { true, false }, await BatchAsync(request, 2));
    }

    [Fact]
    public async Task Batch_core_c_3_2_6_top_level_context_is_inherited_and_may_be_overridden()
    {
        var request = Request(User("alice"), Action("read"), null);
        request["context"] = new JsonObject { ["time"] = "2025-06-27T18:03-07:00" };
        request["evaluations"] = Items(
            new JsonObject { ["resource"] = Record("record-1") },
            new JsonObject { ["resource"] = Record("record-2"), ["context"] = new JsonObject { ["time"] = "2025-06-27T19:00-07:00", ["source"] = "batch-override" } });
        Assert.Equal(2, (await BatchAsync(request, 2)).Length);
    }

    [Fact]
    public async Task Batch_core_c_3_3_answers_match_the_request_in_length_and_order_without_a_top_level_decision()
    {
        var request = new JsonObject
        {
            ["evaluations"] = Items(
                Request(User("bob"), Action("write"), Record("record-1")),
                Request(User("alice"), Action("read"), Record("record-1")),
                Request(User("bob"), Action("write"), Record("record-1")),
                Request(User("alice"), Action("write"), Record("record-1"))),
        };
        var reply = await (await PdpAsync()).PostJsonAsync(Evaluations, request.ToJsonString());

        Assert.Equal(new[] { false, true, false, true }, DecisionsOf(reply, 4));
        Assert.All(reply.Json["evaluations"]!.AsArray(), e => Assert.True(e!["context"] is null or JsonObject));
        Assert.Null(reply.Json["decision"]);
    }

    [Fact]
    public async Task Batch_core_c_3_4_1_a_failed_item_is_a_false_decision_in_a_200_answer()
    {
        var request = Request(User("alice"), Action("read"), null);
        request["evaluations"] = Items(new JsonObject { ["resource"] = Record("record-1") }, new JsonObject());
        Assert.Equal(new[] { true, false }, await BatchAsync(request, 2));
    }

    [Fact]
    public async Task Batch_core_c_3_4_2_without_an_evaluations_array_it_answers_as_a_single_evaluation()
    {
        var reply = await (await PdpAsync()).PostJsonAsync(Evaluations, Request(User("alice"), Action("read"), Record("record-1")).ToJsonString());
        Assert.True(DecisionOf(reply));
    }

    [Fact]
    public async Task Batch_core_c_3_4_3_an_empty_evaluations_array_answers_as_a_single_evaluation()
    {
        var request = Request(User("alice"), Action("read"), Record("record-1"));
        request["evaluations"] = new JsonArray();
        Assert.True(DecisionOf(await (await PdpAsync()).PostJsonAsync(Evaluations, request.ToJsonString())));
    }

    // ---- Batch Properties ----------------------------------------------------------------------------

    [Fact]
    public async Task Batch_properties_c_3_2_3_resource_properties_per_item()
    {
        var request = Request(User("alice"), Action("write"), null);
        request["evaluations"] = Items(
            new JsonObject { ["resource"] = Record("record-1", new JsonObject { ["status"] = "active" }) },
            new JsonObject { ["resource"] = Record("record-2", new JsonObject { ["status"] = "archived" }) });
        Assert.Equal(new[] { true, false }, await BatchAsync(request, 2));
    }

    [Fact]
    public async Task Batch_properties_c_3_2_4_subject_properties_per_item()
    {
        var request = Request(null, Action("write"), Record("record-2", new JsonObject { ["status"] = "archived" }));
        request["evaluations"] = Items(
            new JsonObject { ["subject"] = User("alice") },
            new JsonObject { ["subject"] = User("bob", new JsonObject { ["role"] = "admin" }) });
        Assert.Equal(new[] { false, true }, await BatchAsync(request, 2));
    }

    [Fact]
    public async Task Batch_properties_c_3_2_7_an_items_entity_takes_missing_required_fields_from_the_default()
    {
        var request = Request(User("alice"), Action("write"), new JsonObject { ["type"] = "record" });
        request["evaluations"] = Items(
            new JsonObject { ["resource"] = new JsonObject { ["id"] = "record-1", ["properties"] = new JsonObject { ["status"] = "active" } } },
            new JsonObject { ["resource"] = Record("record-2", new JsonObject { ["status"] = "archived" }) });
        Assert.Equal(new[] { true, false }, await BatchAsync(request, 2));
    }

    // ---- Search Core ---------------------------------------------------------------------------------

    private async Task<JsonArray> SearchAsync(string kind, JsonObject request)
    {
        var reply = await (await PdpAsync()).PostJsonAsync($"/access/v1/search/{kind}", request.ToJsonString());
        Assert.True(reply.Status == HttpStatusCode.OK, $"{(int)reply.Status} {reply.Body?.ToJsonString()}");
        Assert.Equal("application/json", reply.ContentType);
        if (reply.Json["page"] is { } page)
        {
            Assert.IsType<JsonObject>(page);
            if (page["next_token"] is { } next) Assert.Equal(System.Text.Json.JsonValueKind.String, next.GetValueKind());
        }
        return Assert.IsType<JsonArray>(reply.Json["results"]);
    }

    private static string[] Ids(JsonArray results, string type)
    {
        Assert.All(results, r => Assert.Equal(type, r!["type"]!.GetValue<string>()));
        return [.. results.Select(r => r!["id"]!.GetValue<string>())];
    }

    private static string[] Names(JsonArray results) => [.. results.Select(r => r!["name"]!.GetValue<string>())];

    private static JsonObject SubjectType(string type) => new() { ["type"] = type };

    [Fact]
    public async Task Search_core_c_4_2_1_subjects_who_may_read_record_1_include_alice_and_bob()
    {
        var ids = Ids(await SearchAsync("subject", Request(SubjectType("user"), Action("read"), Record("record-1"))), "user");
        Assert.Contains("alice", ids);
        Assert.Contains("bob", ids);
    }

    [Fact]
    public async Task Search_core_c_4_2_2_a_subject_search_with_context_is_accepted()
    {
        var request = Request(SubjectType("user"), Action("read"), Record("record-1"));
        request["context"] = new JsonObject { ["time"] = "2025-06-27T18:03-07:00" };
        Assert.Contains("alice", Ids(await SearchAsync("subject", request), "user"));
    }

    [Fact]
    public async Task Search_core_c_4_2_3_a_subject_search_sends_no_subject_id() =>
        // The harness omits subject.id: the search must work from the type alone (as c-4-2-1 does), whatever the store holds.
        Assert.NotEmpty(await SearchAsync("subject", Request(SubjectType("user"), Action("write"), Record("record-1"))));

    [Fact]
    public async Task Search_core_c_4_3_1_resources_alice_may_read_include_record_1() =>
        Assert.Contains("record-1", Ids(await SearchAsync("resource", Request(User("alice"), Action("read"), new JsonObject { ["type"] = "record" })), "record"));

    [Fact]
    public async Task Search_core_c_4_3_2_a_resource_search_sends_no_resource_id()
    {
        var ids = Ids(await SearchAsync("resource", Request(User("alice"), Action("write"), new JsonObject { ["type"] = "record" })), "record");
        Assert.Equal(["record-1"], ids);
    }

    [Fact]
    public async Task Search_core_c_4_4_1_actions_alice_may_take_on_record_1_include_read_and_write()
    {
        var names = Names(await SearchAsync("action", Request(User("alice"), null, Record("record-1"))));
        Assert.Contains("read", names);
        Assert.Contains("write", names);
    }

    [Fact]
    public async Task Search_core_c_4_4_2_an_action_search_with_context_is_accepted()
    {
        var request = Request(User("alice"), null, Record("record-1"));
        request["context"] = new JsonObject { ["ip"] = "192.168.1.1" };
        Assert.Contains("read", Names(await SearchAsync("action", request)));
    }

    [Fact]
    public async Task Search_core_c_4_5_pages_are_accepted_and_a_next_token_continues_to_the_end()
    {
        var request = Request(SubjectType("user"), Action("read"), Record("record-1"));
        request["page"] = new JsonObject { ["limit"] = 1 };
        var http = await PdpAsync();
        var seen = new List<string>();
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 10, "the search did not end");
            var reply = await http.PostJsonAsync("/access/v1/search/subject", request.ToJsonString());
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            var results = reply.Json["results"]!.AsArray();
            Assert.True(results.Count <= 1);
            seen.AddRange(Ids(results, "user"));
            var next = reply.Json["page"]?["next_token"]?.GetValue<string>();
            if (string.IsNullOrEmpty(next)) break;
            request["page"] = new JsonObject { ["token"] = next };
        }
        Assert.Contains("alice", seen);
        Assert.Contains("bob", seen);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [Fact]
    public async Task Search_core_c_4_6_no_match_is_an_empty_result_not_an_error()
    {
        Assert.Empty(await SearchAsync("action", Request(User("nonexistent-user"), null, Record("record-1"))));
        Assert.Empty(await SearchAsync("subject", Request(SubjectType("spaceship"), Action("read"), Record("record-1"))));
    }

    public static TheoryData<string, string, string> MalformedSearches() => new()
    {
        { "c-4-7-1 subject search missing action", "subject", """{"subject": {"type": "user"}, "resource": {"type": "record", "id": "record-1"}}""" },
        { "c-4-7-1 resource search missing subject", "resource", """{"action": {"name": "read"}, "resource": {"type": "record"}}""" },
        { "c-4-7-1 action search missing resource", "action", """{"subject": {"type": "user", "id": "alice"}}""" },
        { "c-4-7-2 subject search resource missing id", "subject", """{"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "record"}}""" },
        { "c-4-7-2 resource search subject missing id", "resource", """{"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "record"}}""" },
    };

    [Theory]
    [MemberData(nameof(MalformedSearches))]
    public async Task Search_core_c_4_7_a_search_missing_a_required_field_is_400(string mandatedCase, string kind, string body)
    {
        var reply = await (await PdpAsync()).PostJsonAsync($"/access/v1/search/{kind}", body);
        Assert.True(reply.Status == HttpStatusCode.BadRequest, $"{mandatedCase}: {(int)reply.Status} {reply.Body?.ToJsonString()}");
    }

    // ---- Search Properties ---------------------------------------------------------------------------

    [Fact]
    public async Task Search_properties_c_4_2_4_subjects_who_may_write_the_archived_record_include_bob() =>
        Assert.Contains("bob", Ids(await SearchAsync("subject",
            Request(SubjectType("user"), Action("write"), Record("record-2", new JsonObject { ["status"] = "archived" }))), "user"));

    [Fact]
    public async Task Search_properties_c_4_3_3_records_an_admin_may_write_include_record_2() =>
        Assert.Contains("record-2", Ids(await SearchAsync("resource",
            Request(User("bob", new JsonObject { ["role"] = "admin" }), Action("write"), new JsonObject { ["type"] = "record" })), "record"));

    [Fact]
    public async Task Search_properties_c_4_4_3_actions_an_admin_may_take_on_the_archived_record_include_write() =>
        Assert.Contains("write", Names(await SearchAsync("action",
            Request(User("bob", new JsonObject { ["role"] = "admin" }), null, Record("record-2", new JsonObject { ["status"] = "archived" })))));

    // ---- Discovery -----------------------------------------------------------------------------------

    [Fact]
    public async Task Discovery_c_6_the_metadata_names_the_pdp_and_every_endpoint_it_offers()
    {
        var host = await fixture.HostAsync(environment);
        using var anonymous = new HttpClient { BaseAddress = host.BaseAddress };
        var reply = await anonymous.GetJsonAsync("/.well-known/authzen-configuration");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        var baseUrl = host.BaseAddress.ToString().TrimEnd('/');
        Assert.Equal(baseUrl, reply.Json["policy_decision_point"]!.GetValue<string>());
        foreach (var (field, path) in new[]
                 {
                     ("access_evaluation_endpoint", Evaluation), ("access_evaluations_endpoint", Evaluations),
                     ("search_subject_endpoint", "/access/v1/search/subject"), ("search_resource_endpoint", "/access/v1/search/resource"),
                     ("search_action_endpoint", "/access/v1/search/action"),
                 })
        {
            Assert.Equal(baseUrl + path, reply.Json[field]?.GetValue<string>());
        }
        if (reply.Json["capabilities"] is { } capabilities) Assert.All(capabilities.AsArray(), c => Assert.Equal(System.Text.Json.JsonValueKind.String, c!.GetValueKind()));
    }
}
