using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Sessions;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Cluster.Tests;

/// <summary>
/// Session search (<c>GET /v1/sessions</c>) on two real silo hosts forming one cluster through Azure
/// table membership on Azurite: sessions opened, decided and closed over HTTP on either host, and
/// index rows seeded in bulk for paging at scale.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SessionSearchTests(ClusterEnvironment env)
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static (ClusterEnvironment Env, RunningHost First, RunningHost Second)? cluster;

    /// <summary>Two hosts of one service, started once for these tests; the first seeds the example policy.</summary>
    private async Task<(RunningHost First, RunningHost Second)> HostsAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (cluster is not { } started || started.Env != env)
            {
                var id = "search-" + Guid.NewGuid().ToString("N")[..10];
                string[] Args(bool seed) =>
                [
                    .. env.HostArgs(id, "Production", "--Orleans:Clustering:ProviderType=AzureTableStorage", "--Orleans:AdvertisedIPAddress=127.0.0.1",
                        $"--Seed:Example={seed}", $"--Seed:Directory={RepoPaths.Examples}"),
                ];
                var first = await env.StartHostAsync(Args(seed: true));
                var second = await env.StartHostAsync(Args(seed: false));
                cluster = started = (env, first, second);
            }
            return (started.First, started.Second);
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task RegisterAsync(HttpClient http, string agentId, string fleet, bool mayUseSearch)
    {
        var registered = await http.PostJsonAsync("/v1/agents", $$"""{"id":"{{agentId}}","name":"n","owner":"o","fleet":"{{fleet}}"}""");
        Assert.Equal(HttpStatusCode.Created, registered.Status);
        if (!mayUseSearch) return;
        var expires = DateTimeOffset.UtcNow.AddDays(1).ToString("O");
        var granted = await http.PostJsonAsync($"/v1/agents/{agentId}/delegations", $$"""{"actions":["search_web"],"resources":["WebSearch::*"],"expiresAt":"{{expires}}"}""");
        Assert.Equal(HttpStatusCode.Created, granted.Status);
    }

    private static async Task<string> OpenAsync(HttpClient http, string agentId)
    {
        var opened = await http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{agentId}}"}""");
        Assert.Equal(HttpStatusCode.Created, opened.Status);
        return opened.Json["id"]!.GetValue<string>();
    }

    private static async Task<JsonNode> DecideAsync(HttpClient http, string sessionId, string action = "search_web") =>
        (await http.PostJsonAsync($"/v1/sessions/{sessionId}/decisions", $$$"""{"action":"{{{action}}}","resource":{"type":"WebSearch","id":"q"}}""")).Json;

    private static async Task<JsonArray> ItemsAsync(HttpClient http, string query)
    {
        var reply = await http.GetJsonAsync("/v1/sessions?" + query);
        Assert.True(reply.Status == HttpStatusCode.OK, $"{query}: {(int)reply.Status} {reply.Body?.ToJsonString()}");
        return reply.Json["items"]!.AsArray();
    }

    private static string[] Ids(JsonArray items) => [.. items.Select(i => i!["sessionId"]!.GetValue<string>())];

    private static Task<string[]> IdsWhenAsync(HttpClient http, string query, Func<string[], bool> done) =>
        Eventually.UntilAsync($"sessions for {query}", async () => Ids(await ItemsAsync(http, query)), done, describe: ids => "[" + string.Join(", ", ids) + "]");

    private static string Q(DateTimeOffset at) => Uri.EscapeDataString(at.ToString("O"));

    [Fact]
    public async Task Each_filter_finds_the_sessions_it_names_and_no_others()
    {
        var (first, second) = await HostsAsync();
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (fleet, otherFleet) = ($"filters-{tag}", $"filters-other-{tag}");
        var (risky, denied, idle) = ($"risky-{tag}", $"denied-{tag}", $"idle-{tag}");
        await RegisterAsync(first.Http, risky, fleet, mayUseSearch: true);
        await RegisterAsync(first.Http, denied, fleet, mayUseSearch: false);
        await RegisterAsync(first.Http, idle, otherFleet, mayUseSearch: false);

        // Opened on one host, decided on the other: the session grain lives wherever the cluster put it.
        var riskySession = await OpenAsync(first.Http, risky);
        var deniedSession = await OpenAsync(second.Http, denied);
        var closedSession = await OpenAsync(first.Http, denied);
        var beforeIdle = DateTimeOffset.UtcNow;
        var idleSession = await OpenAsync(second.Http, idle);
        var allowed = await DecideAsync(second.Http, riskySession);
        Assert.Equal("Allow", allowed["outcome"]!.GetValue<string>());
        var refused = await DecideAsync(first.Http, deniedSession);
        Assert.Equal("Deny", refused["outcome"]!.GetValue<string>());
        var policyVersion = refused["policyVersion"]!.GetValue<long>();
        Assert.Equal(HttpStatusCode.OK, (await second.Http.PostJsonAsync($"/v1/sessions/{closedSession}/close", """{"reason":"done"}""")).Status);

        // The decisions' index writes are in the background: wait until both are visible.
        await IdsWhenAsync(first.Http, $"fleet={fleet}&minRisk=1", ids => ids.Length == 1);
        await IdsWhenAsync(first.Http, $"fleet={fleet}&hasDenies=true", ids => ids.Length == 1);

        Assert.Equal([riskySession], Ids(await ItemsAsync(second.Http, $"fleet={fleet}&minRisk=5")));
        Assert.Empty(await ItemsAsync(second.Http, $"fleet={fleet}&minRisk=6"));
        Assert.Equal([deniedSession], Ids(await ItemsAsync(first.Http, $"agent={denied}&hasDenies=true")));
        Assert.Equal([closedSession], Ids(await ItemsAsync(first.Http, $"agent={denied}&hasDenies=false")));
        Assert.Equal([closedSession], Ids(await ItemsAsync(first.Http, $"fleet={fleet}&status=closed")));
        Assert.Equal(new[] { riskySession, deniedSession }.Order(), Ids(await ItemsAsync(first.Http, $"fleet={fleet}&status=open")).Order());
        Assert.Empty(await ItemsAsync(first.Http, $"fleet={fleet}&status=expired"));
        Assert.Equal([idleSession], Ids(await ItemsAsync(second.Http, $"fleet={otherFleet}")));
        Assert.Equal([idleSession], Ids(await ItemsAsync(second.Http, $"agent={idle}&fleet={otherFleet}")));
        Assert.Empty(await ItemsAsync(second.Http, $"agent={idle}&fleet={fleet}"));
        Assert.Equal(new[] { riskySession, deniedSession }.Order(), Ids(await ItemsAsync(first.Http, $"fleet={fleet}&policyVersion={policyVersion}")).Order());
        Assert.Empty(await ItemsAsync(first.Http, $"fleet={fleet}&policyVersion={policyVersion + 1000}"));
        Assert.Equal([idleSession], Ids(await ItemsAsync(first.Http, $"fleet={otherFleet}&openedAfter={Q(beforeIdle)}")));
        Assert.Empty(await ItemsAsync(first.Http, $"fleet={otherFleet}&openedBefore={Q(beforeIdle)}"));
        Assert.Equal(3, (await ItemsAsync(first.Http, $"fleet={fleet}&openedBefore={Q(beforeIdle)}")).Count);

        // Service-wide (no agent or fleet): the time-bucketed partitions, bounded by activity.
        var everything = Ids(await ItemsAsync(first.Http, $"activeAfter={Q(beforeIdle.AddMinutes(-5))}&limit=500"));
        Assert.Superset(new HashSet<string>([riskySession, deniedSession, closedSession, idleSession]), everything.ToHashSet());
        Assert.DoesNotContain(idleSession, Ids(await ItemsAsync(first.Http, $"activeBefore={Q(beforeIdle)}&activeAfter={Q(beforeIdle.AddMinutes(-5))}&limit=500")));

        // The summary: exactly the documented fields, with the session's counters.
        var summary = (await ItemsAsync(first.Http, $"agent={risky}")).Single()!.AsObject();
        Assert.Equal(["agentId", "cumulativeRisk", "decisions", "denies", "fleet", "lastActivityAt", "lastPolicyVersion", "openedAt", "sessionId", "status"],
            summary.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal((riskySession, risky, fleet, "open", 5L, 1L, 0L, policyVersion),
            (summary["sessionId"]!.GetValue<string>(), summary["agentId"]!.GetValue<string>(), summary["fleet"]!.GetValue<string>(), summary["status"]!.GetValue<string>(),
             summary["cumulativeRisk"]!.GetValue<long>(), summary["decisions"]!.GetValue<long>(), summary["denies"]!.GetValue<long>(), summary["lastPolicyVersion"]!.GetValue<long>()));
        var page = await first.Http.GetJsonAsync($"/v1/sessions?agent={risky}");
        Assert.True(page.Json.AsObject().ContainsKey("continuation"));
        Assert.Null(page.Json["continuation"]);
    }

    [Fact]
    public async Task Sessions_come_newest_activity_first_and_an_open_session_past_its_idle_deadline_is_expired()
    {
        var (first, second) = await HostsAsync();
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (agent, fleet) = ($"order-{tag}", $"order-fleet-{tag}");
        await RegisterAsync(first.Http, agent, fleet, mayUseSearch: true);
        var older = await OpenAsync(first.Http, agent);
        var newer = await OpenAsync(second.Http, agent);
        var shortLived = (await first.Http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{agent}}","idleTimeoutSeconds":1}""")).Json["id"]!.GetValue<string>();
        Assert.Equal([shortLived, newer, older], Ids(await ItemsAsync(first.Http, $"agent={agent}")));

        // A decision in the oldest session makes it the most recently active one.
        Assert.Equal("Allow", (await DecideAsync(second.Http, older))["outcome"]!.GetValue<string>());
        await IdsWhenAsync(first.Http, $"agent={agent}", ids => ids.Length == 3 && ids[0] == older);
        // Nobody touches the short-lived session again: past its idle deadline, search reports it expired.
        var expired = await IdsWhenAsync(first.Http, $"fleet={fleet}&status=expired", ids => ids.Length == 1);
        Assert.Equal([shortLived], expired);
        Assert.Equal([older, newer], Ids(await ItemsAsync(second.Http, $"fleet={fleet}&status=open")));
    }

    [Fact]
    public async Task Paging_over_ten_thousand_sessions_returns_every_session_exactly_once_newest_activity_first()
    {
        var (first, second) = await HostsAsync();
        var tag = Guid.NewGuid().ToString("N")[..8];
        var fleet = $"paging-{tag}";
        var live = $"paging-live-{tag}";
        await RegisterAsync(first.Http, live, fleet, mayUseSearch: true);
        var real = new[] { await OpenAsync(first.Http, live), await OpenAsync(second.Http, live), await OpenAsync(first.Http, live) };

        // 10,000 index rows over 50 agents and the last three days (so several day partitions), written in batch transactions.
        var now = DateTimeOffset.UtcNow;
        var start = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, now.Second, TimeSpan.Zero).AddMinutes(-10);
        var seeded = Enumerable.Range(0, 10_000).Select(i =>
        {
            var lastActivity = start.AddSeconds(-(i / 2) * 52L); // pairs of equal times (ordered by id), over three days
            return new SessionIndexEntry
            {
                SessionId = $"seeded-{tag}-{i:D5}", AgentId = $"seeded-agent-{tag}-{i % 50:D2}", Fleet = fleet,
                Status = i % 3 == 0 ? SessionStatus.Closed : SessionStatus.Open,
                OpenedAt = lastActivity.AddMinutes(-5), LastActivityAt = lastActivity, UsableUntil = lastActivity.AddMinutes(15),
                CumulativeRisk = i % 100, Decisions = i % 7, Denies = i % 5 == 0 ? 1 : 0, LastPolicyVersion = 1,
            };
        }).ToArray();
        await first.App.Services.GetRequiredService<SessionIndex>().BulkWriteAsync(seeded, parallelism: 8);
        var expectedSeeded = seeded.OrderByDescending(s => s.LastActivityAt).ThenBy(s => s.SessionId, StringComparer.Ordinal).Select(s => s.SessionId).ToArray();

        var (items, pages) = await AllPagesAsync(first.Http, second.Http, $"fleet={fleet}&limit=500");

        var ids = items.Select(i => i.Id).ToArray();
        Assert.Equal(10_003, ids.Length);
        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.Equal(expectedSeeded.Concat(real).Order(StringComparer.Ordinal), ids.Order(StringComparer.Ordinal));
        Assert.Equal(expectedSeeded, ids.Where(id => id.StartsWith("seeded-", StringComparison.Ordinal)));
        Assert.Equal(real.Order(), ids.Take(3).Order()); // opened just now: newer than every seeded row
        Assert.True(items.Zip(items.Skip(1)).All(p => p.First.LastActivity >= p.Second.LastActivity), "not newest activity first");
        Assert.Equal(21, pages);

        // A filtered search pages the same way: only closed sessions with denies (i % 15 == 0), each once.
        var (filtered, _) = await AllPagesAsync(first.Http, second.Http, $"fleet={fleet}&status=closed&hasDenies=true&limit=97");
        Assert.Equal(expectedSeeded.Where(id => int.Parse(id[^5..]) % 15 == 0), filtered.Select(i => i.Id));
        // One agent's partition: 200 seeded sessions, small pages.
        var (oneAgent, agentPages) = await AllPagesAsync(first.Http, second.Http, $"agent=seeded-agent-{tag}-07&limit=9");
        Assert.Equal(expectedSeeded.Where(id => int.Parse(id[^5..]) % 50 == 7), oneAgent.Select(i => i.Id));
        Assert.Equal(23, agentPages);
    }

    private static async Task<(List<(string Id, DateTimeOffset LastActivity)> Items, int Pages)> AllPagesAsync(HttpClient one, HttpClient other, string query)
    {
        var items = new List<(string, DateTimeOffset)>();
        string? continuation = null;
        var pages = 0;
        do
        {
            // Alternate hosts: a continuation from one silo is good on any other.
            var http = pages % 2 == 0 ? one : other;
            var reply = await http.GetJsonAsync("/v1/sessions?" + query + (continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation)));
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            items.AddRange(reply.Json["items"]!.AsArray().Select(i => (i!["sessionId"]!.GetValue<string>(), i["lastActivityAt"]!.GetValue<DateTimeOffset>())));
            continuation = reply.Json["continuation"]?.GetValue<string>();
            pages++;
        }
        while (continuation is not null);
        return (items, pages);
    }

    [Theory]
    [InlineData("status=paused", "status")]
    [InlineData("status=", "status")]
    [InlineData("status=open&status=closed", "status")]
    [InlineData("openedAfter=yesterday", "openedAfter")]
    [InlineData("openedBefore=2030-01-01T08:00:00", "openedBefore")] // no offset
    [InlineData("activeAfter=1900-01-01T00:00:00Z", "activeAfter")]
    [InlineData("activeBefore=2030-13-01T00:00:00Z", "activeBefore")]
    [InlineData("activeAfter=2030-01-02T00:00:00Z&activeBefore=2030-01-01T00:00:00Z", "activeAfter")]
    [InlineData("openedAfter=2030-01-01T00:00:00Z&openedBefore=2030-01-01T00:00:00Z", "openedAfter")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=501", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("minRisk=-1", "minRisk")]
    [InlineData("minRisk=1.5", "minRisk")]
    [InlineData("policyVersion=v3", "policyVersion")]
    [InlineData("hasDenies=yes", "hasDenies")]
    [InlineData("agent=not%20an%20id", "agent")]
    [InlineData("fleet=a%0Ab", "fleet")]
    [InlineData("agnt=demo-agent", "unknown query parameter 'agnt'")]
    [InlineData("continuation=not%20base64!", "continuation")]
    [InlineData("continuation=", "continuation")]
    public async Task Bad_input_is_a_400_naming_what_is_wrong(string query, string named)
    {
        var (first, _) = await HostsAsync();
        var detail = (await first.Http.GetJsonAsync("/v1/sessions?" + query)).AssertProblem(HttpStatusCode.BadRequest);
        Assert.Contains(named, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tampered_continuation_or_one_of_another_search_is_a_400()
    {
        var (first, _) = await HostsAsync();
        var tag = Guid.NewGuid().ToString("N")[..8];
        var agent = $"tamper-{tag}";
        await RegisterAsync(first.Http, agent, $"tamper-fleet-{tag}", mayUseSearch: false);
        for (var i = 0; i < 3; i++) await OpenAsync(first.Http, agent);
        var token = (await first.Http.GetJsonAsync($"/v1/sessions?agent={agent}&limit=1")).Json["continuation"]!.GetValue<string>();
        Assert.Single(await ItemsAsync(first.Http, $"agent={agent}&limit=1&continuation={Uri.EscapeDataString(token)}"));

        var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/').PadRight((token.Length + 3) / 4 * 4, '=')));
        // The same token with one digit of its position changed, re-encoded properly.
        var digit = decoded.IndexOfAny("0123456789".ToCharArray(), decoded.IndexOf('|', 3) + 1);
        var altered = decoded[..digit] + (decoded[digit] == '9' ? '8' : '9') + decoded[(digit + 1)..];
        var reencoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(altered)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        string[] refusedQueries =
        [
            $"agent={agent}&limit=1&continuation={Uri.EscapeDataString(reencoded)}",
            $"agent={agent}&limit=1&continuation={Uri.EscapeDataString(token[..^2])}",
            $"agent={agent}&status=open&limit=1&continuation={Uri.EscapeDataString(token)}", // another search's token
            $"limit=1&continuation={Uri.EscapeDataString(token)}",
        ];
        foreach (var query in refusedQueries)
            Assert.Contains("continuation", (await first.Http.GetJsonAsync("/v1/sessions?" + query)).AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Agent_and_pep_tokens_search_only_their_own_agents_sessions()
    {
        var (first, second) = await HostsAsync();
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (mine, theirs) = ($"mine-{tag}", $"theirs-{tag}");
        await RegisterAsync(first.Http, mine, $"perm-{tag}", mayUseSearch: false);
        await RegisterAsync(first.Http, theirs, $"perm-{tag}", mayUseSearch: false);
        var own = await OpenAsync(first.Http, mine);
        await OpenAsync(first.Http, theirs);
        var agent = first.AsAgent(mine);
        var pep = first.ClientWith(TestTokens.ForPep("search-gateway", mine));

        Assert.Equal([own], Ids(await ItemsAsync(agent, $"agent={mine}")));
        Assert.Equal([own], Ids(await ItemsAsync(pep, $"agent={mine}")));
        Assert.Contains(theirs, (await agent.GetJsonAsync($"/v1/sessions?agent={theirs}")).AssertProblem(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        Assert.Contains("agent=", (await agent.GetJsonAsync($"/v1/sessions?fleet=perm-{tag}")).AssertProblem(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        Assert.Contains("agent=", (await agent.GetJsonAsync("/v1/sessions")).AssertProblem(HttpStatusCode.Forbidden), StringComparison.Ordinal);
        (await pep.GetJsonAsync($"/v1/sessions?agent={theirs}")).AssertProblem(HttpStatusCode.Forbidden);
        // Governance manages agents but does not read sessions; responders, approvers and auditors search the whole service.
        (await second.As(Roles.Governance).GetJsonAsync($"/v1/sessions?agent={mine}")).AssertProblem(HttpStatusCode.Forbidden);
        foreach (var role in new[] { Roles.Responder, Roles.Approver, Roles.Auditor })
            Assert.Equal(2, (await ItemsAsync(second.As(role), $"fleet=perm-{tag}")).Count);
    }
}
