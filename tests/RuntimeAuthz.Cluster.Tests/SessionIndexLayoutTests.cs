using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Cluster.Tests;

/// <summary>
/// The session index's agent rows are sharded (layout 2): agents of one shard share a partition, each
/// agent's rows a key range starting with its id. An agent search must read exactly that range, also
/// for ids that are prefixes of one another, and a session that moved is listed once, at its new place.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class SessionIndexLayoutTests(ClusterEnvironment env)
{
    private static readonly DateTimeOffset Now = new(2031, 3, 4, 12, 0, 0, TimeSpan.Zero);

    private SessionIndex NewIndex(string serviceId) =>
        new(new TableServiceClient(env.Azurite.ConnectionString), Options.Create(new ClusterOptions { ServiceId = serviceId, ClusterId = "c" }));

    /// <summary>Agents of one shard, the first two ids a prefix of the others ("p", "p1", "p1x").</summary>
    private static string[] AgentsOfOneShard(string tag)
    {
        var root = $"p-{tag}";
        var shard = SessionIndex.AgentShardOf(root);
        var sameShard = Enumerable.Range(0, 2000).Select(i => root + i.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Where(id => SessionIndex.AgentShardOf(id) == shard).ToArray();
        var extended = sameShard.SelectMany(id => Enumerable.Range(0, 200).Select(j => id + "x" + j)).First(id => SessionIndex.AgentShardOf(id) == shard);
        var prefix = extended[..extended.IndexOf('x', root.Length)];
        return [root, prefix, extended, .. sameShard.Where(id => id != prefix).Take(3)];
    }

    private static SessionIndexEntry Entry(string agentId, string sessionId, DateTimeOffset lastActivity) => new()
    {
        SessionId = sessionId, AgentId = agentId, Fleet = "layout", Status = SessionStatus.Open,
        OpenedAt = lastActivity.AddMinutes(-1), LastActivityAt = lastActivity, UsableUntil = lastActivity.AddHours(1),
    };

    private static async Task<List<SessionIndexEntry>> AllPagesAsync(SessionIndex index, SessionSearchQuery query)
    {
        var all = new List<SessionIndexEntry>();
        for (string? continuation = null; ;)
        {
            var page = await index.SearchAsync(query with { Continuation = continuation }, Now);
            Assert.True(page.IsSuccess, page.Message);
            all.AddRange(page.Value!.Items);
            if ((continuation = page.Value.Continuation) is null) return all;
        }
    }

    [Fact]
    public async Task Agents_sharing_a_shard_each_find_only_their_own_sessions_newest_first_and_each_once()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var service = "layout-" + tag;
        var index = NewIndex(service);
        var agents = AgentsOfOneShard(tag);
        Assert.Equal(6, agents.Length);
        Assert.StartsWith(agents[1], agents[2], StringComparison.Ordinal);

        // Seven sessions per agent, their activity interleaved across agents, two of them tied (ordered by id).
        var entries = agents.SelectMany((agent, a) => Enumerable.Range(0, 7).Select(k =>
            Entry(agent, $"s-{tag}-{a}-{k}", Now.AddMinutes(-10).AddSeconds(-(k == 6 ? 5 : k) * agents.Length - a)))).ToArray();
        // Half as the grains write a new session (concurrently, through the batching writer), half in bulk.
        await Task.WhenAll(entries.Where((_, i) => i % 2 == 0).Select(e => index.WriteAsync(e, [])));
        await index.BulkWriteAsync(entries.Where((_, i) => i % 2 == 1), parallelism: 4);

        // Every agent's first session becomes the most recent: it moves within the shared partition.
        var moved = agents.Select((agent, a) => Entry(agent, $"s-{tag}-{a}-0", Now.AddMinutes(-1).AddSeconds(-a))).ToArray();
        foreach (var entry in moved)
        {
            var known = await index.ReadAsync(entry.AgentId, entry.SessionId);
            Assert.NotNull(known);
            await index.WriteAsync(entry, [known.Current]);
        }
        var current = entries.Select(e => moved.FirstOrDefault(m => m.SessionId == e.SessionId) ?? e).ToArray();

        foreach (var agent in agents)
        {
            var expected = current.Where(e => e.AgentId == agent)
                .OrderByDescending(e => e.LastActivityAt).ThenBy(e => e.SessionId, StringComparer.Ordinal).Select(e => e.SessionId).ToArray();
            var found = await AllPagesAsync(index, new SessionSearchQuery { AgentId = agent, Limit = 2 });
            Assert.Equal(expected, found.Select(e => e.SessionId));
            Assert.All(found, e => Assert.Equal(agent, e.AgentId));
            Assert.Equal($"s-{tag}-{Array.IndexOf(agents, agent)}-0", found[0].SessionId);

            // Bounded on both sides (activeBefore, activeAfter) and paged: the same range, still only this agent's.
            var (after, before) = (Now.AddMinutes(-10).AddSeconds(-4 * agents.Length), Now.AddMinutes(-10).AddSeconds(-agents.Length));
            var window = await AllPagesAsync(index, new SessionSearchQuery { AgentId = agent, ActiveAfter = after, ActiveBefore = before, Limit = 1 });
            Assert.Equal(current.Where(e => e.AgentId == agent && e.LastActivityAt >= after && e.LastActivityAt < before)
                .OrderByDescending(e => e.LastActivityAt).ThenBy(e => e.SessionId, StringComparer.Ordinal).Select(e => e.SessionId), window.Select(e => e.SessionId));
            Assert.NotEmpty(window);
        }

        // The layout itself: all these agents' rows (listings and pointers) are in one partition.
        var table = new TableServiceClient(env.Azurite.ConnectionString).GetTableClient(SessionIndex.TableName);
        var partitions = new HashSet<string>(StringComparer.Ordinal);
        var rows = 0;
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey ge {service + "|as|"} and PartitionKey lt {service + "|as}"}"), select: ["PartitionKey", "RowKey"]))
        {
            partitions.Add(row.PartitionKey);
            rows++;
        }
        Assert.Single(partitions);
        Assert.Equal(entries.Length * 2, rows); // one listing row and one pointer per session; moved listings removed
    }
}
