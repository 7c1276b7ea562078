using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using RuntimeAuthz.Client;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.McpGateway.Tests.Infrastructure;

namespace RuntimeAuthz.McpGateway.Tests;

/// <summary>An agent's MCP client, through the gateway, to the npm filesystem and everything servers, decided by a 2-silo cluster.</summary>
[Collection(GatewayCollection.Name)]
public sealed class GatewayEndToEndTests(GatewayEnvironment env)
{
    [Fact]
    public async Task Reads_are_allowed_and_answered_and_every_call_is_in_the_timeline_and_evidence_with_its_outcome()
    {
        var agent = await env.RegisterAgentAsync("reader");
        var file = Path.Combine(env.Files, $"{agent}-notes.txt");
        await File.WriteAllTextAsync(file, "the quarterly numbers");

        await using (var client = await GatewayEnvironment.ConnectAsync(env.Gateway, TestTokens.ForAgent(agent)))
        {
            var tools = (await client.ListToolsAsync()).Select(t => t.Name).ToList();
            Assert.Contains("fs.read_text_file", tools);
            Assert.Contains("everything.echo", tools);

            var read = await client.CallToolAsync("fs.read_text_file", new Dictionary<string, object?> { ["path"] = file });
            var echo = await client.CallToolAsync("everything.echo", new Dictionary<string, object?> { ["message"] = "hello" });

            Assert.NotEqual(true, read.IsError);
            Assert.Contains("the quarterly numbers", Text(read));
            Assert.NotEqual(true, echo.IsError);
            Assert.Contains("hello", Text(echo));
        }

        var sessionId = Assert.Single(await env.SessionsOfAsync(agent));
        // The MCP session ended with the client, and so did the authorization session.
        var session = await Eventually.UntilAsync("the authorization session closed with the MCP session",
            () => env.Admin.GetSessionAsync(sessionId), s => s.Status == SessionStatus.Closed);
        var events = session.Events!;
        foreach (var action in new[] { "fs_read_text_file", "everything_echo" })
        {
            Assert.Contains(events, e => e.Kind == SessionEventKind.Request && e.Action == action && e.Outcome == DecisionOutcome.Allow);
            Assert.Contains(events, e => e.Kind == SessionEventKind.Response && e.Action == action);
        }
        var evidence = await env.EvidenceOfAsync(sessionId);
        var decisions = evidence.Where(r => Str(r, "kind") == "decision").ToList();
        var outcomes = evidence.Where(r => Str(r, "kind") == "outcome").ToList();
        Assert.Equal(2, decisions.Count(d => Str(d, "outcome") == "Allow"));
        foreach (var decision in decisions)
        {
            var outcome = Assert.Single(outcomes, o => Str(o, "decisionId") == Str(decision, "decisionId"));
            Assert.Equal("enforcement-point", Str(outcome, "reporterKind"));
        }
    }

    [Fact]
    public async Task A_write_is_held_until_approved_then_performed_once()
    {
        var agent = await env.RegisterAgentAsync("writer");
        var file = Path.Combine(env.Files, $"{agent}-approved.txt");
        await using var client = await GatewayEnvironment.ConnectAsync(env.Gateway, TestTokens.ForAgent(agent));

        var held = client.CallToolAsync("fs.write_file", new Dictionary<string, object?> { ["path"] = file, ["content"] = "signed off" }).AsTask();
        var pending = await Eventually.UntilAsync("the write's approval request",
            async () => (await env.Approver.ListApprovalsAsync("pending")).Where(a => a.AgentId == agent).ToList(), list => list.Count > 0);
        var request = Assert.Single(pending);
        Assert.False(held.IsCompleted);
        Assert.False(File.Exists(file));

        await env.Approver.ApproveAsync(request.Id, new ApproveRequest("tests"));
        var written = await held;

        Assert.NotEqual(true, written.IsError);
        Assert.Equal("signed off", await File.ReadAllTextAsync(file));
        var approval = await env.Approver.GetApprovalAsync(request.Id);
        Assert.Equal("consumed", approval.Status);
        var sessionId = Assert.Single(await env.SessionsOfAsync(agent));
        var events = (await env.Admin.GetSessionAsync(sessionId)).Events!.Where(e => e.Action == "fs_write_file").ToList();
        Assert.Equal([DecisionOutcome.ApprovalRequired, DecisionOutcome.Allow],
            events.Where(e => e.Kind == SessionEventKind.Request).Select(e => e.Outcome!.Value).ToArray());
        Assert.Single(events, e => e.Kind == SessionEventKind.Response);
    }

    [Fact]
    public async Task An_approval_not_given_in_time_answers_pending_and_the_retried_call_waits_on_the_same_approval()
    {
        var gateway = await env.GetUnheldGatewayAsync();
        var agent = await env.RegisterAgentAsync("retrier");
        var file = Path.Combine(env.Files, $"{agent}-later.txt");
        var arguments = new Dictionary<string, object?> { ["path"] = file, ["content"] = "after approval" };
        await using var client = await GatewayEnvironment.ConnectAsync(gateway, TestTokens.ForAgent(agent));

        var first = await client.CallToolAsync("fs.write_file", arguments);
        var refusal = Refusal(first);
        Assert.True(first.IsError);
        Assert.Equal("approval-pending", refusal["kind"]!.GetValue<string>());
        var approvalId = refusal["approvalId"]!.GetValue<string>();
        Assert.Contains(approvalId, Text(first));
        Assert.False(File.Exists(file));

        var stillPending = await client.CallToolAsync("fs.write_file", arguments);
        Assert.Equal(approvalId, Refusal(stillPending)["approvalId"]!.GetValue<string>());
        await env.Approver.ApproveAsync(approvalId, new ApproveRequest("tests"));
        var retried = await client.CallToolAsync("fs.write_file", arguments);

        Assert.NotEqual(true, retried.IsError);
        Assert.Equal("after approval", await File.ReadAllTextAsync(file));
        Assert.Single(await env.Approver.ListApprovalsAsync(), a => a.AgentId == agent);
    }

    [Fact]
    public async Task A_rejected_approval_is_answered_as_rejected_and_the_call_never_runs()
    {
        var gateway = await env.GetUnheldGatewayAsync();
        var agent = await env.RegisterAgentAsync("rejected");
        var file = Path.Combine(env.Files, $"{agent}-never.txt");
        var arguments = new Dictionary<string, object?> { ["path"] = file, ["content"] = "should not be written" };
        await using var client = await GatewayEnvironment.ConnectAsync(gateway, TestTokens.ForAgent(agent));
        var approvalId = Refusal(await client.CallToolAsync("fs.write_file", arguments))["approvalId"]!.GetValue<string>();

        await env.Approver.RejectAsync(approvalId, "not this file");
        var retried = await client.CallToolAsync("fs.write_file", arguments);

        Assert.True(retried.IsError);
        Assert.Equal("approval-rejected", Refusal(retried)["kind"]!.GetValue<string>());
        Assert.Contains("not this file", Text(retried));
        Assert.False(File.Exists(file));
    }

    [Fact]
    public async Task A_destructive_move_is_denied_with_its_policy_and_never_reaches_the_server()
    {
        var agent = await env.RegisterAgentAsync("mover");
        var file = Path.Combine(env.Files, $"{agent}-keep.txt");
        var destination = Path.Combine(env.Files, $"{agent}-gone.txt");
        await File.WriteAllTextAsync(file, "must stay");
        await using var client = await GatewayEnvironment.ConnectAsync(env.Gateway, TestTokens.ForAgent(agent));

        var moved = await client.CallToolAsync("fs.move_file", new Dictionary<string, object?> { ["source"] = file, ["destination"] = destination });

        Assert.True(moved.IsError);
        var refusal = Refusal(moved);
        Assert.Equal("denied", refusal["kind"]!.GetValue<string>());
        Assert.Equal("not-permitted", refusal["denyReason"]!.GetValue<string>());
        // The forbid is the third policy of the text: its id is policy2.
        Assert.Equal(["policy2"], refusal["policyIds"]!.AsArray().Select(p => p!.GetValue<string>()).ToArray());
        Assert.Contains("denied (not-permitted) by policy policy2", Text(moved));
        Assert.Equal("must stay", await File.ReadAllTextAsync(file));
        Assert.False(File.Exists(destination));
        var sessionId = Assert.Single(await env.SessionsOfAsync(agent));
        var events = (await env.Admin.GetSessionAsync(sessionId)).Events!.Where(e => e.Action == "fs_move_file").ToList();
        var request = Assert.Single(events);
        Assert.Equal(DecisionOutcome.Deny, request.Outcome);
    }

    [Fact]
    public async Task An_output_to_input_rule_holds_with_outcomes_reported_by_the_gateway_alone()
    {
        var agent = await env.RegisterAgentAsync("follower");
        var target = Path.Combine(env.Files, $"{agent}-made");
        var pointer = Path.Combine(env.Files, $"{agent}-pointer.txt");
        await File.WriteAllTextAsync(pointer, target);
        await using var client = await GatewayEnvironment.ConnectAsync(env.Gateway, TestTokens.ForAgent(agent));

        // No earlier read returned the path: refused, and the directory is not made.
        var early = await client.CallToolAsync("fs.create_directory", new Dictionary<string, object?> { ["path"] = target });
        Assert.True(early.IsError);
        Assert.Equal("denied", Refusal(early)["kind"]!.GetValue<string>());
        Assert.False(Directory.Exists(target));

        // The agent only calls tools; the gateway reports the read's output, and the rule sees it.
        var read = await client.CallToolAsync("fs.read_text_file", new Dictionary<string, object?> { ["path"] = pointer });
        Assert.NotEqual(true, read.IsError);
        var made = await client.CallToolAsync("fs.create_directory", new Dictionary<string, object?> { ["path"] = target });

        Assert.NotEqual(true, made.IsError);
        Assert.True(Directory.Exists(target));
        var sessionId = Assert.Single(await env.SessionsOfAsync(agent));
        var outcomes = (await env.EvidenceOfAsync(sessionId)).Where(r => Str(r, "kind") == "outcome").ToList();
        Assert.NotEmpty(outcomes);
        Assert.All(outcomes, o => Assert.Equal("enforcement-point", Str(o, "reporterKind")));
        Assert.All(outcomes, o => Assert.Equal(GatewayEnvironment.GatewaySubject, Str(o, "actor")));
    }

    [Fact]
    public async Task Trusted_servers_annotations_seed_the_catalog_and_untrusted_ones_do_not()
    {
        var catalog = await env.Admin.GetCatalogAsync();
        var actions = catalog.Actions.ToDictionary(a => a.GetProperty("name").GetString()!, a => a);

        Assert.Equal("read", actions["fs_read_text_file"].GetProperty("category").GetString());
        Assert.Equal("reversible", actions["fs_read_text_file"].GetProperty("reversibility").GetString());
        Assert.Equal("mcp:fs", actions["fs_read_text_file"].GetProperty("source").GetString());
        Assert.Equal("irreversible", actions["fs_write_file"].GetProperty("reversibility").GetString());
        Assert.Equal("reversible", actions["fs_create_directory"].GetProperty("reversibility").GetString());
        Assert.DoesNotContain(actions.Keys, name => name.StartsWith("everything_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_the_cluster_unreachable_an_otherwise_allowed_call_is_not_forwarded()
    {
        var silo = await env.StartSiloAsync();
        var gateway = await env.StartGatewayAsync(silo.BaseAddress);
        var agent = await env.RegisterAgentAsync("cutoff");
        var target = Path.Combine(env.Files, $"{agent}-never");
        var pointer = Path.Combine(env.Files, $"{agent}-pointer.txt");
        await File.WriteAllTextAsync(pointer, target);
        await using var client = await GatewayEnvironment.ConnectAsync(gateway, TestTokens.ForAgent(agent));
        Assert.NotEqual(true, (await client.CallToolAsync("fs.read_text_file", new Dictionary<string, object?> { ["path"] = pointer })).IsError);

        await silo.StopAsync();
        var refused = await client.CallToolAsync("fs.create_directory", new Dictionary<string, object?> { ["path"] = target });

        Assert.True(refused.IsError);
        Assert.Equal("unavailable", Refusal(refused)["kind"]!.GetValue<string>());
        Assert.Contains("not forwarded", Text(refused));
        Assert.False(Directory.Exists(target));
    }

    internal static string Text(CallToolResult result) => string.Join("\n", result.Content.OfType<TextContentBlock>().Select(b => b.Text));

    internal static JsonObject Refusal(CallToolResult result) =>
        result.Meta?[McpGateway.ToolCallGate.RefusalMetaKey]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"no refusal in the result: {Text(result)}");

    private static string? Str(JsonObject record, string name) => record[name]?.GetValue<string>();
}
