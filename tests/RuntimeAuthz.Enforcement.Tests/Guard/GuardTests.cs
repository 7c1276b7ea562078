using System.Text.Json;
using Microsoft.Extensions.AI;
using RuntimeAuthz.Client;
using RuntimeAuthz.Enforcement.AI;
using RuntimeAuthz.Enforcement.Tests.Infrastructure;

namespace RuntimeAuthz.Enforcement.Tests.Guard;

/// <summary>
/// The Microsoft.Extensions.AI guard: a scripted model asks for tool calls through a real function-invoking pipeline, the
/// real silo decides them. The tools count their own runs, so "did not run" is the tool's word, not the guard's.
/// </summary>
[Collection(EnforcementCollection.Name)]
public sealed class GuardTests(EnforcementEnvironment environment)
{
    private int weatherRuns, wipeRuns, paymentRuns;

    private AIFunction Weather => AIFunctionFactory.Create((string city) => { Interlocked.Increment(ref weatherRuns); return new { city, forecast = "sunny" }; }, "get_weather");

    private AIFunction Wipe => AIFunctionFactory.Create((string disk) => { Interlocked.Increment(ref wipeRuns); return "wiped " + disk; }, "wipe_disk");

    private AIFunction Payment => AIFunctionFactory.Create((string to, int amount) => { Interlocked.Increment(ref paymentRuns); return new { paid = amount, to }; }, "send_payment");

    /// <summary>Payments act on the account they go to; everything else is the tool itself.</summary>
    private static GuardedCall Describe(AIFunction function, AIFunctionArguments arguments) => function.Name == "send_payment"
        ? new GuardedCall("send_payment", new ResourceRef("Account", arguments["to"]?.ToString() ?? ""), AuthorizationGuard.InputOf(arguments))
        : AuthorizationGuard.ToolCall(function, arguments);

    /// <summary>A guard for the agent, as an enforcement point; it does not hold calls (approval requests come back at once).</summary>
    private AuthorizationGuard GuardFor(string agentId, Uri? cluster = null)
    {
        var client = cluster is null ? environment.ClientAs(EnforcementEnvironment.EnforcementPoint) : new AuthzClient(cluster, timeout: TimeSpan.FromSeconds(5));
        var enforcer = new AuthorizationEnforcer(new AuthzClientBackend(client), new EnforcementOptions { ApprovalWait = TimeSpan.Zero });
        return new AuthorizationGuard(enforcer, agentId, Describe);
    }

    private static IChatClient Pipeline(ScriptedChatClient model, AuthorizationGuard guard) => new ChatClientBuilder(model).UseRuntimeAuthz(guard).Build();

    private static FunctionCallContent Call(string id, string name, object arguments) =>
        new(id, name, JsonSerializer.Deserialize<Dictionary<string, object?>>(JsonSerializer.Serialize(arguments)));

    [Fact]
    public async Task Allowed_calls_run_and_report_their_result_denied_ones_do_not_run_and_the_model_is_told_why()
    {
        await environment.RegisterAgentAsync("ai-guarded", ["get_weather", "wipe_disk"], ["Tool"]);
        var model = new ScriptedChatClient(
            [Call("c1", "get_weather", new { city = "Paris" }), Call("c2", "wipe_disk", new { disk = "/" })],
            [new TextContent("It is sunny in Paris; I may not wipe disks.")]);
        var guard = GuardFor("ai-guarded");

        var response = await Pipeline(model, guard).GetResponseAsync("weather in Paris, then wipe the disk", new ChatOptions { Tools = [Weather, Wipe] });

        Assert.Equal("It is sunny in Paris; I may not wipe disks.", response.Text);
        Assert.Equal(1, weatherRuns);
        Assert.Equal(0, wipeRuns);
        var refused = Assert.IsType<ToolCallRefused>(model.LastResults["c2"]);
        Assert.Equal(DenyReasons.NotPermitted, refused.DenyReason);
        Assert.Contains("sunny", JsonSerializer.Serialize(model.LastResults["c1"]));
        var session = await environment.AdminClient.GetSessionAsync(guard.Session.SessionId!);
        Assert.Equal(
            ["request get_weather Allow", "response get_weather", "request wipe_disk Deny"],
            session.Events!.Select(e => $"{e.Kind.ToString().ToLowerInvariant()} {e.Action}{(e.Outcome is { } o ? " " + o : "")}"));
    }

    [Fact]
    public async Task A_call_held_for_approval_becomes_an_approval_request_and_the_approved_retry_runs_once_with_the_approval()
    {
        await environment.RegisterAgentAsync("ai-approval", ["send_payment"], ["Account"]);
        var model = new ScriptedChatClient(
            [Call("p1", "send_payment", new { to = "ai-acme", amount = 500 })],
            [new TextContent("Paid 500 to ai-acme.")]);
        var guard = GuardFor("ai-approval");
        var options = new ChatOptions { Tools = [Payment] };
        List<ChatMessage> history = [new(ChatRole.User, "pay ai-acme 500")];

        // The cluster answers ApprovalRequired; nobody has approved within the guard's wait, so the application gets an approval request.
        var first = await Pipeline(model, guard).GetResponseAsync(history, options);
        var request = Assert.Single(first.Messages.SelectMany(m => m.Contents).OfType<ToolApprovalRequestContent>());
        Assert.Equal(0, paymentRuns);
        var pending = await environment.PendingApprovalOfAsync("ai-approval");
        Assert.Equal(pending.Id, request.AdditionalProperties![GuardedChatClient.ApprovalIdProperty]);
        Assert.Equal("send_payment", Assert.IsType<FunctionCallContent>(request.ToolCall).Name);
        Assert.DoesNotContain(first.Messages.SelectMany(m => m.Contents), c => c is FunctionResultContent);

        // A human approves in the cluster; the application's answer goes back into the conversation and the call runs once.
        await environment.ApproverClient.ApproveAsync(pending.Id, new ApproveRequest("ok"));
        history.AddRange(first.Messages);
        history.Add(new ChatMessage(ChatRole.User, [request.CreateResponse(approved: true)]));
        var retried = await Pipeline(model, guard).GetResponseAsync(history, options);

        Assert.Equal("Paid 500 to ai-acme.", retried.Text);
        Assert.Equal(1, paymentRuns);
        Assert.Contains("\"paid\":500", JsonSerializer.Serialize(model.LastResults["p1"]));
        var session = await environment.AdminClient.GetSessionAsync(guard.Session.SessionId!);
        Assert.Equal(["ApprovalRequired", "Allow"], session.Events!.Where(e => e.Kind == SessionEventKind.Request).Select(e => e.Outcome.ToString()));
        Assert.Equal(SessionEventKind.Response, session.Events![^1].Kind);
        Assert.Equal("consumed", (await environment.ApproverClient.GetApprovalAsync(pending.Id)).Status);
    }

    [Fact]
    public async Task A_rejected_approval_request_never_runs_the_call()
    {
        await environment.RegisterAgentAsync("ai-rejected", ["send_payment"], ["Account"]);
        var model = new ScriptedChatClient(
            [Call("p9", "send_payment", new { to = "ai-rejected", amount = 50 })],
            [new TextContent("The payment was not approved.")]);
        var guard = GuardFor("ai-rejected");
        var options = new ChatOptions { Tools = [Payment] };
        List<ChatMessage> history = [new(ChatRole.User, "pay ai-rejected 50")];

        var first = await Pipeline(model, guard).GetResponseAsync(history, options);
        var request = Assert.Single(first.Messages.SelectMany(m => m.Contents).OfType<ToolApprovalRequestContent>());
        history.AddRange(first.Messages);
        history.Add(new ChatMessage(ChatRole.User, [request.CreateResponse(approved: false, reason: "not this vendor")]));
        var answered = await Pipeline(model, guard).GetResponseAsync(history, options);

        Assert.Equal("The payment was not approved.", answered.Text);
        Assert.Equal(0, paymentRuns);
        Assert.Contains("rejected", model.LastResults["p9"]?.ToString());
    }

    [Fact]
    public async Task With_the_cluster_unreachable_no_function_runs()
    {
        var model = new ScriptedChatClient(
            [Call("c1", "get_weather", new { city = "Oslo" })],
            [new TextContent("I could not check the weather.")]);
        var guard = GuardFor("ai-guarded", cluster: new Uri($"http://127.0.0.1:{FreePorts.Next()}"));

        var response = await Pipeline(model, guard).GetResponseAsync("weather in Oslo", new ChatOptions { Tools = [Weather] });

        Assert.Equal("I could not check the weather.", response.Text);
        Assert.Equal(0, weatherRuns);
        Assert.Equal("authorization-unavailable", Assert.IsType<ToolCallRefused>(model.LastResults["c1"]).DenyReason);
    }

    [Fact]
    public async Task A_call_that_cannot_be_described_is_not_run()
    {
        var model = new ScriptedChatClient(
            [Call("c1", "send_payment", new { amount = 5 })],
            [new TextContent("I need an account.")]);
        var guard = GuardFor("ai-guarded");

        var response = await Pipeline(model, guard).GetResponseAsync("pay someone", new ChatOptions { Tools = [Payment] });

        Assert.Equal("I need an account.", response.Text);
        Assert.Equal(0, paymentRuns);
        Assert.IsType<ToolCallRefused>(model.LastResults["c1"]);
    }
}
