using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace RuntimeAuthz.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class ApprovalsPageTests(ConsoleFixture fixture)
{
    [Fact]
    public async Task An_approver_approves_a_held_call_in_the_console_and_the_waiting_agent_performs_it_once()
    {
        var agent = await TestAgent.RegisterAsync(fixture, "pay-bot", "send_payment");
        var session = await agent.OpenSessionAsync();
        var payment = new JsonObject { ["amount"] = 500, ["invoice"] = "INV-42" };
        var held = await agent.DecideAsync(session, "send_payment", "Account", "acme", payment);
        Assert.Equal("ApprovalRequired", held["outcome"]!.GetValue<string>());
        var approvalId = held["approval"]!["id"]!.GetValue<string>();

        // The agent waits for the human, then performs the call with the approval, and would try it again.
        var performed = Task.Run(async () =>
        {
            var status = "pending";
            for (var wait = 0; wait < 5 && status == "pending"; wait++)
                status = (await agent.Calls.ExpectAsync(HttpStatusCode.OK, agent.Calls.GetAsync($"v1/approvals/{approvalId}/wait?timeoutSeconds=60"))).Text("status");
            Assert.Equal("approved", status);
            var first = await agent.DecideAsync(session, "send_payment", "Account", "acme", payment, approvalId);
            var again = await agent.DecideAsync(session, "send_payment", "Account", "acme", payment, approvalId);
            return (first, again);
        });

        var page = await fixture.SignInAsync("carol-approver", "approver", "#/approvals");
        var row = page.Locator($"tr[data-approval='{approvalId}']");
        await row.ClickAsync();
        var call = page.GetByLabel("held call");
        await Expect(call).ToContainTextAsync("\"amount\": 500");
        await Expect(call).ToContainTextAsync("INV-42");
        await Expect(page.Locator("#approval-status")).ToHaveTextAsync("pending");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Reject" })).ToBeDisabledAsync(); // a rejection needs a reason
        await page.GetByLabel("Reason or comment").FillAsync("invoice 42 checked");
        await ConsoleFixture.ScreenshotAsync(page, "approvals");
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        // The waiting agent may already have used it by the time the page reads the request again.
        await Expect(page.Locator("#approval-status")).ToHaveTextAsync(new Regex("^(approved|consumed)$"));
        await Expect(page.Locator("article.approval")).ToContainTextAsync("carol-approver (\"invoice 42 checked\")");

        var (first, again) = await performed;
        Assert.Equal("Allow", first["outcome"]!.GetValue<string>());
        Assert.Equal("Deny", again["outcome"]!.GetValue<string>());
        Assert.Equal("approval-used", again["denyReason"]!.GetValue<string>());
        var approval = await fixture.Admin.ExpectAsync(HttpStatusCode.OK, fixture.Admin.GetAsync($"v1/approvals/{approvalId}"));
        Assert.Equal("consumed", approval.Text("status"));
        Assert.Equal("carol-approver", approval.Body["approvals"]![0]!["approver"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_rejection_with_its_reason_makes_the_agents_call_a_deny()
    {
        var agent = await TestAgent.RegisterAsync(fixture, "rej-bot", "send_payment");
        var session = await agent.OpenSessionAsync();
        var payment = new JsonObject { ["amount"] = 9000 };
        var approvalId = (await agent.DecideAsync(session, "send_payment", "Account", "acme", payment))["approval"]!["id"]!.GetValue<string>();

        var page = await fixture.SignInAsync("dave-approver", "approver", $"#/approvals/{Uri.EscapeDataString(approvalId)}");
        await page.GetByLabel("Reason or comment").FillAsync("amount too large for this vendor");
        await page.GetByRole(AriaRole.Button, new() { Name = "Reject" }).ClickAsync();
        await Expect(page.Locator("#approval-status")).ToHaveTextAsync("rejected");

        var retried = await agent.DecideAsync(session, "send_payment", "Account", "acme", payment, approvalId);
        Assert.Equal("Deny", retried["outcome"]!.GetValue<string>());
        Assert.Equal("approval-rejected", retried["denyReason"]!.GetValue<string>());
    }
}
