using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Fleet;

namespace RuntimeAuthz.Cluster.Tests;

/// <summary>The fleet index: agents listed through paged table queries (real silo host, Azurite, HTTP).</summary>
[Collection(ClusterCollection.Name)]
public sealed class FleetIndexTests(ClusterEnvironment env)
{
    [Fact]
    public async Task Paging_through_the_agents_returns_every_agent_exactly_once()
    {
        // A service of its own, so the fleet is exactly the agents registered here.
        var host = await env.StartHostAsync("fleet-" + Guid.NewGuid().ToString("N")[..12], seed: false);
        var grains = host.App.Services.GetRequiredService<IGrainFactory>();
        var registered = Enumerable.Range(0, 130).Select(i => $"fleet-agent-{i:D3}").ToArray();
        foreach (var chunk in registered.Chunk(32))
        {
            var results = await Task.WhenAll(chunk.Select(id => grains.GetGrain<IAgentGrain>(id).Register(new AgentRegistration { Name = id, Owner = "o", Fleet = "f" })));
            Assert.All(results, r => Assert.True(r.IsSuccess, r.Message));
        }

        var overHttp = await AgentListing.AllOverHttpAsync(host.Http, limit: 7);
        var throughGrains = await AgentListing.AllIdsAsync(grains, pageSize: 50);
        var firstPage = await host.Http.GetJsonAsync("/v1/agents");

        var ids = overHttp.Select(a => a["id"]!.GetValue<string>()).ToArray();
        Assert.Equal(registered.Length, ids.Length);
        Assert.Equal(registered.Order(StringComparer.Ordinal), ids.Order(StringComparer.Ordinal));
        Assert.All(overHttp, a => Assert.Equal("active", a["status"]!.GetValue<string>()));
        Assert.Equal(ids, throughGrains);
        // Without a limit: the default page size, and a continuation because more agents remain.
        Assert.Equal(AgentDirectoryLimits.DefaultPageSize, firstPage.Json["agents"]!.AsArray().Count);
        Assert.NotNull(firstPage.Json["continuation"]);
    }

    [Fact]
    public async Task A_page_that_reaches_the_end_has_no_continuation()
    {
        var host = await env.StartHostAsync("fleet-" + Guid.NewGuid().ToString("N")[..12], seed: false);
        var grains = host.App.Services.GetRequiredService<IGrainFactory>();
        Assert.Empty((await host.Http.GetJsonAsync("/v1/agents")).Json["agents"]!.AsArray());
        await grains.GetGrain<IAgentGrain>("only-agent").Register(new AgentRegistration { Name = "n", Owner = "o", Fleet = "f" });

        var page = await host.Http.GetJsonAsync("/v1/agents?limit=10");

        Assert.Equal("only-agent", Assert.Single(page.Json["agents"]!.AsArray())!["id"]!.GetValue<string>());
        Assert.Null(page.Json["continuation"]);
    }

    [Fact]
    public async Task Agents_of_the_one_row_directory_of_earlier_versions_are_listed_and_the_row_emptied()
    {
        var host = await env.StartHostAsync("fleet-" + Guid.NewGuid().ToString("N")[..12], seed: false);
        var grains = host.App.Services.GetRequiredService<IGrainFactory>();
        var storage = host.App.Services.GetRequiredKeyedService<IGrainStorage>(AuthzStorage.ProviderName);
        // State as an earlier version left it: identity rows, and their ids only in the directory row.
        string[] old = ["old-agent-1", "old-agent-2"];
        foreach (var id in old)
        {
            var agent = new AgentInfo { Id = id, Name = id, Owner = "o", Fleet = "f", Status = AgentStatus.Active, RegisteredAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow };
            await storage.WriteStateAsync("agent", grains.GetGrain<IAgentGrain>(id).GetGrainId(), new GrainState<AgentState>(new AgentState { Agent = agent }));
        }
        var directoryId = grains.GetGrain<IAgentDirectoryGrain>(0).GetGrainId();
        await storage.WriteStateAsync("agentDirectory", directoryId, new GrainState<AgentDirectoryState>(new AgentDirectoryState { AgentIds = old }));
        await grains.GetGrain<IAgentGrain>("new-agent").Register(new AgentRegistration { Name = "n", Owner = "o", Fleet = "f" });

        var listed = await AgentListing.AllOverHttpAsync(host.Http, limit: 2);

        Assert.Equal(["new-agent", .. old], listed.Select(a => a["id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        var legacy = new GrainState<AgentDirectoryState>(new AgentDirectoryState());
        await storage.ReadStateAsync("agentDirectory", directoryId, legacy);
        Assert.Empty(legacy.State?.AgentIds ?? []);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("limit=-5")]
    [InlineData("limit=ten")]
    [InlineData("limit=1.5")]
    [InlineData("limit=")]
    [InlineData("limit=5&limit=6")]
    public async Task A_bad_limit_is_a_400(string query)
    {
        var http = (await env.GetSharedHostAsync()).Http;
        Assert.Contains("limit", (await http.GetJsonAsync("/v1/agents?" + query)).AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not base64 at all!")]
    [InlineData("")]
    [InlineData("YTF8OTl8eA")] // "a1|99|x": a shard that does not exist
    [InlineData("YjF8MXx4")] // "b1|1|x": an unknown version
    [InlineData("YTF8MXw")] // "a1|1|": no position
    [InlineData("_w")] // not UTF-8
    public async Task A_continuation_the_service_did_not_issue_is_a_400(string continuation)
    {
        var http = (await env.GetSharedHostAsync()).Http;
        var reply = await http.GetJsonAsync("/v1/agents?limit=5&continuation=" + Uri.EscapeDataString(continuation));
        Assert.Contains("continuation", reply.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_repeated_continuation_is_a_400()
    {
        var http = (await env.GetSharedHostAsync()).Http;
        var continuation = Convert.ToBase64String(Encoding.UTF8.GetBytes("a1|0|x")).TrimEnd('=');
        var reply = await http.GetJsonAsync($"/v1/agents?continuation={continuation}&continuation={continuation}");
        Assert.Contains("continuation", reply.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agents_sessions_are_found_page_by_page_and_no_other_agents()
    {
        var host = await env.StartHostAsync("fleet-" + Guid.NewGuid().ToString("N")[..12], seed: false);
        var grains = host.App.Services.GetRequiredService<IGrainFactory>();
        foreach (var id in new[] { "busy-agent", "other-agent" })
            Assert.True((await grains.GetGrain<IAgentGrain>(id).Register(new AgentRegistration { Name = id, Owner = "o", Fleet = "f" })).IsSuccess);
        var opened = new List<string>();
        for (var i = 0; i < 11; i++)
        {
            var reply = await host.Http.PostJsonAsync("/v1/sessions", """{"agentId":"busy-agent"}""");
            Assert.Equal(HttpStatusCode.Created, reply.Status);
            opened.Add(reply.Json["id"]!.GetValue<string>());
        }
        Assert.Equal(HttpStatusCode.Created, (await host.Http.PostJsonAsync("/v1/sessions", """{"agentId":"other-agent"}""")).Status);

        var found = new List<string>();
        string? continuation = null;
        var pages = 0;
        do
        {
            var page = await host.Http.GetJsonAsync("/v1/agents/busy-agent/sessions?limit=4" + (continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation)));
            Assert.Equal(HttpStatusCode.OK, page.Status);
            var sessions = page.Json["sessions"]!.AsArray();
            Assert.InRange(sessions.Count, 0, 4);
            Assert.All(sessions, s => Assert.True(s!["openedAt"]!.GetValue<DateTimeOffset>() > DateTimeOffset.UtcNow.AddHours(-1)));
            found.AddRange(sessions.Select(s => s!["id"]!.GetValue<string>()));
            continuation = page.Json["continuation"]?.GetValue<string>();
            pages++;
        }
        while (continuation is not null);
        var agentContinuation = (await host.Http.GetJsonAsync("/v1/agents?limit=1")).Json["continuation"]!.GetValue<string>();
        var crossed = await host.Http.GetJsonAsync("/v1/agents/busy-agent/sessions?continuation=" + Uri.EscapeDataString(agentContinuation));
        var badLimit = await host.Http.GetJsonAsync("/v1/agents/busy-agent/sessions?limit=0");

        Assert.Equal(opened.Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
        Assert.True(pages >= 3, $"{pages} pages for 11 sessions at 4 per page");
        Assert.Contains("continuation", crossed.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("limit", badLimit.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Empty((await host.Http.GetJsonAsync("/v1/agents/never-registered/sessions")).Json["sessions"]!.AsArray());
    }

    [Fact]
    public async Task Concurrent_listings_of_agents_share_transactions_and_a_repeated_id_is_one_row()
    {
        var host = await env.StartHostAsync("fleet-" + Guid.NewGuid().ToString("N")[..12], seed: false);
        var index = host.App.Services.GetRequiredService<FleetIndex>();
        var ids = Enumerable.Range(0, 400).Select(i => $"burst-{i:D3}").ToArray();

        // Every id twice, all at once: most meet others of their shard in flight, some themselves.
        await Task.WhenAll(ids.Concat(ids).Select(id => index.AddAgentAsync(id)));

        var listed = new List<string>();
        string? continuation = null;
        do
        {
            var page = await index.ListAgentsAsync(97, continuation);
            Assert.True(page.IsSuccess, page.Message);
            listed.AddRange(page.Value!.AgentIds);
            continuation = page.Value.Continuation;
        }
        while (continuation is not null);
        Assert.Equal(ids, listed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Keys_escape_the_characters_table_storage_refuses()
    {
        Assert.Equal("plain-id_1.x:y@z", FleetIndex.EscapeKey("plain-id_1.x:y@z"));
        Assert.Equal("a%2Fb%5Cc%23d%3Fe%25f%0Ag", FleetIndex.EscapeKey("a/b\\c#d?e%f\ng"));
        Assert.NotEqual(FleetIndex.EscapeKey("a%2Fb"), FleetIndex.EscapeKey("a/b"));
    }
}
