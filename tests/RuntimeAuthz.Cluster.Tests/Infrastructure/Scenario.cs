using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Cluster.Tests.Infrastructure;

/// <summary>Creates agents and sessions through the grains, asserting each step succeeded.</summary>
public sealed class Scenario(IGrainFactory grains, Func<DateTimeOffset> now)
{
    public static readonly string[] ExampleActions = ["read_file", "search_web", "send_payment", "delete_database"];
    public static readonly string[] ExampleResources = ["Document::*", "WebSearch::*", "Account::*", "Database::*"];

    public IGrainFactory Grains { get; } = grains;

    public async Task<string> NewAgentAsync(string fleet = "research", string[]? actions = null, string[]? resources = null, TimeSpan? delegationFor = null)
    {
        var id = "agent-" + Guid.NewGuid().ToString("N")[..10];
        var agent = Grains.GetGrain<IAgentGrain>(id);
        var registered = await agent.Register(new AgentRegistration { Name = "Test agent", Owner = "owner@example.com", Fleet = fleet });
        Assert.True(registered.IsSuccess, registered.Message);
        if (actions is { Length: 0 }) return id;
        var granted = await agent.AddDelegation(new DelegationGrant
        {
            Actions = actions ?? ExampleActions,
            Resources = resources ?? ExampleResources,
            GrantedBy = "governance@example.com",
            ExpiresAt = now() + (delegationFor ?? TimeSpan.FromDays(30)),
        });
        Assert.True(granted.IsSuccess, granted.Message);
        return id;
    }

    public async Task<string> OpenSessionAsync(string agentId, TimeSpan? lifetime = null, TimeSpan? idle = null)
    {
        var id = "session-" + Guid.NewGuid().ToString("N")[..12];
        var opened = await Grains.GetGrain<IAgentSessionGrain>(id).Open(new SessionOpenRequest
        {
            AgentId = agentId, Lifetime = lifetime ?? TimeSpan.FromHours(1), IdleTimeout = idle ?? TimeSpan.FromMinutes(15),
        });
        Assert.True(opened.IsSuccess, opened.Message);
        return id;
    }

    public Task<AuthzDecision> DecideAsync(string sessionId, string action, string resourceType, string resourceId,
        string? properties = null, string? input = null, string? agentId = null, string? context = null) =>
        Grains.GetGrain<IAgentSessionGrain>(sessionId).Decide(new DecisionRequest
        {
            AgentId = agentId, Action = action, ResourceType = resourceType, ResourceId = resourceId,
            ResourcePropertiesJson = properties, InputJson = input, ContextJson = context,
        });

    public Task<AuthzDecision> ReadOwnDocumentAsync(string sessionId, string fleet = "research") =>
        DecideAsync(sessionId, "read_file", "Document", "doc-1", properties: $$"""{"fleet":"{{fleet}}"}""");
}
