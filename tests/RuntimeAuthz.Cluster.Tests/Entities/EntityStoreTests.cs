using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Entities;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Cluster.Tests.Entities;

/// <summary>
/// The entity store over real HTTP on two silo hosts clustered through Azure Table storage (Azurite):
/// governance imports, lists, shows and deletes; decisions read stored attributes and parents on every silo;
/// any subject decides session-less with a signed record; the AuthZEN search APIs and discovery.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class EntityStoreTests(ClusterEnvironment env)
{
    private const string TrustedPep = "trusted-pep";

    private const string Policies = """
        permit (principal in Team::"finance", action == Action::"read", resource in Folder::"finance");

        permit (principal, action == Action::"write", resource) when { principal has role && principal.role == "admin" };

        permit (principal, action == Action::"view", resource) when { resource has owner && principal has email && resource.owner == principal.email };
        """;

    private const string Entities = """
        {"mode": "replace", "entities": [
          {"uid": {"type": "User", "id": "alice"}, "attrs": {"email": "alice@example.com", "role": "viewer"}, "parents": [{"type": "Team", "id": "finance"}]},
          {"uid": {"type": "User", "id": "bob"}, "attrs": {"email": "bob@example.com", "role": "admin"}, "parents": []},
          {"uid": {"type": "User", "id": "dora"}, "attrs": {"email": "dora@example.com"}, "parents": [{"type": "Team", "id": "finance"}]},
          {"uid": {"type": "Folder", "id": "finance"}, "attrs": {}, "parents": []},
          {"uid": {"type": "Folder", "id": "q3"}, "attrs": {}, "parents": [{"type": "Folder", "id": "finance"}]},
          {"uid": {"type": "Document", "id": "q3-report"}, "attrs": {"owner": "alice@example.com"}, "parents": [{"type": "Folder", "id": "q3"}]},
          {"uid": {"type": "Document", "id": "lunch-menu"}, "attrs": {"owner": "bob@example.com"}, "parents": [{"type": "Folder", "id": "public"}]},
          {"uid": {"type": "Action", "id": "read"}, "attrs": {}, "parents": []},
          {"uid": {"type": "Action", "id": "write"}, "attrs": {}, "parents": []},
          {"uid": {"type": "Action", "id": "view"}, "attrs": {}, "parents": []}
        ]}
        """;

    private sealed record Pair(RunningHost First, RunningHost Second);

    private static Task<Pair>? pair;
    private static readonly Lock PairGate = new();

    /// <summary>Two hosts of one cluster (one per test run), the policy published and the entities imported.</summary>
    private Task<Pair> PairAsync()
    {
        lock (PairGate) return pair ??= StartPairAsync();
    }

    private async Task<Pair> StartPairAsync()
    {
        var id = "entities-" + Guid.NewGuid().ToString("N")[..10];
        string[] Args() =>
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Production",
            $"--Storage:ConnectionString={env.Azurite.ConnectionString}",
            "--Orleans:Clustering:ProviderType=AzureTableStorage", $"--Orleans:ClusterId={id}", $"--Orleans:ServiceId={id}",
            $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}", "--Orleans:AdvertisedIPAddress=127.0.0.1",
            "--AuthZen:TrustedProperties:*=none", $"--AuthZen:TrustedProperties:{TrustedPep}=subject,resource",
        ];
        var first = await env.StartHostAsync(Args());
        var second = await env.StartHostAsync(Args());
        var published = await first.Http.PostJsonAsync("/v1/policies", new JsonObject { ["policies"] = Policies }.ToJsonString());
        Assert.Equal(HttpStatusCode.Created, published.Status);
        var imported = await first.As(Roles.Governance).PostJsonAsync("/v1/entities", Entities);
        Assert.Equal(HttpStatusCode.OK, imported.Status);
        await SeenEverywhereAsync(new Pair(first, second), imported.Json["version"]!.GetValue<long>(), TimeSpan.FromSeconds(30));
        return new Pair(first, second);
    }

    private static Task SeenEverywhereAsync(Pair hosts, long version, TimeSpan deadline) =>
        Eventually.TrueAsync($"entity store version {version} on both silos",
            () => new[] { hosts.First, hosts.Second }.All(h => h.App.Services.GetRequiredService<EntityCache>().Version >= version), deadline);

    private static string Evaluation(string type, string id, string action, string resourceType, string resourceId, string subjectProperties = "null", string resourceProperties = "null") => $$$"""
        {"subject": {"type": "{{{type}}}", "id": "{{{id}}}", "properties": {{{subjectProperties}}}},
         "action": {"name": "{{{action}}}"},
         "resource": {"type": "{{{resourceType}}}", "id": "{{{resourceId}}}", "properties": {{{resourceProperties}}}}}
        """.Replace("\"properties\": null", "\"ignored\": null", StringComparison.Ordinal);

    [Fact]
    public async Task Governance_imports_lists_shows_and_deletes_entities()
    {
        var hosts = await PairAsync();
        var governance = hosts.First.As(Roles.Governance);
        var merged = await governance.PostJsonAsync("/v1/entities", """
            {"entities": [{"uid": {"type": "Listed", "id": "one"}, "attrs": {"n": 1}, "parents": [{"type": "Listed", "id": "root"}]},
                          {"uid": {"type": "Listed", "id": "two"}, "attrs": {"n": 2}}]}
            """);
        Assert.Equal(HttpStatusCode.OK, merged.Status);
        Assert.Equal(2, merged.Json["imported"]!.GetValue<int>());
        Assert.Equal(0, merged.Json["removed"]!.GetValue<int>());

        // Another silo's API answers from the same store; a responder may read.
        var shown = await hosts.Second.As(Roles.Responder).GetJsonAsync("/v1/entities/Listed/one");
        Assert.Equal(HttpStatusCode.OK, shown.Status);
        Assert.Equal(1, shown.Json["attrs"]!["n"]!.GetValue<int>());
        Assert.Equal("root", shown.Json["parents"]![0]!["id"]!.GetValue<string>());

        var first = await governance.GetJsonAsync("/v1/entities?type=Listed&limit=1");
        Assert.Equal("one", first.Json["entities"]![0]!["uid"]!["id"]!.GetValue<string>());
        var continuation = first.Json["continuation"]!.GetValue<string>();
        var second = await governance.GetJsonAsync($"/v1/entities?type=Listed&limit=1&continuation={Uri.EscapeDataString(continuation)}");
        Assert.Equal("two", second.Json["entities"]![0]!["uid"]!["id"]!.GetValue<string>());
        Assert.Null(second.Json["continuation"]);

        var deleted = await governance.SendAsync(HttpMethod.Delete, "/v1/entities/Listed/two");
        Assert.Equal(HttpStatusCode.OK, deleted.Status);
        Assert.True(deleted.Json["version"]!.GetValue<long>() > merged.Json["version"]!.GetValue<long>());
        (await governance.GetJsonAsync("/v1/entities/Listed/two")).AssertProblem(HttpStatusCode.NotFound);
        (await governance.SendAsync(HttpMethod.Delete, "/v1/entities/Listed/two")).AssertProblem(HttpStatusCode.NotFound);
        Assert.Single((await governance.GetJsonAsync("/v1/entities?type=Listed")).Json["entities"]!.AsArray());
    }

    [Theory]
    [InlineData("""{"entities": {"uid": {"type": "User", "id": "x"}}}""", "entities must be an array")]
    [InlineData("""{"mode": "overwrite", "entities": []}""", "mode must be merge or replace")]
    [InlineData("""{"entities": [{"uid": {"type": "not a type", "id": "x"}}]}""", "is not a Cedar entity type")]
    [InlineData("""{"entities": [{"uid": {"type": "User"}}]}""", "entities[0].uid.id is required")]
    [InlineData("""{"entities": [{"uid": {"type": "User", "id": ""}}]}""", "must be 1-256 characters")]
    [InlineData("""{"entities": [{"uid": {"type": "User", "id": "x"}, "attrs": [1]}]}""", "entities[0].attrs must be an object")]
    [InlineData("""{"entities": [{"uid": {"type": "User", "id": "x"}, "attrs": {"n": {"__entity": {"type": "User"}}}}]}""", "entities[0]")]
    [InlineData("""{"entities": [{"uid": {"type": "User", "id": "x"}, "parents": [{"type": "User", "id": "x"}]}]}""", "its own parent")]
    [InlineData("""{"entities": [{"uid": {"type": "G", "id": "a"}, "parents": [{"type": "G", "id": "b"}]}, {"uid": {"type": "G", "id": "b"}, "parents": [{"type": "G", "id": "a"}]}]}""", "form a cycle")]
    [InlineData("""{"entities": [{"uid": {"type": "User", "id": "x"}, "attrs": {"a": 1}}, {"uid": {"type": "User", "id": "x"}, "attrs": {"a": 2}}]}""", "given twice")]
    [InlineData("""{"actor": "someone", "entities": []}""", "actor is not accepted")]
    public async Task Bad_imports_are_400_naming_the_problem_and_change_nothing(string body, string expected)
    {
        var hosts = await PairAsync();
        var before = await hosts.First.Http.GetJsonAsync("/v1/entities?limit=1");
        var reply = await hosts.First.As(Roles.Governance).PostJsonAsync("/v1/entities", body);
        Assert.Contains(expected, reply.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        var after = await hosts.First.Http.GetJsonAsync("/v1/entities?limit=1");
        Assert.Equal(before.Json["version"]!.GetValue<long>(), after.Json["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task Limits_are_enforced_with_4xx_messages()
    {
        var hosts = await PairAsync();
        var governance = hosts.First.As(Roles.Governance);
        var longId = new string('i', EntityLimits.MaxIdLength + 1);
        Assert.Contains("1-256 characters", (await governance.PostJsonAsync("/v1/entities", $$$"""{"entities": [{"uid": {"type": "User", "id": "{{{longId}}}"}}]}"""))
            .AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        var bigAttrs = new JsonObject { ["blob"] = new string('x', EntityLimits.MaxAttrsBytes) };
        var big = new JsonObject { ["entities"] = new JsonArray(new JsonObject { ["uid"] = new JsonObject { ["type"] = "User", ["id"] = "big" }, ["attrs"] = bigAttrs }) };
        Assert.Contains("attrs is larger than", (await governance.PostJsonAsync("/v1/entities", big.ToJsonString())).AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        var parents = new JsonArray(Enumerable.Range(0, EntityLimits.MaxParents + 1).Select(i => (JsonNode?)new JsonObject { ["type"] = "G", ["id"] = $"p{i}" }).ToArray());
        var wide = new JsonObject { ["entities"] = new JsonArray(new JsonObject { ["uid"] = new JsonObject { ["type"] = "User", ["id"] = "wide" }, ["parents"] = parents }) };
        Assert.Contains("parents has more than", (await governance.PostJsonAsync("/v1/entities", wide.ToJsonString())).AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        var chain = new JsonArray(Enumerable.Range(0, EntityLimits.MaxDepth + 2).Select(i => (JsonNode?)new JsonObject
        {
            ["uid"] = new JsonObject { ["type"] = "Deep", ["id"] = $"d{i}" },
            ["parents"] = new JsonArray(new JsonObject { ["type"] = "Deep", ["id"] = $"d{i + 1}" }),
        }).ToArray());
        Assert.Contains("levels of parents", (await governance.PostJsonAsync("/v1/entities", new JsonObject { ["entities"] = chain }.ToJsonString()))
            .AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        (await governance.GetJsonAsync("/v1/entities?limit=0")).AssertProblem(HttpStatusCode.BadRequest);
        (await governance.GetJsonAsync("/v1/entities?type=no%20type")).AssertProblem(HttpStatusCode.BadRequest);
        (await governance.GetJsonAsync("/v1/entities?continuation=forged")).AssertProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Only_governance_and_admins_write_and_responders_read()
    {
        var hosts = await PairAsync();
        const string body = """{"entities": [{"uid": {"type": "Guarded", "id": "perm"}}]}""";
        foreach (var role in new[] { Roles.Responder, Roles.Approver, Roles.Auditor, Roles.Pep, Roles.Agent })
            (await hosts.First.As(role).PostJsonAsync("/v1/entities", body)).AssertProblem(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, (await hosts.First.Http.PostJsonAsync("/v1/entities", body)).Status);
        foreach (var role in new[] { Roles.Approver, Roles.Auditor, Roles.Pep, Roles.Agent })
            (await hosts.First.As(role).GetJsonAsync("/v1/entities/Guarded/perm")).AssertProblem(HttpStatusCode.Forbidden);
        (await hosts.First.As(Roles.Responder).SendAsync(HttpMethod.Delete, "/v1/entities/Guarded/perm")).AssertProblem(HttpStatusCode.Forbidden);
        (await hosts.First.ClientWith(null).GetJsonAsync("/v1/entities")).AssertProblem(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Resource_in_folder_decides_through_stored_parents_on_both_silos()
    {
        var hosts = await PairAsync();
        foreach (var host in new[] { hosts.First, hosts.Second })
        {
            var pep = host.ClientWith(TestTokens.ForPep(TrustedPep));
            var inFinance = await pep.PostJsonAsync("/access/v1/evaluation", Evaluation("user", "alice", "read", "Document", "q3-report"));
            Assert.True(inFinance.Json["decision"]!.GetValue<bool>(), inFinance.Json.ToJsonString());
            Assert.Equal("policy0", inFinance.Json["context"]!["reasons"]![0]!.GetValue<string>());
            Assert.True(inFinance.Json["context"]!["entity_store_version"]!.GetValue<long>() > 0);
            var elsewhere = await pep.PostJsonAsync("/access/v1/evaluation", Evaluation("user", "alice", "read", "Document", "lunch-menu"));
            Assert.False(elsewhere.Json["decision"]!.GetValue<bool>());
            // bob is not in Team::"finance" (his stored parents say so), whatever folder the document is in.
            var notInTeam = await pep.PostJsonAsync("/access/v1/evaluation", Evaluation("user", "bob", "read", "Document", "q3-report"));
            Assert.False(notInTeam.Json["decision"]!.GetValue<bool>());
        }
    }

    [Fact]
    public async Task An_entity_store_change_is_pushed_to_the_other_silo()
    {
        var hosts = await PairAsync();
        var pep = hosts.Second.ClientWith(TestTokens.ForPep(TrustedPep));
        var before = await pep.PostJsonAsync("/access/v1/evaluation", Evaluation("user", "erin", "read", "Document", "q3-report"));
        Assert.False(before.Json["decision"]!.GetValue<bool>());

        var imported = await hosts.First.As(Roles.Governance).PostJsonAsync("/v1/entities",
            """{"entities": [{"uid": {"type": "User", "id": "erin"}, "attrs": {}, "parents": [{"type": "Team", "id": "finance"}]}]}""");
        var version = imported.Json["version"]!.GetValue<long>();
        // Pushed, not only polled: the second silo's refresher handled a push announcing the version (a deadline
        // shorter than the 2 s poll would say the same, but flakes on a loaded machine).
        await SeenEverywhereAsync(hosts, version, deadline: TimeSpan.FromSeconds(30));
        await Eventually.UntilAsync("a push of the new entity store version handled by the second silo",
            () => hosts.Second.App.Services.GetRequiredService<EntityCacheService>().LastPushedVersionRefreshed, pushed => pushed >= version, TimeSpan.FromSeconds(30));

        var after = await pep.PostJsonAsync("/access/v1/evaluation", Evaluation("user", "erin", "read", "Document", "q3-report"));
        Assert.True(after.Json["decision"]!.GetValue<bool>(), after.Json.ToJsonString());
        Assert.True(after.Json["context"]!["entity_store_version"]!.GetValue<long>() >= version);
    }

    [Fact]
    public async Task User_subjects_take_stored_attributes_and_trusted_properties_only()
    {
        var hosts = await PairAsync();
        var trusted = hosts.First.ClientWith(TestTokens.ForPep(TrustedPep));
        var untrusted = hosts.First.ClientWith(TestTokens.ForPep("other-pep"));

        Assert.True(await DecisionAsync(trusted, Evaluation("user", "bob", "write", "Document", "q3-report")));
        // The store says alice is a viewer: a trusted caller's "admin" loses to it.
        Assert.False(await DecisionAsync(trusted, Evaluation("user", "alice", "write", "Document", "q3-report", """{"role": "admin"}""")));
        // carol is not stored: a trusted caller's properties are her attributes; an untrusted caller's are ignored.
        Assert.True(await DecisionAsync(trusted, Evaluation("user", "carol", "write", "Document", "q3-report", """{"role": "admin"}""")));
        Assert.False(await DecisionAsync(untrusted, Evaluation("user", "carol", "write", "Document", "q3-report", """{"role": "admin"}""")));
        // Resource properties likewise: the stored owner wins, an unstored resource's owner comes from a trusted caller only.
        Assert.True(await DecisionAsync(trusted, Evaluation("user", "alice", "view", "Document", "q3-report", resourceProperties: """{"owner": "mallory@example.com"}""")));
        Assert.True(await DecisionAsync(trusted, Evaluation("user", "alice", "view", "Document", "memo", resourceProperties: """{"owner": "alice@example.com"}""")));
        Assert.False(await DecisionAsync(untrusted, Evaluation("user", "alice", "view", "Document", "memo", resourceProperties: """{"owner": "alice@example.com"}""")));

        // An agent's token never decides for a user.
        (await hosts.First.AsAgent("some-agent").PostJsonAsync("/access/v1/evaluation", Evaluation("user", "bob", "write", "Document", "q3-report")))
            .AssertProblem(HttpStatusCode.Forbidden);
    }

    private static async Task<bool> DecisionAsync(HttpClient client, string body)
    {
        var reply = await client.PostJsonAsync("/access/v1/evaluation", body);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json["decision"]!.GetValue<bool>();
    }

    [Fact]
    public async Task A_session_less_decision_has_a_signed_record_in_the_principals_chain()
    {
        var hosts = await PairAsync();
        var pep = hosts.First.ClientWith(TestTokens.ForPep(TrustedPep));
        var allowed = await pep.PostJsonAsync("/access/v1/evaluation", Evaluation("user", "dora", "read", "Document", "q3-report"));
        var denied = await pep.PostJsonAsync("/access/v1/evaluation", Evaluation("user", "dora", "write", "Document", "q3-report"));
        Assert.True(allowed.Json["decision"]!.GetValue<bool>());
        Assert.False(denied.Json["decision"]!.GetValue<bool>());
        Assert.Null(allowed.Json["context"]!["session_id"]);

        var records = await VerifiedChains.ReadAsync(env.Azurite.ConnectionString, EvidenceChains.ForSessionless(SessionlessDecisionGrain.KeyOf(EntityKey.Of("User", "dora"))));
        var allowRecord = Assert.Single(records, r => r.DecisionId == allowed.Json["context"]!["decision_id"]!.GetValue<string>());
        Assert.Equal("Allow", allowRecord.Outcome);
        Assert.Equal(TrustedPep, allowRecord.Actor);
        Assert.Equal(allowed.Json["context"]!["entity_store_version"]!.GetValue<long>(), allowRecord.EntityStoreVersion);
        Assert.Null(allowRecord.SessionId);
        var denyRecord = Assert.Single(records, r => r.DecisionId == denied.Json["context"]!["decision_id"]!.GetValue<string>());
        Assert.Equal("Deny", denyRecord.Outcome);
        Assert.Equal(DenyReasons.NotPermitted, denyRecord.DenyReason);
    }

    [Fact]
    public async Task Agents_still_need_a_session_by_default_and_other_subjects_none()
    {
        var hosts = await PairAsync();
        var noSession = await hosts.First.Http.PostJsonAsync("/access/v1/evaluation", Evaluation("agent", "some-agent", "read", "Document", "q3-report"));
        Assert.Contains("context.session_id is required", noSession.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        var userInSession = await hosts.First.Http.PostJsonAsync("/access/v1/evaluation",
            """{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "Document", "id": "q3-report"}, "context": {"session_id": "s-1"}}""");
        Assert.Contains("decides without a session", userInSession.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        var badType = await hosts.First.Http.PostJsonAsync("/access/v1/evaluation",
            """{"subject": {"type": "no such type", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "Document", "id": "q3-report"}}""");
        Assert.Contains("does not map to a Cedar entity type", badType.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_apis_page_through_permitted_candidates()
    {
        var hosts = await PairAsync();
        var pep = hosts.Second.ClientWith(TestTokens.ForPep(TrustedPep));
        var subjects = new List<string>();
        var token = "";
        var pages = 0;
        do
        {
            var reply = await pep.PostJsonAsync("/access/v1/search/subject", $$$"""
                {"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "Document", "id": "q3-report"}, "page": {"limit": 1, "token": "{{{token}}}"}}
                """);
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            foreach (var result in reply.Json["results"]!.AsArray())
            {
                Assert.Equal("user", result!["type"]!.GetValue<string>());
                subjects.Add(result["id"]!.GetValue<string>());
            }
            Assert.True(reply.Json["results"]!.AsArray().Count <= 1);
            token = reply.Json["page"]!["next_token"]!.GetValue<string>();
            pages++;
        }
        while (token.Length > 0 && pages < 20);
        Assert.Contains("alice", subjects);
        Assert.Contains("dora", subjects);
        Assert.DoesNotContain("bob", subjects);
        Assert.True(pages >= 2, $"{pages} pages");

        var resources = await pep.PostJsonAsync("/access/v1/search/resource",
            """{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "Document"}}""");
        Assert.Equal(["q3-report"], resources.Json["results"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));
        Assert.Equal("", resources.Json["page"]!["next_token"]!.GetValue<string>());

        var actions = await pep.PostJsonAsync("/access/v1/search/action",
            """{"subject": {"type": "user", "id": "alice"}, "resource": {"type": "Document", "id": "q3-report"}, "context": {"time": "now"}}""");
        Assert.Equal(["read", "view"], actions.Json["results"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()));

        var unknownType = await pep.PostJsonAsync("/access/v1/search/subject",
            """{"subject": {"type": "spaceship"}, "action": {"name": "read"}, "resource": {"type": "Document", "id": "q3-report"}}""");
        Assert.Empty(unknownType.Json["results"]!.AsArray());
        var unknownSubject = await pep.PostJsonAsync("/access/v1/search/action",
            """{"subject": {"type": "user", "id": "nobody"}, "resource": {"type": "Document", "id": "q3-report"}}""");
        Assert.Empty(unknownSubject.Json["results"]!.AsArray());
    }

    [Theory]
    [InlineData("subject", """{"subject": {"type": "user"}, "resource": {"type": "Document", "id": "q3-report"}}""", "action is required")]
    [InlineData("subject", """{"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "Document"}}""", "resource.id is required")]
    [InlineData("resource", """{"action": {"name": "read"}, "resource": {"type": "Document"}}""", "subject is required")]
    [InlineData("resource", """{"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "Document"}}""", "subject.id is required")]
    [InlineData("action", """{"subject": {"type": "user", "id": "alice"}}""", "resource is required")]
    [InlineData("subject", """{"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "Document", "id": "q3-report"}, "page": {"token": "forged"}}""", "page.token")]
    [InlineData("subject", """{"subject": {"type": "user"}, "action": {"name": "read"}, "resource": {"type": "Document", "id": "q3-report"}, "page": {"limit": 0}}""", "page.limit")]
    public async Task Search_requests_missing_required_fields_are_400(string kind, string body, string expected)
    {
        var hosts = await PairAsync();
        var reply = await hosts.First.ClientWith(TestTokens.ForPep(TrustedPep)).PostJsonAsync($"/access/v1/search/{kind}", body);
        Assert.Contains(expected, reply.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_is_refused_to_agents()
    {
        var hosts = await PairAsync();
        (await hosts.First.AsAgent("some-agent").PostJsonAsync("/access/v1/search/resource",
            """{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "Document"}}""")).AssertProblem(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Batches_report_bad_items_in_place_and_merge_defaults_per_entity()
    {
        var hosts = await PairAsync();
        var pep = hosts.First.ClientWith(TestTokens.ForPep(TrustedPep));
        var reply = await pep.PostJsonAsync("/access/v1/evaluations", """
            {"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "Document"}, "unknown": {"ignored": true},
             "evaluations": [{"resource": {"id": "q3-report"}}, {}, {"resource": {"type": "Document", "id": "lunch-menu"}}, {"subject": {"id": "bob"}, "resource": {"id": "q3-report"}}]}
            """);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var items = reply.Json["evaluations"]!.AsArray();
        Assert.Equal(4, items.Count);
        Assert.True(items[0]!["decision"]!.GetValue<bool>(), items[0]!.ToJsonString());
        Assert.False(items[1]!["decision"]!.GetValue<bool>());
        Assert.Equal(400, items[1]!["context"]!["error"]!["status"]!.GetValue<int>());
        Assert.False(items[2]!["decision"]!.GetValue<bool>());
        Assert.False(items[3]!["decision"]!.GetValue<bool>());

        var empty = await pep.PostJsonAsync("/access/v1/evaluations",
            """{"subject": {"type": "user", "id": "alice"}, "action": {"name": "read"}, "resource": {"type": "Document", "id": "q3-report"}, "evaluations": []}""");
        Assert.True(empty.Json["decision"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Discovery_lists_every_endpoint_offered()
    {
        var hosts = await PairAsync();
        var reply = await hosts.First.ClientWith(null).GetJsonAsync("/.well-known/authzen-configuration");
        var baseUrl = reply.Json["policy_decision_point"]!.GetValue<string>();
        foreach (var (key, path) in new[]
        {
            ("access_evaluation_endpoint", "/access/v1/evaluation"), ("access_evaluations_endpoint", "/access/v1/evaluations"),
            ("search_subject_endpoint", "/access/v1/search/subject"), ("search_resource_endpoint", "/access/v1/search/resource"),
            ("search_action_endpoint", "/access/v1/search/action"),
        })
        {
            Assert.Equal(baseUrl + path, reply.Json[key]!.GetValue<string>());
            // Each one is served: a body that misses its fields is a 400, not a 404.
            var served = await hosts.First.Http.PostJsonAsync(path, "{}");
            Assert.Equal(HttpStatusCode.BadRequest, served.Status);
        }
    }
}
