using System.Net;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Console.Tests;

/// <summary>An agent the test registered, with its own token, acting as an agent does: sessions and decisions over HTTP.</summary>
public sealed class TestAgent(string id, Api token)
{
    public string Id => id;
    public Api Calls => token;

    /// <summary>Registers a new agent (id with a unique suffix) in the "research" fleet and grants it <paramref name="actions"/> on every resource.</summary>
    public static async Task<TestAgent> RegisterAsync(ConsoleFixture fixture, string name, params string[] actions)
    {
        var id = $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];
        await fixture.Admin.ExpectAsync(HttpStatusCode.Created, fixture.Admin.PostAsync("v1/agents", new JsonObject
        {
            ["id"] = id, ["name"] = name, ["owner"] = "owner@example.com", ["fleet"] = "research",
        }));
        if (actions.Length > 0) await GrantAsync(fixture.Admin, id, actions);
        return new TestAgent(id, await fixture.TokenAsync(id, "agent", agentId: id));
    }

    /// <summary>
    /// Fields of a grant sub-delegated by <paramref name="delegator"/> from its <paramref name="parentGrant"/>, ending before the parent
    /// as it must: 10 minutes earlier per link of <paramref name="depth"/> (grants made here end 2 hours from now).
    /// </summary>
    public static JsonObject DerivedFrom(string delegator, string parentGrant, int depth = 1) => new()
    {
        ["delegatorAgentId"] = delegator, ["parentGrantId"] = parentGrant,
        ["expiresAt"] = DateTimeOffset.UtcNow.AddHours(2).AddMinutes(-10 * depth).ToString("O"),
    };

    public static async Task<string> GrantAsync(Api governance, string agentId, string[] actions, JsonObject? more = null)
    {
        var body = new JsonObject
        {
            ["actions"] = new JsonArray([.. actions.Select(a => JsonValue.Create(a))]), ["resources"] = new JsonArray("*"),
            ["expiresAt"] = DateTimeOffset.UtcNow.AddHours(2).ToString("O"), ["purpose"] = "console test",
        };
        foreach (var (key, value) in more ?? []) body[key] = value?.DeepClone();
        return (await governance.ExpectAsync(HttpStatusCode.Created, governance.PostAsync($"v1/agents/{agentId}/grants", body))).Text("id");
    }

    public async Task<string> OpenSessionAsync() =>
        (await token.ExpectAsync(HttpStatusCode.Created, token.PostAsync("v1/sessions", new JsonObject { ["agentId"] = id }))).Text("id");

    /// <summary>One decision in the session; the answer's JSON (outcome, denyReason, approval, ...).</summary>
    public async Task<JsonNode> DecideAsync(string session, string action, string resourceType, string resourceId, JsonObject? input = null, string? approvalId = null)
    {
        var body = new JsonObject
        {
            ["action"] = action,
            ["resource"] = new JsonObject { ["type"] = resourceType, ["id"] = resourceId, ["properties"] = new JsonObject { ["fleet"] = "research" } },
        };
        if (input is not null) body["input"] = input.DeepClone();
        if (approvalId is not null) body["approvalId"] = approvalId;
        return (await token.ExpectAsync(HttpStatusCode.OK, token.PostAsync($"v1/sessions/{session}/decisions", body))).Body;
    }
}
