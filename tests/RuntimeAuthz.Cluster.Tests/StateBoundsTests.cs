using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Cluster.Tests;

[Collection(ClusterCollection.Name)]
public sealed class StateBoundsTests(ClusterEnvironment env)
{
    private const int AzureEntityLimitBytes = 1024 * 1024;

    [Fact]
    public async Task A_session_snapshot_with_every_recent_decision_remembered_fits_an_azure_table_row()
    {
        var cluster = await env.GetSharedClusterAsync();
        var serializer = cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainStorageSerializer>();
        var input = "{\"query\":\"" + new string('x', 2_000) + "\"}";
        var recent = Enumerable.Range(0, SessionLimits.MaxRecentDecisions).Select(i => new RecentDecision
        {
            DecisionId = Guid.NewGuid(), Sequence = i + 1, Outcome = DecisionOutcome.Allow, Action = "search_web", Resource = "WebSearch::\"q\"",
            Request = new TemporalEvent { AgentId = "a", Action = "search_web", ResourceType = "WebSearch", ResourceId = "q", InputJson = input },
        }).ToArray();

        var bytes = serializer.Serialize(new SessionState { Session = new SessionInfo { Id = "s", AgentId = "a" }, Recent = recent }).ToArray();

        Assert.InRange(bytes.Length, 1, AzureEntityLimitBytes * 3 / 4);
        Assert.DoesNotContain("$type", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Contains($"\"SchemaVersion\":{SessionState.CurrentSchemaVersion}", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_version_2_session_row_with_request_events_still_loads()
    {
        var cluster = await env.GetSharedClusterAsync();
        var serializer = cluster.Silos[0].ServiceProvider.GetRequiredService<IGrainStorageSerializer>();
        var (allowed, denied) = (Guid.NewGuid(), Guid.NewGuid());
        // As version 2 wrote it: every recent decision with its action and resource, an allowed one with its request event.
        var row = $$$"""
            {"SchemaVersion":2,"Session":{"Id":"s2","AgentId":"a2","Status":0,"DecisionCount":2,"CumulativeRisk":7},
             "EvidenceSequence":2,"EvidenceHash":"h2","Recent":[
              {"DecisionId":"{{{allowed}}}","Sequence":1,"At":"2030-01-01T08:00:01+00:00","Outcome":0,"RiskAdded":7,"Reported":false,
               "Action":"search_web","Resource":"WebSearch::\"q\"","Request":{"Kind":"request","DecisionId":"{{{allowed}}}","AgentId":"a2","Action":"search_web","ResourceType":"WebSearch","ResourceId":"q"}},
              {"DecisionId":"{{{denied}}}","Sequence":2,"At":"2030-01-01T08:00:02+00:00","Outcome":1,"RiskAdded":0,"Reported":false,"Action":"send_email","Resource":"Email::\"m\""}],
             "Approvals":[]}
            """;

        var state = serializer.Deserialize<SessionState>(BinaryData.FromString(row));
        var ledger = SessionLedger.FromSnapshot(state!)!;

        Assert.Equal((2L, 7L, new RuntimeAuthz.Evidence.EvidenceHead(2, "h2")), (ledger.Session.DecisionCount, ledger.Session.CumulativeRisk, ledger.Head));
        var first = ledger.FindDecision(allowed)!;
        Assert.Equal((1L, DecisionOutcome.Allow, 7L, false, "search_web"), (first.Sequence, first.Outcome, first.RiskAdded, first.Reported, first.Action));
        Assert.Equal(DecisionOutcome.Deny, ledger.FindDecision(denied)!.Outcome);
        Assert.Equal(["search_web", "send_email"], ledger.Recent.Select(d => d.Action));
        // Written again as version 3: the request event stays in the decision's record only.
        var rewritten = ledger.ToSnapshot();
        Assert.Equal(SessionState.CurrentSchemaVersion, rewritten.SchemaVersion);
        Assert.All(rewritten.Recent, d => Assert.Null(d.Request));
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
}
