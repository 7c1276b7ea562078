using System.Net;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace RuntimeAuthz.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class AgentsPageTests(ConsoleFixture fixture)
{
    [Fact]
    public async Task A_responder_suspends_an_agent_and_its_next_decision_is_denied()
    {
        var agent = await TestAgent.RegisterAsync(fixture, "kill-bot", "read_file");
        var session = await agent.OpenSessionAsync();
        Assert.Equal("Allow", (await agent.DecideAsync(session, "read_file", "Document", "a"))["outcome"]!.GetValue<string>());

        var page = await fixture.SignInAsync("rita-responder", "responder", "#/agents");
        await page.Locator($"tr[data-agent='{agent.Id}']").ClickAsync();
        await Expect(page.Locator("#agent-status")).ToHaveTextAsync("active");
        var suspend = page.GetByRole(AriaRole.Button, new() { Name = "Suspend agent" });
        await Expect(suspend).ToBeDisabledAsync(); // the kill switch needs a reason
        await page.GetByLabel("Reason").First.FillAsync("incident 7");
        await suspend.ClickAsync();
        await Expect(page.Locator("#agent-status")).ToContainTextAsync("suspended (incident 7, by rita-responder)");
        await ConsoleFixture.ScreenshotAsync(page, "agents");

        var after = await agent.DecideAsync(session, "read_file", "Document", "a");
        Assert.Equal("Deny", after["outcome"]!.GetValue<string>());
        Assert.Equal("agent-suspended", after["denyReason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Revoking_a_grant_shows_the_sub_delegations_it_cuts_off_before_it_is_made()
    {
        var lead = await TestAgent.RegisterAsync(fixture, "lead-bot");
        var helper = await TestAgent.RegisterAsync(fixture, "help-bot");
        var leadGrant = await TestAgent.GrantAsync(fixture.Admin, lead.Id, ["read_file"]);
        var helperGrant = await TestAgent.GrantAsync(fixture.Admin, helper.Id, ["read_file"], TestAgent.DerivedFrom(lead.Id, leadGrant));
        var helperSession = await helper.OpenSessionAsync();
        Assert.Equal("Allow", (await helper.DecideAsync(helperSession, "read_file", "Document", "a"))["outcome"]!.GetValue<string>());

        var page = await fixture.SignInAsync("gina-governance", "governance", $"#/agents/{lead.Id}");
        var node = page.Locator($"ul.tree > li[data-grant='{leadGrant}']");
        await Expect(node.Locator($"li[data-grant='{helperGrant}']")).ToContainTextAsync($"{helper.Id}: read_file");
        await node.GetByRole(AriaRole.Button, new() { Name = "Revoke…" }).ClickAsync();
        var preview = page.GetByRole(AriaRole.Dialog, new() { Name = "revocation preview" });
        await Expect(preview).ToContainTextAsync("Revoking this grant cuts off 2 grants of 2 agents");
        await Expect(preview.Locator($"li[data-cut='{helperGrant}']")).ToContainTextAsync(helper.Id);
        await ConsoleFixture.ScreenshotAsync(page, "agents-revocation-preview");

        // Shown, not made: the helper's grant still works.
        Assert.Equal("Allow", (await helper.DecideAsync(helperSession, "read_file", "Document", "b"))["outcome"]!.GetValue<string>());

        await preview.GetByLabel("Reason").FillAsync("project over");
        await preview.GetByRole(AriaRole.Button, new() { Name = "Revoke 2 grants" }).ClickAsync();
        await Expect(page.GetByLabel("delegation tree").Locator("li")).ToHaveCountAsync(0);
        await Expect(page.Locator("ul.revoked")).ToContainTextAsync("project over");

        var helperGrants = await fixture.Admin.ExpectAsync(HttpStatusCode.OK, fixture.Admin.GetAsync($"v1/agents/{helper.Id}/grants"));
        Assert.Empty(helperGrants.Body["grants"]!.AsArray());
        Assert.Equal(helperGrant, helperGrants.Body["revoked"]![0]!["id"]!.GetValue<string>());
        Assert.Equal("no-delegation", (await helper.DecideAsync(helperSession, "read_file", "Document", "c"))["denyReason"]!.GetValue<string>());
    }
}
