using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Evidence;

namespace RuntimeAuthz.Cluster.Tests.Evidence;

[Collection(ClusterCollection.Name)]
public sealed class EvidenceClusterTests(ClusterEnvironment env)
{
    private const string ReadProps = """{"fleet":"research"}""";

    private AzureTableEvidenceStore SharedStore() => new(env.Azurite.ConnectionString);

    private static async Task<EvidencePublicKeys> KeysAsync(IEvidenceStore store)
    {
        var keys = new EvidencePublicKeys();
        foreach (var (id, pem) in await store.ListPublicKeysAsync()) keys.Add(id, pem);
        return keys;
    }

    private async Task<(Scenario Scenario, string Session, List<AuthzDecision> Decisions)> SessionWithDecisionsAsync(InProcessTestCluster cluster, int rounds = 2)
    {
        var s = new Scenario(cluster.Client, () => env.Clock.GetUtcNow());
        var agent = await s.NewAgentAsync();
        var session = await s.OpenSessionAsync(agent);
        var decisions = new List<AuthzDecision>();
        for (var i = 0; i < rounds; i++)
        {
            decisions.Add(await s.ReadOwnDocumentAsync(session));                                            // Allow
            decisions.Add(await s.DecideAsync(session, "delete_database", "Database", "prod"));             // Deny: forbid
            decisions.Add(await s.DecideAsync(session, "send_payment", "Account", "acme", input: """{"amount":250}""")); // ApprovalRequired
            decisions.Add(await s.DecideAsync(session, "read_file", "Document", "doc-1", properties: ReadProps, context: "[1, 2")); // Deny: invalid-request
        }
        return (s, session, decisions);
    }

    [Fact]
    public async Task Every_decision_has_exactly_one_record_and_the_session_chain_verifies()
    {
        var cluster = await env.GetSharedClusterAsync();
        var (_, session, decisions) = await SessionWithDecisionsAsync(cluster);
        Assert.Contains(decisions, d => d.Outcome == DecisionOutcome.Allow);
        Assert.Contains(decisions, d => d.Outcome == DecisionOutcome.Deny);
        Assert.Contains(decisions, d => d.Outcome == DecisionOutcome.ApprovalRequired);

        var store = SharedStore();
        var chain = EvidenceChains.ForSession(session);
        var entries = await store.ReadChainAsync(chain);
        // Record 1 is the session's open record; the decisions follow.
        Assert.Equal(EvidenceKinds.SessionOpen, EvidenceSealer.ParseBody(entries[0].Body).Kind);
        var bodies = entries.Skip(1).Select(e => EvidenceSealer.ParseBody(e.Body)).ToList();
        Assert.Equal(decisions.Select(d => d.DecisionId.ToString()), bodies.Select(b => b.DecisionId));
        Assert.Equal(decisions.Select(d => d.Outcome.ToString()), bodies.Select(b => b.Outcome));
        Assert.Equal(decisions.Select(d => (long?)d.PolicyVersion), bodies.Select(b => b.PolicyVersion));
        Assert.Equal(decisions.Select(d => d.DenyReason), bodies.Select(b => b.DenyReason));
        Assert.Equal(decisions[1].Reasons, bodies[1].DeterminingPolicies);
        Assert.All(bodies, b => Assert.StartsWith("sha256:", b.InputDigest));
        Assert.All(bodies, b => Assert.Equal(session, b.SessionId));

        using var keys = await KeysAsync(store);
        var info = await cluster.Client.GetGrain<IAgentSessionGrain>(session).Get();
        var result = EvidenceVerifier.Verify(chain, entries, keys, info!.DecisionCount);
        Assert.True(result.Valid, result.ToString());
        Assert.Equal(decisions.Count + 1, result.Records);
    }

    [Fact]
    public async Task Concurrent_decisions_in_many_sessions_each_leave_exactly_one_record()
    {
        var cluster = await env.GetSharedClusterAsync();
        var s = new Scenario(cluster.Client, () => env.Clock.GetUtcNow());
        var agent = await s.NewAgentAsync();
        var sessions = new List<string>();
        for (var i = 0; i < 24; i++) sessions.Add(await s.OpenSessionAsync(agent));
        var perSession = await Task.WhenAll(sessions.Select(async session =>
        {
            var made = new List<AuthzDecision>();
            for (var i = 0; i < 5; i++) made.Add(await s.ReadOwnDocumentAsync(session));
            return (session, made);
        }));
        var store = SharedStore();
        using var keys = await KeysAsync(store);
        foreach (var (session, made) in perSession)
        {
            Assert.All(made, d => Assert.Equal(DecisionOutcome.Allow, d.Outcome));
            var entries = await store.ReadChainAsync(EvidenceChains.ForSession(session));
            Assert.Equal(made.Select(d => d.DecisionId.ToString()), entries.Skip(1).Select(e => EvidenceSealer.ParseBody(e.Body).DecisionId));
            var result = EvidenceVerifier.Verify(EvidenceChains.ForSession(session), entries, keys, made.Count);
            Assert.True(result.Valid, result.ToString());
        }
    }

    [Fact]
    public async Task Changing_deleting_or_reordering_a_row_in_the_table_breaks_verification_at_that_record()
    {
        var cluster = await env.GetSharedClusterAsync();
        var (_, session, decisions) = await SessionWithDecisionsAsync(cluster);
        Assert.Equal(8, decisions.Count);
        var store = SharedStore();
        using var keys = await KeysAsync(store);
        var chain = EvidenceChains.ForSession(session);
        var table = new TableServiceClient(env.Azurite.ConnectionString).GetTableClient(AzureTableEvidenceStore.DefaultTableName);
        var partition = AzureTableEvidenceStore.PartitionOf(chain, await new AzureTableEvidenceStore(env.Azurite.ConnectionString).SessionPartitionsAsync());
        async Task<TableEntity> Row(long seq) => (await table.GetEntityAsync<TableEntity>(partition, AzureTableEvidenceStore.RowKeyOf(chain, seq))).Value;
        async Task<ChainVerification> VerifyAsync() => EvidenceVerifier.Verify(chain, await store.ReadChainAsync(chain), keys, decisions.Count + 1); // and the open record

        Assert.True((await VerifyAsync()).Valid);

        // Change: record 4's outcome edited in place (record 1 is the open record, so this is the third decision).
        var third = await Row(4);
        var original = third.GetString("Body");
        var edited = new TableEntity(third) { ["Body"] = original.Replace("\"ApprovalRequired\"", "\"Allow\"", StringComparison.Ordinal) };
        Assert.NotEqual(original, edited.GetString("Body"));
        await table.UpdateEntityAsync(edited, Azure.ETag.All, TableUpdateMode.Replace);
        var changed = await VerifyAsync();
        Assert.False(changed.Valid);
        Assert.Equal(4, changed.BrokenSequence);
        await table.UpdateEntityAsync(third, Azure.ETag.All, TableUpdateMode.Replace);
        Assert.True((await VerifyAsync()).Valid);

        // Delete: record 6 removed.
        var fifth = await Row(6);
        await table.DeleteEntityAsync(partition, fifth.RowKey);
        var deleted = await VerifyAsync();
        Assert.Equal(6, deleted.BrokenSequence);
        Assert.Contains("missing", deleted.Problem);
        await table.AddEntityAsync(fifth);
        Assert.True((await VerifyAsync()).Valid);

        // Delete the last record: found through the session's decision count.
        var last = await Row(9);
        await table.DeleteEntityAsync(partition, last.RowKey);
        Assert.Equal(9, (await VerifyAsync()).BrokenSequence);
        await table.AddEntityAsync(last);

        // Reorder: the contents of rows 3 and 7 swapped.
        var (second, sixth) = (await Row(3), await Row(7));
        foreach (var column in new[] { "Body", "Hash", "Signature", "KeyId" })
            (second[column], sixth[column]) = (sixth[column], second[column]);
        await table.UpdateEntityAsync(second, Azure.ETag.All, TableUpdateMode.Replace);
        await table.UpdateEntityAsync(sixth, Azure.ETag.All, TableUpdateMode.Replace);
        var reordered = await VerifyAsync();
        Assert.False(reordered.Valid);
        Assert.Equal(3, reordered.BrokenSequence);
    }

    [Fact]
    public async Task Without_reachable_evidence_storage_nothing_is_allowed_and_decisions_recover_when_it_returns()
    {
        await using var link = new TcpSwitch(env.Azurite.Port);
        link.On();
        var table = "Evidence" + Guid.NewGuid().ToString("N")[..10];
        var viaLink = env.Azurite.ConnectionString.Replace($":{env.Azurite.Port}/", $":{link.Port}/", StringComparison.Ordinal);
        var cluster = await env.StartClusterAsync(1, env.Clock, silo => silo.Services.Configure<EvidenceOptions>(o =>
        {
            o.ConnectionString = viaLink;
            o.Table = table;
            o.Redact = ["/input/apiKey", "/context/token"];
        }));
        var published = await cluster.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest
        {
            Policies = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "policies.cedar")),
            Schema = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Examples, "schema.cedarschema")),
            Author = "evidence-tests",
        });
        Assert.True(published.IsSuccess, published.Message);
        await ClusterEnvironment.WaitForPolicyAsync(cluster, published.Value!.Version);
        var s = new Scenario(cluster.Client, () => env.Clock.GetUtcNow());
        var session = await s.OpenSessionAsync(await s.NewAgentAsync());
        Task<AuthzDecision> Read() => s.DecideAsync(session, "read_file", "Document", "doc-1", properties: ReadProps,
            input: """{"path":"/a","apiKey":"sk-live-123"}""", context: """{"token":"bearer-xyz","purpose":"audit"}""");

        var returned = new List<AuthzDecision> { await Read() };
        Assert.Equal(DecisionOutcome.Allow, returned[0].Outcome);

        link.Off();
        var unrecorded = new List<AuthzDecision>();
        for (var i = 0; i < 3; i++) unrecorded.Add(await Read());
        Assert.All(unrecorded, d =>
        {
            Assert.Equal(DecisionOutcome.Deny, d.Outcome);
            Assert.Equal(EvidenceDenyReasons.NoEvidence, d.DenyReason);
        });

        link.On();
        for (var i = 0; i < 3; i++) returned.Add(await Read());
        Assert.All(returned, d => Assert.Equal(DecisionOutcome.Allow, d.Outcome));

        // Exactly the decisions that were returned with evidence are in the chain, and it verifies.
        var store = new AzureTableEvidenceStore(env.Azurite.ConnectionString, table);
        var chain = EvidenceChains.ForSession(session);
        var entries = await store.ReadChainAsync(chain);
        var bodies = entries.Select(e => EvidenceSealer.ParseBody(e.Body)).Where(b => b.Kind == EvidenceKinds.Decision).ToList();
        // Every answered Allow has its record; an unconfirmed call may have one too, and then it says what the caller was told.
        Assert.Equal(returned.Select(d => d.DecisionId.ToString()), bodies.Where(b => b.Outcome == "Allow").Select(b => b.DecisionId));
        var told = returned.Concat(unrecorded).ToDictionary(d => d.DecisionId.ToString(), d => d.Outcome.ToString());
        Assert.All(bodies.GroupBy(b => b.DecisionId!), records => Assert.Equal(told[records.Key], records.Last().Outcome));
        using var keys = await KeysAsync(store);
        var verified = EvidenceVerifier.Verify(chain, entries, keys, returned.Count);
        Assert.True(verified.Valid, verified.ToString());

        // Secrets are redacted in the stored input; the digest covers the input as sent.
        Assert.All(bodies, b =>
        {
            Assert.DoesNotContain("sk-live-123", b.Input);
            Assert.DoesNotContain("bearer-xyz", b.Input);
            Assert.Contains("\"purpose\":\"audit\"", b.Input);
        });
        var fullInput = DecisionEvidence.InputOf(new DecisionRequest
        {
            Action = "read_file", ResourceType = "Document", ResourceId = "doc-1", ResourcePropertiesJson = ReadProps,
            InputJson = """{"path":"/a","apiKey":"sk-live-123"}""", ContextJson = """{"token":"bearer-xyz","purpose":"audit"}""",
        });
        Assert.Equal(new EvidenceRedactor().Prepare(fullInput).Digest, bodies[0].InputDigest);

        // The publish is in the governance chain of this table, which verifies too.
        var governance = await store.ReadChainAsync(EvidenceChains.Governance);
        var publish = governance.Select(e => EvidenceSealer.ParseBody(e.Body)).Single(b => b.Kind == EvidenceKinds.PolicyPublish);
        Assert.Equal(published.Value.Version, publish.PolicyVersion);
        Assert.Equal("evidence-tests", publish.Actor);
        var governanceResult = EvidenceVerifier.Verify(EvidenceChains.Governance, governance, keys);
        Assert.True(governanceResult.Valid, governanceResult.ToString());
    }
}

[Collection(ClusterCollection.Name)]
public sealed class EvidenceLedgerTests(ClusterEnvironment env)
{
    /// <summary>
    /// Every decision the integration tests received so far (from any test class in this run, through
    /// grains or HTTP) has exactly one evidence record with its id and outcome, except denies for
    /// missing evidence or internal errors: those have no record, or their last record says Deny.
    /// </summary>
    [Fact]
    public async Task Every_decision_returned_in_the_integration_tests_has_exactly_one_evidence_record()
    {
        var cluster = await env.GetSharedClusterAsync();
        // Make sure there is something to count even when this test runs first.
        var s = new Scenario(cluster.Client, () => env.Clock.GetUtcNow());
        var session = await s.OpenSessionAsync(await s.NewAgentAsync());
        await s.ReadOwnDocumentAsync(session);
        await s.DecideAsync(session, "delete_database", "Database", "prod");

        var returned = DecisionLedger.Returned.ToArray();
        var counted = 0;
        foreach (var group in returned.Where(e => e.Decision.DenyReason != DenyReasons.UnknownSession).GroupBy(e => (e.Table, e.Chain)))
        {
            if (DecisionLedger.Tampered.ContainsKey((group.Key.Table, EvidenceChains.SessionOf(group.Key.Chain) ?? ""))) continue;
            var store = new AzureTableEvidenceStore(env.Azurite.ConnectionString, group.Key.Table);
            var records = (await store.ReadChainAsync(group.Key.Chain))
                .Select(e => EvidenceSealer.ParseBody(e.Body))
                .Where(b => b.Kind == EvidenceKinds.Decision)
                .GroupBy(b => b.DecisionId!)
                .ToDictionary(g => g.Key, g => g.ToList());
            foreach (var entry in group)
            {
                var id = entry.Decision.DecisionId.ToString();
                var found = records.GetValueOrDefault(id) ?? [];
                if (entry.Decision.DenyReason is EvidenceDenyReasons.NoEvidence or DenyReasons.InternalError or EvidenceDenyReasons.EvidenceRollback
                    || DecisionLedger.LostAnswers.ContainsKey(entry.Decision.DecisionId))
                {
                    if (found.Count > 0) Assert.Equal("Deny", found[^1].Outcome);
                    continue;
                }
                Assert.True(found.Count == 1, $"decision {id} of chain {group.Key.Chain} has {found.Count} evidence records");
                Assert.Equal(entry.Decision.Outcome.ToString(), found[0].Outcome);
                counted++;
            }
        }
        Assert.True(counted >= 2, $"only {counted} decisions counted");
    }
}

[Collection(ClusterCollection.Name)]
public sealed class GovernanceEvidenceTests(ClusterEnvironment env)
{
    [Fact]
    public async Task Governance_events_are_signed_with_the_configured_key_into_a_chain_that_verifies_with_that_public_key_alone()
    {
        using var signing = EvidenceSigningKey.Generate();
        var keyFile = Path.Combine(Path.GetTempPath(), $"evidence-key-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(keyFile, signing.ExportPrivateKeyPem());
        try
        {
            var table = "Evidence" + Guid.NewGuid().ToString("N")[..10];
            var cluster = await env.StartClusterAsync(1, env.Clock, silo => silo.Services.Configure<EvidenceOptions>(o =>
            {
                o.Table = table;
                o.SigningKeyPath = keyFile;
                o.KeyId = "governance-test-key-1";
            }));
            var policies = cluster.Client.GetGrain<IPolicyGrain>(0);
            var first = await policies.Publish(new PolicyPublishRequest { Policies = "permit (principal, action, resource);", Author = "alice" });
            Assert.True(first.IsSuccess, first.Message);
            var rollback = await policies.Rollback(first.Value!.Version, "bob", "back");
            Assert.True(rollback.IsSuccess, rollback.Message);

            var s = new Scenario(cluster.Client, () => env.Clock.GetUtcNow());
            var agentId = await s.NewAgentAsync();
            var agent = cluster.Client.GetGrain<IAgentGrain>(agentId);
            var grantId = (await agent.Get())!.Delegations.Single().Id;
            var revoked = await cluster.Client.GetGrain<IGovernanceGrain>(0).RevokeGrant(agentId, grantId, new GovernanceActor { Actor = "carol", Reason = "incident 42" });
            Assert.True(revoked.IsSuccess, revoked.Message);
            var suspended = await agent.SetStatus(new AgentStatusChange { Status = AgentStatus.Suspended, Actor = "dave", Reason = "review" });
            Assert.True(suspended.IsSuccess, suspended.Message);

            var store = new AzureTableEvidenceStore(env.Azurite.ConnectionString, table);
            var entries = await store.ReadChainAsync(EvidenceChains.Governance);
            var bodies = entries.Select(e => EvidenceSealer.ParseBody(e.Body)).ToList();
            Assert.Equal([EvidenceKinds.PolicyPublish, EvidenceKinds.PolicyRollback, EvidenceKinds.Grant, EvidenceKinds.Revocation, EvidenceKinds.AgentStatus],
                bodies.Select(b => b.Kind));
            Assert.Equal(["alice", "bob", "governance@example.com", "carol", "dave"], bodies.Select(b => b.Actor));
            Assert.Equal(2, bodies[1].PolicyVersion);
            Assert.Equal(agentId, bodies[3].AgentId);
            Assert.All(entries, e => Assert.Equal("governance-test-key-1", e.KeyId));

            // Only the configured key's public half is needed (pinned, not read from the table).
            using var pinned = new EvidencePublicKeys();
            pinned.Add("governance-test-key-1", signing.PublicKeyPem);
            var result = EvidenceVerifier.Verify(EvidenceChains.Governance, entries, pinned);
            Assert.True(result.Valid, result.ToString());
            Assert.Equal(signing.PublicKeyPem, (await store.ListPublicKeysAsync())["governance-test-key-1"]);

            // A key from elsewhere does not verify the chain.
            using var other = EvidenceSigningKey.Generate();
            using var wrong = new EvidencePublicKeys();
            wrong.Add("governance-test-key-1", other.PublicKeyPem);
            Assert.Equal(1, EvidenceVerifier.Verify(EvidenceChains.Governance, entries, wrong).BrokenSequence);
        }
        finally
        {
            File.Delete(keyFile);
        }
    }
}

[Collection(ClusterCollection.Name)]
public sealed class EvidenceKeyRotationTests(ClusterEnvironment env)
{
    [Fact]
    public async Task A_chain_continues_across_a_key_rotation_and_verifies_with_the_published_public_keys()
    {
        using var oldKey = EvidenceSigningKey.Generate("rotation-old");
        using var newKey = EvidenceSigningKey.Generate("rotation-new");
        var folder = Directory.CreateTempSubdirectory("evidence-keys-").FullName;
        try
        {
            var oldPrivate = Path.Combine(folder, "old.pem");
            var oldPublic = Path.Combine(folder, "old.pub.pem");
            var newPrivate = Path.Combine(folder, "new.pem");
            await File.WriteAllTextAsync(oldPrivate, oldKey.ExportPrivateKeyPem());
            await File.WriteAllTextAsync(oldPublic, oldKey.PublicKeyPem);
            await File.WriteAllTextAsync(newPrivate, newKey.ExportPrivateKeyPem());
            var table = "Evidence" + Guid.NewGuid().ToString("N")[..10];

            var before = await env.StartClusterAsync(1, env.Clock, silo => silo.Services.Configure<EvidenceOptions>(o =>
            {
                o.Table = table; o.SigningKeyPath = oldPrivate; o.KeyId = "rotation-old";
            }));
            Assert.True((await before.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest { Policies = "permit (principal, action, resource);", Author = "a" })).IsSuccess);

            // The rotated deployment signs with the new key and lists the old public key from configuration.
            var after = await env.StartClusterAsync(1, env.Clock, silo => silo.Services.Configure<EvidenceOptions>(o =>
            {
                o.Table = table; o.SigningKeyPath = newPrivate; o.KeyId = "rotation-new"; o.AdditionalPublicKeys = [$"rotation-old={oldPublic}"];
            }));
            Assert.True((await after.Client.GetGrain<IPolicyGrain>(0).Publish(new PolicyPublishRequest { Policies = "forbid (principal, action, resource);", Author = "b" })).IsSuccess);

            var store = new AzureTableEvidenceStore(env.Azurite.ConnectionString, table);
            var entries = await store.ReadChainAsync(EvidenceChains.Governance);
            Assert.Equal(["rotation-old", "rotation-new"], entries.Select(e => e.KeyId));
            var published = await after.Silos[0].ServiceProvider.GetRequiredService<EvidenceRecorder>().PublicKeysAsync(CancellationToken.None);
            Assert.Equal(oldKey.PublicKeyPem, published["rotation-old"]);
            Assert.Equal(newKey.PublicKeyPem, published["rotation-new"]);
            using var keys = new EvidencePublicKeys();
            foreach (var (id, pem) in published) keys.Add(id, pem);
            var result = EvidenceVerifier.Verify(EvidenceChains.Governance, entries, keys);
            Assert.True(result.Valid, result.ToString());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
