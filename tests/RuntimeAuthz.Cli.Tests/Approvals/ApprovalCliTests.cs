using System.Net;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests.Approvals;

public sealed class ApprovalCliTests
{
    private const string Id = "s-42~0123456789abcdef";
    private const string Path = "/v1/approvals/s-42~0123456789abcdef";

    private static string Approval(string status, string approvals = "[]", string? reason = null)
    {
        var reasonJson = reason is null ? "null" : JsonSerializer.Serialize(reason);
        var digest = "sha256:" + new string('a', 64);
        return $$$"""
            {"id":"{{{Id}}}","sessionId":"s-42","agentId":"billing-bot","status":"{{{status}}}","action":"refund","resource":"Invoice::\"inv-7\"",
             "call":{"agentId":null,"action":"refund","input":{"amount":120}},"bindingDigest":"{{{digest}}}",
             "determiningPolicies":["policy2"],"policyVersion":3,"sessionRisk":12,"timeline":["2026-11-28T10:10:00Z read_invoice Invoice::\"inv-7\": Allow"],
             "requester":"agent-billing-bot","whoMayApprove":"an approver other than agent 'billing-bot', its owner and the requester","requiredApprovals":1,
             "approvals":{{{approvals}}},"requestedAt":"2026-11-28T11:58:00Z","expiresAt":"2026-11-28T12:03:00Z",
             "reason":{{{reasonJson}}},"requestDecisionId":"{{{Guid.Empty}}}","waitUrl":"http://x{{{Path}}}/wait"}
            """;
    }

    [Fact]
    public async Task List_prints_a_table_and_ids_for_scripts()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/approvals", HttpStatusCode.OK, $$"""
            [{"id":"{{Id}}","sessionId":"s-42","agentId":"billing-bot","action":"refund","resource":"Invoice::\"inv-7\"","status":"pending",
              "requestedAt":"2026-11-28T11:58:00Z","expiresAt":"2026-11-28T12:03:00Z","requiredApprovals":2,"approvals":1},
             {"id":"s-9~00000000000000aa","sessionId":"s-9","agentId":"other","action":"refund","resource":"Invoice::\"inv-8\"","status":"pending",
              "requestedAt":"2026-11-28T11:58:00Z","expiresAt":"2026-11-28T12:03:00Z","requiredApprovals":1,"approvals":0}]
            """);

        var table = await cli.RunAsync("approvals", "list", "--status", "pending");
        Assert.Equal(ExitCodes.Success, table.ExitCode);
        Assert.StartsWith("ID", table.OutputLines[0], StringComparison.Ordinal);
        Assert.Contains("1/2", table.OutputLines[1], StringComparison.Ordinal);

        var ids = await cli.RunAsync("approvals", "list", "--session", "s-42", "--ids");
        Assert.Equal([Id], ids.OutputLines);
    }

    [Fact]
    public async Task Approve_sends_the_comment_and_shows_the_request()
    {
        var cli = new CliHarness();
        cli.Handler.On("POST", $"{Path}/approve", HttpStatusCode.OK, Approval("approved", """[{"approver":"alice","at":"2026-11-28T11:59:00Z","comment":"ok"}]"""));

        var result = await cli.RunAsync("approvals", "approve", Id, "--comment", "ok");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal("ok", JsonDocument.Parse(cli.Handler.Requests[0].Body!).RootElement.GetProperty("comment").GetString());
        Assert.Contains(result.OutputLines, l => l.StartsWith("Status", StringComparison.Ordinal) && l.EndsWith("approved", StringComparison.Ordinal));
        Assert.Contains(result.OutputLines, l => l.StartsWith("Input", StringComparison.Ordinal) && l.Contains("\"amount\":120", StringComparison.Ordinal));
        Assert.Contains(result.OutputLines, l => l.StartsWith("Approvals", StringComparison.Ordinal) && l.EndsWith("1/1: alice", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reject_needs_a_reason()
    {
        var cli = new CliHarness();
        cli.Handler.On("POST", $"{Path}/reject", HttpStatusCode.OK, Approval("rejected", reason: "not this vendor"));

        var empty = await cli.RunAsync("approvals", "reject", Id, "--reason", " ");
        Assert.Equal(ExitCodes.Error, empty.ExitCode);
        Assert.Contains("--reason", empty.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Handler.Requests);

        var rejected = await cli.RunAsync("approvals", "reject", Id, "--reason", "not this vendor");
        Assert.Equal(ExitCodes.Success, rejected.ExitCode);
        Assert.Equal("not this vendor", JsonDocument.Parse(cli.Handler.Requests[0].Body!).RootElement.GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("approved", ExitCodes.Success)]
    [InlineData("rejected", ExitCodes.Deny)]
    [InlineData("expired", ExitCodes.Deny)]
    [InlineData("pending", ExitCodes.ApprovalRequired)]
    public async Task Wait_exits_by_how_the_request_was_decided(string status, int exitCode)
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", $"{Path}/wait", HttpStatusCode.OK, Approval(status));

        var result = await cli.RunAsync("approvals", "wait", Id, "--timeout", "90s");

        Assert.Equal(exitCode, result.ExitCode);
        // A pending answer is asked again until the wait is over: at most two calls for 90 s (60 s each).
        Assert.InRange(cli.Handler.Requests.Count, 1, status == "pending" ? 3 : 1);
    }

    [Fact]
    public async Task A_bad_timeout_is_a_clear_error()
    {
        var cli = new CliHarness();
        var result = await cli.RunAsync("approvals", "wait", Id, "--timeout", "soon");
        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains("--timeout", result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Handler.Requests);
    }
}

public sealed class CatalogCliTests
{
    private const string View = """
        {"policyVersion":4,"catalog":{"actions":{}},"unknownActions":"irreversible",
         "actions":[{"name":"send_payment","reversibility":"irreversible","category":"financial","known":true,"source":"catalog"}]}
        """;

    [Fact]
    public async Task Show_lists_each_action_with_its_reversibility()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog", HttpStatusCode.OK, View);
        var result = await cli.RunAsync("catalog", "show");
        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Contains("count as irreversible", result.OutputLines[0], StringComparison.Ordinal);
        Assert.Contains(result.OutputLines, l => l.StartsWith("send_payment", StringComparison.Ordinal) && l.Contains("financial", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Publish_sends_the_file_and_refuses_a_file_that_is_not_json()
    {
        var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/catalog", HttpStatusCode.Created, View);
        var good = Path.GetTempFileName();
        var bad = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(good, """{"actions": {"send_payment": {"reversibility": "irreversible", "category": "financial"}}}""");
            await File.WriteAllTextAsync(bad, "{ not json");
            var published = await cli.RunAsync("catalog", "publish", good, "--note", "payments");
            Assert.Equal(ExitCodes.Success, published.ExitCode);
            var body = JsonDocument.Parse(cli.Handler.Requests[0].Body!).RootElement;
            Assert.Equal("financial", body.GetProperty("catalog").GetProperty("actions").GetProperty("send_payment").GetProperty("category").GetString());
            Assert.Equal("payments", body.GetProperty("note").GetString());

            var refused = await cli.RunAsync("catalog", "publish", bad);
            Assert.Equal(ExitCodes.Error, refused.ExitCode);
            Assert.Contains("is not JSON", refused.Error, StringComparison.Ordinal);
            var missing = await cli.RunAsync("catalog", "publish", bad + ".missing");
            Assert.Contains("not found", missing.Error, StringComparison.Ordinal);
            Assert.Single(cli.Handler.Requests);
        }
        finally
        {
            File.Delete(good);
            File.Delete(bad);
        }
    }
}
