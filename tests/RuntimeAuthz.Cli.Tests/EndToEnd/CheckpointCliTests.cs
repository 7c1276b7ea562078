using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Cli.Tests.EndToEnd;

/// <summary>
/// <c>authz evidence verify</c> against the checkpoints the real silo writes to its second table,
/// in each mode: through the service, straight from the tables, and from an export file.
/// </summary>
[Collection(RealSiloCollection.Name)]
public sealed class CheckpointCliTests(RealSilo silo)
{
    private Task<CliResult> Authz(params string[] args) => silo.Authz(args);

    private static string TempFile() => Path.Combine(Path.GetTempPath(), $"evidence-{Guid.NewGuid():N}.jsonl");

    private async Task<string> SessionWithDecisionsAsync(int decisions)
    {
        using var client = silo.Client();
        var session = await client.OpenSessionAsync(new OpenSessionRequest("demo-agent"));
        for (var i = 0; i < decisions; i++)
            await client.DecideAsync(session.Id, new DecisionRequest("read_file", new ResourceRef("Document", $"d{i}", JsonSerializer.SerializeToElement(new { fleet = "research" }))));
        return session.Id;
    }

    private TableClient EvidenceTable => new TableServiceClient(silo.StorageConnectionString).GetTableClient(AzureTableEvidenceStore.DefaultTableName);

    /// <summary>Deletes the records straight from the evidence table; returns them for putting back (the other tests verify every chain).</summary>
    private async Task<List<TableEntity>> DeleteRecordsAsync(string session, long from, long to)
    {
        var chain = EvidenceChains.ForSession(session);
        var deleted = new List<TableEntity>();
        var partition = AzureTableEvidenceStore.PartitionOf(chain, await new AzureTableEvidenceStore(silo.StorageConnectionString).SessionPartitionsAsync());
        for (var seq = from; seq <= to; seq++)
        {
            var row = await EvidenceTable.GetEntityAsync<TableEntity>(partition, AzureTableEvidenceStore.RowKeyOf(chain, seq));
            deleted.Add(row.Value);
            await EvidenceTable.DeleteEntityAsync(row.Value.PartitionKey, row.Value.RowKey);
        }
        return deleted;
    }

    [Fact]
    public async Task Records_deleted_from_the_end_of_a_chain_fail_verify_naming_the_chain_and_range_in_every_mode()
    {
        var session = await SessionWithDecisionsAsync(5);
        await silo.CheckpointAsync();
        var direct = new[] { "--connection-string", silo.StorageConnectionString, "--checkpoint-connection-string", silo.StorageConnectionString };
        var before = TempFile();
        var after = TempFile();
        try
        {
            var verified = await Authz("evidence", "verify", "--session", session);
            Assert.Equal(ExitCodes.Success, verified.ExitCode);
            Assert.Contains($"session:{session}: OK, 6 records", verified.Output, StringComparison.Ordinal);
            Assert.Matches(@"checkpoints:\S+: OK, \d+ checkpoints", verified.Output);
            Assert.Equal(ExitCodes.Success, (await Authz("evidence", "export", "--all", "--out", before)).ExitCode);
            Assert.Contains(File.ReadLines(before), l => JsonNode.Parse(l)!["type"]?.GetValue<string>() == "checkpoint");
            Assert.Equal(ExitCodes.Success, (await Authz("evidence", "verify", "--file", before)).ExitCode);

            var deleted = await DeleteRecordsAsync(session, 5, 6); // the last 2 of the open record and 5 decisions
            try
            {
                var expected = $"session:{session}: BROKEN at record 5: records 5..6 sealed in checkpoint ";
                var viaService = await Authz("evidence", "verify", "--session", session);
                Assert.Equal(ExitCodes.Error, viaService.ExitCode);
                Assert.Contains(expected, viaService.Output, StringComparison.Ordinal);
                Assert.Contains("are missing (the stored chain ends at record 4)", viaService.Output, StringComparison.Ordinal);

                var viaTables = await Authz(["evidence", "verify", "--session", session, .. direct]);
                Assert.Equal(ExitCodes.Error, viaTables.ExitCode);
                Assert.Contains(expected, viaTables.Output, StringComparison.Ordinal);

                var all = await Authz("evidence", "verify", "--all", "--json");
                Assert.Equal(ExitCodes.Error, all.ExitCode);
                var broken = Assert.Single(JsonNode.Parse(all.Output)!.AsArray(), r => !r!["valid"]!.GetValue<bool>())!;
                Assert.Equal($"session:{session}", broken["chain"]!.GetValue<string>());
                Assert.Equal(5, broken["brokenRecord"]!.GetValue<long>());

                Assert.Equal(ExitCodes.Success, (await Authz("evidence", "export", "--out", after)).ExitCode);
                var fromFile = await Authz("evidence", "verify", "--file", after, "--session", session);
                Assert.Equal(ExitCodes.Error, fromFile.ExitCode);
                Assert.Contains(expected, fromFile.Output, StringComparison.Ordinal);
            }
            finally
            {
                foreach (var row in deleted) await EvidenceTable.AddEntityAsync(row);
            }
            Assert.Equal(ExitCodes.Success, (await Authz("evidence", "verify", "--session", session)).ExitCode);
        }
        finally
        {
            File.Delete(before);
            File.Delete(after);
        }
    }

    [Fact]
    public async Task An_export_whose_checkpoint_was_changed_fails_verify_on_the_checkpoint_chain()
    {
        await SessionWithDecisionsAsync(1);
        await silo.CheckpointAsync();
        var path = TempFile();
        try
        {
            Assert.Equal(ExitCodes.Success, (await Authz("evidence", "export", "--out", path)).ExitCode);
            var lines = await File.ReadAllLinesAsync(path);
            var index = Array.FindLastIndex(lines, l => JsonNode.Parse(l)!["type"]?.GetValue<string>() == "checkpoint");
            var checkpoint = JsonNode.Parse(lines[index])!;
            checkpoint["time"] = "2000-01-01T00:00:00.0000000Z";
            lines[index] = checkpoint.ToJsonString();
            await File.WriteAllLinesAsync(path, lines);

            var verified = await Authz("evidence", "verify", "--file", path);
            Assert.Equal(ExitCodes.Error, verified.ExitCode);
            Assert.Contains($"checkpoints:{checkpoint["writer"]!.GetValue<string>()}: BROKEN at checkpoint {checkpoint["seq"]!.GetValue<long>()}: content does not match its hash", verified.Output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Bad_verify_sources_get_a_message_naming_the_option()
    {
        var missing = await Authz("evidence", "verify", "--file", "/nonexistent/evidence.jsonl");
        Assert.Equal(ExitCodes.Error, missing.ExitCode);
        Assert.Contains("--file: '/nonexistent/evidence.jsonl' not found", missing.Error, StringComparison.Ordinal);

        var path = TempFile();
        try
        {
            await File.WriteAllLinesAsync(path, ["{\"chain\": \"governance\""]);
            var garbage = await Authz("evidence", "verify", "--file", path);
            Assert.Equal(ExitCodes.Error, garbage.ExitCode);
            Assert.Contains("line 1 is not an evidence export line", garbage.Error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }

        var alone = await Authz("evidence", "verify", "--all", "--checkpoint-connection-string", silo.StorageConnectionString);
        Assert.Equal(ExitCodes.Error, alone.ExitCode);
        Assert.Contains("--checkpoint-connection-string goes with --connection-string", alone.Error, StringComparison.Ordinal);

        var bad = await Authz("evidence", "verify", "--all", "--connection-string", silo.StorageConnectionString, "--checkpoint-connection-string", "AccountName=x;AccountKey=%%%");
        Assert.Equal(ExitCodes.Error, bad.ExitCode);
        Assert.Contains("--checkpoint-connection-string: not an Azure Storage connection string", bad.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("%%%", bad.Error, StringComparison.Ordinal);
    }
}
