using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Entities;

namespace RuntimeAuthz.Cluster.Tests.Security;

/// <summary>
/// A test issuer whose users may hand their tokens to the agent client, and a silo host trusting it, with a policy where
/// agents may read any document their grants cover and users only the documents of their own department.
/// </summary>
public sealed class OnBehalfOfFixture : IAsyncLifetime
{
    public const string AgentId = "obo-bot";
    public const string UnGrantedAgentId = "obo-idle-bot";

    public static readonly IssuerClient Admin = new("obo-admin", "admin-secret", Subject: "obo-admin", Roles: ["admin"]);
    public static readonly IssuerClient Bot = new("obo-bot-client", "bot-secret", Roles: ["agent"], AgentId: AgentId);
    public static readonly IssuerClient IdleBot = new("obo-idle-client", "idle-secret", Roles: ["agent"], AgentId: UnGrantedAgentId);
    public static readonly IssuerClient Stranger = new("obo-stranger-client", "stranger-secret", Roles: ["agent"], AgentId: "obo-stranger");
    public static readonly IssuerClient NotAnAgent = new("obo-service", "service-secret", Roles: ["auditor"]);
    /// <summary>Finance: may read finance documents. The user's own roles (admin) must never pass to the agent.</summary>
    public static readonly IssuerClient Alice = new("alice-app", "alice-secret", Subject: "alice", Roles: ["admin"], MayAct: [Bot.ClientId, IdleBot.ClientId, NotAnAgent.ClientId]);
    /// <summary>Finance too, but frozen: a policy on the agent's side refuses agents acting for frozen users.</summary>
    public static readonly IssuerClient Dave = new("dave-app", "dave-secret", Subject: "dave", MayAct: [Bot.ClientId]);

    public const string Policies = """
        @id("agents-read-documents")
        permit (principal is Agent, action == Action::"read_file", resource is Document);

        @id("users-read-own-department")
        permit (principal is User, action == Action::"read_file", resource is Document)
          when { principal.department == resource.department };

        @id("no-agents-for-frozen-users")
        forbid (principal is Agent, action, resource)
          when { context has onBehalfOf && context.onBehalfOf has frozen && context.onBehalfOf.frozen };
        """;

    public OidcIssuerProcess Issuer { get; private set; } = null!;
    public RunningHost Host { get; private set; } = null!;
    public HttpClient AdminHttp { get; private set; } = null!;

    private ClusterEnvironment? environment;
    private readonly SemaphoreSlim gate = new(1, 1);

    public async Task InitializeAsync() => Issuer = await OidcIssuerProcess.StartAsync([Admin, Bot, IdleBot, Stranger, NotAnAgent, Alice, Dave]);

    public async Task<OnBehalfOfFixture> StartAsync(ClusterEnvironment cluster)
    {
        await gate.WaitAsync();
        try
        {
            if (environment is not null) return this;
            Host = await cluster.StartHostAsync("obo-" + Guid.NewGuid().ToString("N")[..12], seed: false, extraArgs: [.. Issuer.SiloArguments]);
            AdminHttp = Host.ClientWith(await Issuer.GetTokenAsync(Admin));
            var published = await AdminHttp.PostJsonAsync("/v1/policies", new JsonObject { ["policies"] = Policies }.ToJsonString());
            Assert.Equal(HttpStatusCode.Created, published.Status);
            foreach (var agent in new[] { AgentId, UnGrantedAgentId })
            {
                var registered = await AdminHttp.PostJsonAsync("/v1/agents", $$"""{"id":"{{agent}}","name":"OBO","owner":"ops@example.com","fleet":"obo"}""");
                Assert.Equal(HttpStatusCode.Created, registered.Status);
            }
            var granted = await AdminHttp.PostJsonAsync($"/v1/agents/{AgentId}/delegations",
                """{"actions":["read_file"],"resources":["Document::*"],"expiresAt":"2099-01-01T00:00:00Z","purpose":"read for users"}""");
            Assert.Equal(HttpStatusCode.Created, granted.Status);
            await ImportEntitiesAsync(
                Entity("User", "alice", """{"department": "finance"}"""),
                Entity("User", "dave", """{"department": "finance", "frozen": true}"""),
                Entity("Document", "q3-ledger", """{"department": "finance"}"""),
                Entity("Document", "roadmap", """{"department": "engineering"}"""));
            environment = cluster;
            return this;
        }
        finally
        {
            gate.Release();
        }
    }

    private static EntityDocument Entity(string type, string id, string attrs) => new() { Uid = EntityKey.Of(type, id), AttrsJson = attrs };

    /// <summary>Straight into the store grain (the governance HTTP import is the entities work's), then until this silo's cache has it.</summary>
    private async Task ImportEntitiesAsync(params EntityDocument[] entities)
    {
        var grains = Host.App.Services.GetRequiredService<IGrainFactory>();
        var imported = await grains.GetGrain<IEntityStoreGrain>(0).Import(new EntityImportRequest { Entities = entities, Actor = "tests" });
        Assert.True(imported.IsSuccess, imported.Message);
        var cache = Host.App.Services.GetRequiredService<EntityCache>();
        await Eventually.UntilAsync("the entity cache to hold the imported entities", () => cache.Version, v => v >= imported.Value!.Version);
    }

    /// <summary>A token for <paramref name="agent"/> acting on behalf of <paramref name="user"/>, exchanged at the issuer.</summary>
    public async Task<string> ExchangeAsync(IssuerClient user, IssuerClient agent)
    {
        var reply = await Issuer.ExchangeTokenAsync(agent, await Issuer.GetTokenAsync(user));
        return reply.AccessToken ?? throw new InvalidOperationException($"the exchange was refused: {(int)reply.Status} {reply.Error} {reply.ErrorDescription}");
    }

    public async Task DisposeAsync()
    {
        if (Issuer is not null) await Issuer.DisposeAsync();
    }
}

/// <summary>
/// An agent acting on behalf of a user with a token exchanged at the test issuer (RFC 8693): the user is the token's
/// subject, the agent its actor; every decision is the AND of the user's own permission and the agent's.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class OnBehalfOfTests(ClusterEnvironment environment, OnBehalfOfFixture fixture) : IClassFixture<OnBehalfOfFixture>
{
    private async Task<(HttpClient Agent, string Session)> ActingForAsync(IssuerClient user, IssuerClient agent)
    {
        await fixture.StartAsync(environment);
        var http = fixture.Host.ClientWith(await fixture.ExchangeAsync(user, agent));
        var opened = await http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{agent.AgentId}}"}""");
        Assert.Equal(HttpStatusCode.Created, opened.Status);
        return (http, opened.Json["id"]!.GetValue<string>());
    }

    private static string Evaluation(string agentId, string session, string document, JsonObject? context = null)
    {
        var body = context ?? new JsonObject();
        body["session_id"] = session;
        return new JsonObject
        {
            ["subject"] = new JsonObject { ["type"] = "agent", ["id"] = agentId },
            ["action"] = new JsonObject { ["name"] = "read_file" },
            ["resource"] = new JsonObject { ["type"] = "Document", ["id"] = document },
            ["context"] = body,
        }.ToJsonString();
    }

    private static async Task<JsonNode> DecideAsync(HttpClient http, string agentId, string session, string document)
    {
        var reply = await http.PostJsonAsync("/access/v1/evaluation", Evaluation(agentId, session, document));
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json;
    }

    [Fact]
    public async Task The_exchanged_token_has_the_user_as_subject_and_the_agent_as_actor_and_acts_only_as_that_agent()
    {
        await fixture.StartAsync(environment);
        var token = await fixture.ExchangeAsync(OnBehalfOfFixture.Alice, OnBehalfOfFixture.Bot);

        var (_, payload) = JwtParts.Read(token);
        Assert.Equal("alice", payload["sub"]!.GetValue<string>());
        Assert.True(payload["act"]?["sub"]?.GetValue<string>() == OnBehalfOfFixture.AgentId, payload.ToJsonString());
        var whoami = (await fixture.Host.ClientWith(token).GetJsonAsync("/v1/whoami")).Json;
        Assert.Equal("alice", whoami["subject"]!.GetValue<string>());
        Assert.Equal(OnBehalfOfFixture.AgentId, whoami["agentId"]!.GetValue<string>());
        // Alice is an admin, but her agent is not: a delegated token holds only the agent role.
        Assert.Equal(["agent"], JwtParts.Strings(whoami["roles"]));
        var register = await fixture.Host.ClientWith(token).PostJsonAsync("/v1/agents", """{"id":"obo-sneaky","name":"n","owner":"o","fleet":"f"}""");
        Assert.Equal(HttpStatusCode.Forbidden, register.Status);
        var otherAgent = await fixture.Host.ClientWith(token).PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{OnBehalfOfFixture.UnGrantedAgentId}}"}""");
        Assert.Equal(HttpStatusCode.Forbidden, otherAgent.Status);
    }

    [Fact]
    public async Task An_agent_with_a_covering_grant_is_denied_where_the_user_lacks_permission_and_allowed_where_both_hold()
    {
        var (agent, session) = await ActingForAsync(OnBehalfOfFixture.Alice, OnBehalfOfFixture.Bot);

        var ownDepartment = await DecideAsync(agent, OnBehalfOfFixture.AgentId, session, "q3-ledger");
        var otherDepartment = await DecideAsync(agent, OnBehalfOfFixture.AgentId, session, "roadmap");

        Assert.True(ownDepartment["decision"]!.GetValue<bool>(), ownDepartment.ToJsonString());
        Assert.Equal("Allow", ownDepartment["context"]!["outcome"]!.GetValue<string>());
        Assert.False(otherDepartment["decision"]!.GetValue<bool>(), otherDepartment.ToJsonString());
        Assert.Equal(DenyReasons.UserNotPermitted, otherDepartment["context"]!["deny_reason"]!.GetValue<string>());

        // The same agent acting for nobody is allowed the second document: its own grant covers it.
        var own = fixture.Host.ClientWith(await fixture.Issuer.GetTokenAsync(OnBehalfOfFixture.Bot));
        var opened = await own.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{OnBehalfOfFixture.AgentId}}"}""");
        var alone = await DecideAsync(own, OnBehalfOfFixture.AgentId, opened.Json["id"]!.GetValue<string>(), "roadmap");
        Assert.True(alone["decision"]!.GetValue<bool>(), alone.ToJsonString());
    }

    [Fact]
    public async Task The_user_cannot_give_an_agent_what_its_own_grants_do_not_cover()
    {
        var (agent, session) = await ActingForAsync(OnBehalfOfFixture.Alice, OnBehalfOfFixture.IdleBot);

        var decision = await DecideAsync(agent, OnBehalfOfFixture.UnGrantedAgentId, session, "q3-ledger");

        Assert.False(decision["decision"]!.GetValue<bool>());
        Assert.Equal(DenyReasons.NoDelegation, decision["context"]!["deny_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Policies_see_the_user_with_its_stored_attributes_in_context_on_behalf_of()
    {
        var (agent, session) = await ActingForAsync(OnBehalfOfFixture.Dave, OnBehalfOfFixture.Bot);

        // Dave may read finance documents himself, and the agent's grant covers them, but the agent's side forbids
        // acting for a frozen user: only the stored attribute of context.onBehalfOf says so.
        var decision = await DecideAsync(agent, OnBehalfOfFixture.AgentId, session, "q3-ledger");

        Assert.False(decision["decision"]!.GetValue<bool>());
        Assert.Equal(DenyReasons.NotPermitted, decision["context"]!["deny_reason"]!.GetValue<string>());
        Assert.Contains("policy2", decision["context"]!["reasons"]!.AsArray().Select(r => r!.GetValue<string>()));
    }

    [Fact]
    public async Task The_evidence_of_both_decisions_names_the_agent_and_the_user()
    {
        var (agent, session) = await ActingForAsync(OnBehalfOfFixture.Alice, OnBehalfOfFixture.Bot);
        var allowed = await DecideAsync(agent, OnBehalfOfFixture.AgentId, session, "q3-ledger");
        var denied = await DecideAsync(agent, OnBehalfOfFixture.AgentId, session, "roadmap");

        var agentChain = await VerifiedChains.ReadAsync(environment.Azurite.ConnectionString, EvidenceChains.ForSession(session));
        var allowRecord = Assert.Single(agentChain, r => r.DecisionId == allowed["context"]!["decision_id"]!.GetValue<string>());
        Assert.Equal("Allow", allowRecord.Outcome);
        Assert.Equal(OnBehalfOfFixture.AgentId, allowRecord.AgentId);
        Assert.Equal("User::\"alice\"", allowRecord.OnBehalfOf);
        Assert.Equal("alice", allowRecord.Actor);
        // The denied call never reached the agent's evaluation: its session chain holds no record of it ...
        Assert.DoesNotContain(agentChain, r => r.Resource == "Document::\"roadmap\"");

        // ... the user's own chain does, naming the agent that asked.
        var userChain = await VerifiedChains.ReadAsync(environment.Azurite.ConnectionString,
            EvidenceChains.ForSessionless(SessionlessDecisionGrain.KeyOf(EntityKey.Of("User", "alice"))));
        var denyRecord = Assert.Single(userChain, r => r.DecisionId == denied["context"]!["decision_id"]!.GetValue<string>());
        Assert.Equal("Deny", denyRecord.Outcome);
        Assert.Equal("Document::\"roadmap\"", denyRecord.Resource);
        Assert.Equal("User::\"alice\"", denyRecord.OnBehalfOf);
        Assert.Equal($"agent:{OnBehalfOfFixture.AgentId}", denyRecord.Actor);
        Assert.Contains(userChain, r => r.Outcome == "Allow" && r.Resource == "Document::\"q3-ledger\"" && r.Actor == $"agent:{OnBehalfOfFixture.AgentId}");
    }

    [Fact]
    public async Task A_caller_acting_for_nobody_may_not_claim_a_user_in_context()
    {
        await fixture.StartAsync(environment);
        var own = fixture.Host.ClientWith(await fixture.Issuer.GetTokenAsync(OnBehalfOfFixture.Bot));
        var opened = await own.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{OnBehalfOfFixture.AgentId}}"}""");
        var session = opened.Json["id"]!.GetValue<string>();

        var reply = await own.PostJsonAsync("/access/v1/evaluation", Evaluation(OnBehalfOfFixture.AgentId, session, "q3-ledger",
            new JsonObject { ["onBehalfOf"] = new JsonObject { ["__entity"] = new JsonObject { ["type"] = "User", ["id"] = "alice" } } }));

        Assert.Contains("context.onBehalfOf is set by the service", reply.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_issuer_refuses_exchanges_by_a_client_that_is_not_an_agent_or_not_named_by_the_users_token()
    {
        var userToken = await fixture.Issuer.GetTokenAsync(OnBehalfOfFixture.Alice);

        var notAnAgent = await fixture.Issuer.ExchangeTokenAsync(OnBehalfOfFixture.NotAnAgent, userToken);
        var notNamed = await fixture.Issuer.ExchangeTokenAsync(OnBehalfOfFixture.Stranger, userToken);
        var chained = await fixture.Issuer.ExchangeTokenAsync(OnBehalfOfFixture.Bot, await fixture.ExchangeAsync(OnBehalfOfFixture.Alice, OnBehalfOfFixture.Bot));
        var garbage = await fixture.Issuer.ExchangeTokenAsync(OnBehalfOfFixture.Bot, "not-a-token");

        Assert.Equal(HttpStatusCode.BadRequest, notAnAgent.Status);
        Assert.Equal("unauthorized_client", notAnAgent.Error);
        Assert.Equal(HttpStatusCode.BadRequest, notNamed.Status);
        Assert.Null(notNamed.AccessToken);
        Assert.Equal(HttpStatusCode.BadRequest, chained.Status);
        Assert.Null(chained.AccessToken);
        Assert.Equal(HttpStatusCode.BadRequest, garbage.Status);
        Assert.Null(garbage.AccessToken);
    }

    public static TheoryData<string, string> MalformedActors() => new()
    {
        { "a chain: an agent acting for an agent acting for the user", """{"sub": "bot-a", "act": {"sub": "bot-b"}}""" },
        { "no sub", """{"client_id": "bot-a"}""" },
        { "an empty sub", """{"sub": ""}""" },
        { "a sub that is not a string", """{"sub": 42}""" },
        { "not an object", "\"bot-a\"" },
    };

    [Theory]
    [MemberData(nameof(MalformedActors))]
    public async Task A_token_whose_act_claim_is_malformed_is_refused(string why, string act)
    {
        var host = await environment.GetSharedHostAsync();
        var token = TestTokens.Mint("alice", [RuntimeAuthz.Silo.Security.Roles.Agent],
            extraClaims: new Dictionary<string, object> { ["act"] = System.Text.Json.JsonSerializer.Deserialize<System.Text.Json.JsonElement>(act) });

        var reply = await host.ClientWith(token).GetJsonAsync("/v1/whoami");

        // A validated token that names no usable caller is refused like one without a subject: 403, nothing allowed.
        Assert.True(reply.Status == HttpStatusCode.Forbidden, $"{why}: {(int)reply.Status}");
    }

    [Fact]
    public async Task A_delegated_token_naming_another_agent_in_agent_id_is_refused_and_a_wellformed_one_acts_only_as_its_agent()
    {
        var host = await environment.GetSharedHostAsync();
        var act = new Dictionary<string, object> { ["act"] = new Dictionary<string, object> { ["sub"] = "demo-agent" } };

        var mismatch = await host.ClientWith(TestTokens.Mint("alice", [RuntimeAuthz.Silo.Security.Roles.Agent], agentId: "other-agent", extraClaims: act)).GetJsonAsync("/v1/whoami");
        var wellFormed = await host.ClientWith(TestTokens.Mint("alice", [RuntimeAuthz.Silo.Security.Roles.Admin], extraClaims: act)).GetJsonAsync("/v1/whoami");

        Assert.Equal(HttpStatusCode.Forbidden, mismatch.Status);
        Assert.Equal(HttpStatusCode.OK, wellFormed.Status);
        Assert.Equal("demo-agent", wellFormed.Json["agentId"]!.GetValue<string>());
        Assert.Equal(["agent"], JwtParts.Strings(wellFormed.Json["roles"]));
    }
}
