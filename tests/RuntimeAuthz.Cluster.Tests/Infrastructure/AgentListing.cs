using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Cluster.Tests.Infrastructure;

/// <summary>Walks every page of the agent listing, as a client of a large fleet would.</summary>
public static class AgentListing
{
    public static async Task<List<string>> AllIdsAsync(IGrainFactory grains, int pageSize = AgentDirectoryLimits.MaxPageSize)
    {
        var ids = new List<string>();
        string? continuation = null;
        do
        {
            var page = await grains.GetGrain<IAgentDirectoryGrain>(0).List(pageSize, continuation);
            Assert.True(page.IsSuccess, page.Message);
            ids.AddRange(page.Value!.AgentIds);
            continuation = page.Value.Continuation;
        }
        while (continuation is not null);
        return ids;
    }

    /// <summary>Every agent object of <c>GET /v1/agents</c>, page by page; asserts no page is larger than <paramref name="limit"/>.</summary>
    public static async Task<List<JsonNode>> AllOverHttpAsync(HttpClient http, int limit = AgentDirectoryLimits.MaxPageSize)
    {
        var agents = new List<JsonNode>();
        string? continuation = null;
        do
        {
            var reply = await http.GetJsonAsync($"/v1/agents?limit={limit}" + (continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation)));
            Assert.Equal(System.Net.HttpStatusCode.OK, reply.Status);
            var page = reply.Json["agents"]!.AsArray();
            Assert.True(page.Count <= limit, $"a page of {page.Count} agents for limit {limit}");
            agents.AddRange(page.Select(a => a!));
            continuation = reply.Json["continuation"]?.GetValue<string>();
        }
        while (continuation is not null);
        return agents;
    }
}
