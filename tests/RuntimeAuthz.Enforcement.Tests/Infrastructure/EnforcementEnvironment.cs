using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Client;
using RuntimeAuthz.Silo;

namespace RuntimeAuthz.Enforcement.Tests.Infrastructure;

/// <summary>
/// What the enforcement tests share, started once: Azurite, the OIDC test issuer (its own process; the silo and the
/// gateways both trust it through discovery and JWKS), one real silo host with the tests' policy, and the recording API.
/// </summary>
public sealed class EnforcementEnvironment : IAsyncLifetime
{
    public static readonly IssuerClient Admin = new("tests-admin", "tests-admin-secret", Subject: "tests-admin", Roles: ["admin"]);
    public static readonly IssuerClient Approver = new("tests-approver", "tests-approver-secret", Subject: "tests-approver", Roles: ["approver"]);

    /// <summary>The enforcement points' own identity at the cluster: role pep, acting for any agent.</summary>
    public static readonly IssuerClient EnforcementPoint = new("tests-pep", "tests-pep-secret", Subject: "tests-pep", Roles: ["pep"], AuthzAgents: ["*"]);

    /// <summary>The agents the tests may use; each test takes its own, so their sessions and histories never mix.</summary>
    public static readonly IReadOnlyList<string> AgentIds =
    [
        "gw-reader", "gw-deleter", "gw-payer", "gw-retry", "gw-offline", "gw-input", "gw-sessions", "gw-outcomes", "gw-rejected", "gw-renew",
        "ai-guarded", "ai-approval", "ai-rejected",
        "enf-503", "enf-lost", "enf-refused-400", "enf-refused-403", "enf-refused-404", "enf-refused-409", "enf-down", "enf-other-409", "enf-typed-409",
    ];

    private readonly List<IAsyncDisposable> owned = [];
    private WebApplication? silo;

    public AzuriteServer Azurite { get; private set; } = null!;
    public OidcIssuerProcess Issuer { get; private set; } = null!;
    public Uri SiloAddress { get; private set; } = null!;
    public RecordingApi Api { get; private set; } = null!;

    /// <summary>Governance calls (agents, grants, policy) as an admin.</summary>
    public AuthzClient AdminClient { get; private set; } = null!;

    /// <summary>Someone who may approve held calls (never the agent, its owner or the requester).</summary>
    public AuthzClient ApproverClient { get; private set; } = null!;

    public static IssuerClient AgentClient(string agentId) =>
        new($"agent-{agentId}", $"agent-{agentId}-secret", Subject: $"agent-{agentId}", Roles: ["agent"], AgentId: agentId);

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteServer.StartAsync();
        Issuer = await OidcIssuerProcess.StartAsync([Admin, Approver, EnforcementPoint, .. AgentIds.Select(AgentClient)]);
        var serviceId = "enforcement-" + Guid.NewGuid().ToString("N")[..10];
        silo = SiloHost.Build(LoopbackHosts.SiloArguments(Azurite, serviceId, "Production", [.. Issuer.SiloArguments]),
            builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        SiloAddress = await silo.StartOnLoopbackAsync();
        AdminClient = ClientAs(Admin);
        ApproverClient = ClientAs(Approver);
        await AdminClient.PublishPolicyAsync(new PublishPolicyRequest(await TestPolicy.TextAsync(), Schema: null, Note: "enforcement tests"));
        Api = await RecordingApi.StartAsync();
        owned.Add(Api);
    }

    public async Task DisposeAsync()
    {
        for (var i = owned.Count - 1; i >= 0; i--)
        {
            try { await owned[i].DisposeAsync(); }
            catch (Exception) { /* best effort: the next resource must still be released */ }
        }
        if (silo is not null)
        {
            await silo.StopAsync();
            await silo.DisposeAsync();
        }
        if (Issuer is not null) await Issuer.DisposeAsync();
        if (Azurite is not null) await Azurite.DisposeAsync();
    }

    /// <summary>An SDK client for the silo whose tokens come from the issuer as <paramref name="client"/>.</summary>
    public AuthzClient ClientAs(IssuerClient client)
    {
        var http = new HttpClient { BaseAddress = SiloAddress, Timeout = TimeSpan.FromSeconds(60) };
        return new AuthzClient(http, new ClientCredentialsTokenSource(http, Issuer.Authority, client.ClientId, client.Secret));
    }

    /// <summary>Registers <paramref name="agentId"/> (once per run) with a delegation for <paramref name="actions"/> on any resource of the given types.</summary>
    public async Task RegisterAgentAsync(string agentId, IReadOnlyList<string> actions, IReadOnlyList<string> resourceTypes)
    {
        Assert.Contains(agentId, AgentIds);
        await AdminClient.RegisterAgentAsync(new RegisterAgentRequest(agentId, agentId, "owner@example.com", "research"));
        await AdminClient.GrantDelegationAsync(agentId, new GrantDelegationRequest(actions, [.. resourceTypes.Select(t => t + "::*")],
            DateTimeOffset.UtcNow.AddHours(2), "enforcement tests"));
    }

    /// <summary>A bearer token for the agent, from the issuer.</summary>
    public Task<string> AgentTokenAsync(string agentId) => Issuer.GetTokenAsync(AgentClient(agentId));

    /// <summary>The agent's sessions (through the fleet index), each with its timeline.</summary>
    public async Task<IReadOnlyList<Session>> SessionsOfAsync(string agentId)
    {
        using var http = new HttpClient { BaseAddress = SiloAddress };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", await Issuer.GetTokenAsync(Admin));
        var page = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync($"v1/agents/{Uri.EscapeDataString(agentId)}/sessions?limit=100"))!;
        var sessions = new List<Session>();
        foreach (var entry in page["sessions"]!.AsArray())
        {
            sessions.Add(await AdminClient.GetSessionAsync(entry!["id"]!.GetValue<string>()));
        }
        return sessions;
    }

    /// <summary>The one pending approval request of <paramref name="agentId"/>, once it exists.</summary>
    public async Task<ApprovalSummary> PendingApprovalOfAsync(string agentId) =>
        (await Eventually.UntilAsync($"a pending approval request of agent {agentId}",
            async () => (await ApproverClient.ListApprovalsAsync(status: "pending")).Where(a => a.AgentId == agentId).ToArray(),
            pending => pending.Length == 1,
            describe: pending => $"{pending.Length} pending")).Single();

    /// <summary>Keeps <paramref name="resource"/> until the environment is disposed.</summary>
    public T Own<T>(T resource) where T : IAsyncDisposable
    {
        lock (owned) owned.Add(resource);
        return resource;
    }
}

[CollectionDefinition(Name)]
public sealed class EnforcementCollection : ICollectionFixture<EnforcementEnvironment>
{
    public const string Name = "enforcement";
}
