using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;

namespace RuntimeAuthz.Cluster.Tests;

[Collection(ClusterCollection.Name)]
public sealed class StateBoundsTests(ClusterEnvironment env)
{
    private const int AzureEntityLimitBytes = 1024 * 1024;

    [Fact]
    public async Task Session_timeline_stays_bounded_and_its_stored_form_fits_an_azure_table_row()
    {
        var cluster = await env.GetSharedClusterAsync();
        var serializer = cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainStorageSerializer>();
        var session = new SessionInfo { Id = "s", AgentId = "a", Status = SessionStatus.Open };
        // Worst case for escaping: every character becomes a 6-byte \\uXXXX sequence in JSON.
        var big = string.Concat(Enumerable.Repeat("<é>\"", 2_500));
        for (var i = 0; i < 3_000; i++)
        {
            session = SessionLimits.Append(session, new SessionEvent
            {
                Kind = i % 2 == 0 ? SessionEventKind.Request : SessionEventKind.Response, DecisionId = Guid.NewGuid(),
                Action = "read_file", Resource = "Document::\"<" + i + ">\"", Reasons = ["policy0"],
                Detail = SessionLimits.Truncate(big),
            });
        }

        var bytes = serializer.Serialize(new SessionState { Session = session }).ToArray();

        Assert.Equal(3_000, session.TotalEvents);
        Assert.Equal(1_500, session.RequestEvents);
        Assert.InRange(session.Events.Count, 1, SessionLimits.MaxEvents);
        Assert.Equal(3_000, session.Events[^1].Seq);
        Assert.InRange(bytes.Length, 1, AzureEntityLimitBytes * 3 / 4);
        Assert.DoesNotContain("$type", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Contains("\"SchemaVersion\":1", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Agent_row_refuses_delegations_beyond_its_size_bound()
    {
        var cluster = await env.GetSharedClusterAsync();
        var scenario = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var agent = cluster.Client.GetGrain<IAgentGrain>(await scenario.NewAgentAsync(actions: []));
        // 64 resources of ~1000 escaped-heavy characters: about 380 KB of JSON per delegation.
        var resources = Enumerable.Range(0, 64).Select(i => $"Document::\"{i}{new string('<', 160)}\"").ToArray();
        var results = new List<CommandResult<Delegation>>();
        for (var i = 0; i < 10; i++)
        {
            results.Add(await agent.AddDelegation(new DelegationGrant
            {
                Actions = ["read_file"], Resources = resources, GrantedBy = "g", ExpiresAt = env.Clock.GetUtcNow().AddDays(1),
            }));
        }

        var stored = (await agent.Get())!;
        var serializer = cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainStorageSerializer>();
        var bytes = serializer.Serialize(new AgentState { Agent = stored }).ToArray().Length;

        Assert.True(results[0].IsSuccess, results[0].Message);
        Assert.Contains(results, r => r.Error == CommandError.Conflict);
        Assert.Equal(results.Count(r => r.IsSuccess), stored.Delegations.Count);
        Assert.InRange(bytes, 1, AgentGrain.MaxRowBytes);
    }

    [Fact]
    public async Task Policy_texts_too_large_for_one_row_are_refused()
    {
        var cluster = await env.GetSharedClusterAsync();
        var policyGrain = cluster.Client.GetGrain<IPolicyGrain>(0);
        var before = await policyGrain.CurrentVersion();
        // Valid Cedar, but the comment's '<' characters are escaped as 6 bytes each in stored JSON.
        var text = "// " + new string('<', 200_000) + "\npermit (principal, action, resource);";

        var result = await policyGrain.Publish(new PolicyPublishRequest { Policies = text, Author = "tests" });

        Assert.Equal(CommandError.Invalid, result.Error);
        Assert.Contains("too large", result.Message);
        Assert.Equal(before, await policyGrain.CurrentVersion());
    }

    [Fact]
    public async Task Stored_rows_are_versioned_system_text_json_without_type_names()
    {
        var cluster = await env.GetSharedClusterAsync();
        var scenario = new Scenario(cluster.Client, env.Clock.GetUtcNow);
        var agentId = await scenario.NewAgentAsync();

        var table = new Azure.Data.Tables.TableServiceClient(env.Azurite.ConnectionString).GetTableClient(RuntimeAuthz.Silo.SiloConfiguration.DefaultGrainStateTable);
        var payloads = new List<string>();
        await foreach (var entity in table.QueryAsync<Azure.Data.Tables.TableEntity>())
        {
            if (!entity.PartitionKey.Contains(agentId, StringComparison.Ordinal) && !entity.RowKey.Contains(agentId, StringComparison.Ordinal)) continue;
            foreach (var (key, value) in entity)
            {
                if (value is byte[] binary) payloads.Add(System.Text.Encoding.UTF8.GetString(binary));
                else if (value is BinaryData data) payloads.Add(data.ToString());
                else if (value is string text && key is not ("PartitionKey" or "RowKey")) payloads.Add(text);
            }
        }

        var json = string.Concat(payloads);
        Assert.Contains("\"SchemaVersion\":1", json, StringComparison.Ordinal);
        Assert.Contains(agentId, json, StringComparison.Ordinal);
        Assert.DoesNotContain("$type", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Small_events_keep_the_last_thousand()
    {
        var cluster = await env.GetSharedClusterAsync();
        var serializer = cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainStorageSerializer>();
        var session = new SessionInfo { Id = "s", AgentId = "a" };
        for (var i = 0; i < 1_200; i++)
        {
            session = SessionLimits.Append(session, new SessionEvent { Kind = SessionEventKind.Request, DecisionId = Guid.NewGuid(), Action = "search_web", Resource = "WebSearch::\"web\"", Reasons = ["policy1"] });
        }

        var roundTripped = serializer.Deserialize<SessionState>(serializer.Serialize(new SessionState { Session = session }))!;

        Assert.Equal(SessionLimits.MaxEvents, session.Events.Count);
        Assert.Equal(201, session.Events[0].Seq);
        Assert.Equal(session.Events.Count, roundTripped.Session!.Events.Count);
        Assert.Equal(session.Events[^1], roundTripped.Session.Events[^1] with { Reasons = session.Events[^1].Reasons });
        Assert.Equal(1_200, roundTripped.Session.TotalEvents);
    }
}
