using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Tests.EndToEnd;

/// <summary><c>authz evidence verify|export</c> against the real silo: records fetched over HTTP, verified here with public keys only.</summary>
[Collection(RealSiloCollection.Name)]
public sealed class EvidenceCliTests(RealSilo silo)
{
    private Task<CliResult> Authz(params string[] args) => silo.Authz(args);

    private async Task<(string Session, List<Decision> Decisions)> DecideSomeAsync()
    {
        using var client = silo.Client();
        var session = await client.OpenSessionAsync(new OpenSessionRequest("demo-agent"));
        var decisions = new List<Decision>
        {
            await client.DecideAsync(session.Id, new DecisionRequest("read_file", new ResourceRef("Document", "q3", JsonSerializer.SerializeToElement(new { fleet = "research" })))),
            await client.DecideAsync(session.Id, new DecisionRequest("delete_database", new ResourceRef("Database", "prod"))),
            await client.DecideAsync(session.Id, new DecisionRequest("send_payment", new ResourceRef("Account", "acme"), Input: JsonSerializer.SerializeToElement(new { amount = 250 }))),
        };
        return (session.Id, decisions);
    }

    [Fact]
    public async Task Verify_checks_a_session_chain_and_export_writes_one_tagged_line_per_decision()
    {
        var (session, decisions) = await DecideSomeAsync();

        var verify = await Authz("evidence", "verify", "--session", session);
        Assert.Equal(ExitCodes.Success, verify.ExitCode);
        Assert.Contains($"session:{session}: OK, 4 records", verify.Output, StringComparison.Ordinal);

        var path = Path.Combine(Path.GetTempPath(), $"evidence-{Guid.NewGuid():N}.jsonl");
        try
        {
            var export = await Authz("evidence", "export", "--session", session, "--out", path);
            Assert.Equal(ExitCodes.Success, export.ExitCode);
            // Records; the checkpoints that follow them (type "checkpoint") are covered in CheckpointCliTests.
            var records = (await File.ReadAllLinesAsync(path)).Select(l => JsonNode.Parse(l)!).Where(l => l["type"] is null).ToArray();
            Assert.Equal("session-open", records[0]["kind"]!.GetValue<string>()); // the session's first record
            var lines = records.Skip(1).ToArray();
            Assert.Equal(decisions.Select(d => d.DecisionId.ToString()), lines.Select(l => l["decisionId"]!.GetValue<string>()));
            Assert.All(lines, l =>
            {
                Assert.StartsWith("sha256:", l["inputDigest"]!.GetValue<string>(), StringComparison.Ordinal);
                Assert.Equal(64, l["hash"]!.GetValue<string>().Length);
                Assert.False(string.IsNullOrEmpty(l["signature"]!.GetValue<string>()));
                Assert.Contains("EU-AI-ACT:Art.12", l["controls"]!.AsArray().Select(c => c!.GetValue<string>()));
            });
            Assert.Contains("EU-AI-ACT:Art.14", lines[2]["controls"]!.AsArray().Select(c => c!.GetValue<string>()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Records_of_sessions_deciding_at_once_verify_over_http_and_from_an_export_whichever_way_their_batches_were_signed()
    {
        using var client = silo.Client();
        var sessions = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => client.OpenSessionAsync(new OpenSessionRequest("demo-agent"))));
        // Every session decides one call at a time, all sessions at once: records meet in the store's batches.
        await Task.WhenAll(sessions.Select(async session =>
        {
            for (var i = 0; i < 4; i++)
                await client.DecideAsync(session.Id, new DecisionRequest("read_file", new ResourceRef("Document", $"d{i}", JsonSerializer.SerializeToElement(new { fleet = "research" }))));
        }));
        var path = Path.Combine(Path.GetTempPath(), $"evidence-{Guid.NewGuid():N}.jsonl");
        try
        {
            foreach (var session in sessions)
            {
                var verify = await Authz("evidence", "verify", "--session", session.Id);
                Assert.Equal(ExitCodes.Success, verify.ExitCode);
                // The open record and the four decisions.
                Assert.Contains($"session:{session.Id}: OK, 5 records", verify.Output, StringComparison.Ordinal);
            }
            Assert.Equal(ExitCodes.Success, (await Authz("evidence", "export", "--out", path)).ExitCode);
            var fromFile = await Authz("evidence", "verify", "--file", path, "--json");
            Assert.Equal(ExitCodes.Success, fromFile.ExitCode);
            var results = JsonNode.Parse(fromFile.Output)!.AsArray();
            foreach (var session in sessions)
                Assert.Contains(results, r => r!["chain"]!.GetValue<string>() == $"session:{session.Id}" && r["valid"]!.GetValue<bool>() && r["records"]!.GetValue<long>() == 5);
            // A record written in a batch carries its audit path in the export, and signed alone it carries none.
            var lines = (await File.ReadAllLinesAsync(path)).Select(l => JsonNode.Parse(l)!.AsObject()).Where(l => l["type"] is null).ToArray();
            Assert.All(lines.Where(l => l["batchProof"] is not null), l => Assert.Matches("^[0-9]+/[0-9]+(:[0-9a-f]{64})+$", l["batchProof"]!.GetValue<string>()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Verify_all_covers_the_governance_chain_and_every_session()
    {
        var (session, _) = await DecideSomeAsync();
        var all = await Authz("evidence", "verify", "--all", "--json");
        Assert.Equal(ExitCodes.Success, all.ExitCode);
        var results = JsonNode.Parse(all.Output)!.AsArray();
        Assert.Contains(results, r => r!["chain"]!.GetValue<string>() == "governance" && r["records"]!.GetValue<long>() >= 1);
        Assert.Contains(results, r => r!["chain"]!.GetValue<string>() == $"session:{session}");
        Assert.All(results, r => Assert.True(r!["valid"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task Verify_needs_a_chain_and_names_unknown_sessions()
    {
        var none = await Authz("evidence", "verify");
        Assert.Equal(ExitCodes.Error, none.ExitCode);
        Assert.Contains("--session", none.Error, StringComparison.Ordinal);
        var unknown = await Authz("evidence", "verify", "--session", "no-such-session");
        Assert.Equal(ExitCodes.Error, unknown.ExitCode);
        Assert.Contains("not found", unknown.Error, StringComparison.Ordinal);
    }
}
