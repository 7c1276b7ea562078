using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace RuntimeAuthz.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class SessionsPageTests(ConsoleFixture fixture)
{
    [Fact]
    public async Task A_responder_finds_a_denied_session_by_search_and_reads_its_timeline_and_risk()
    {
        var agent = await TestAgent.RegisterAsync(fixture, "db-bot", "read_file", "search_web", "delete_database");
        var quiet = await agent.OpenSessionAsync();
        Assert.Equal("Allow", (await agent.DecideAsync(quiet, "read_file", "Document", "q3"))["outcome"]!.GetValue<string>());
        var denied = await agent.OpenSessionAsync();
        Assert.Equal("Allow", (await agent.DecideAsync(denied, "read_file", "Document", "q3"))["outcome"]!.GetValue<string>());
        Assert.Equal("Allow", (await agent.DecideAsync(denied, "search_web", "WebSearch", "q"))["outcome"]!.GetValue<string>());
        var deny = await agent.DecideAsync(denied, "delete_database", "Database", "prod");
        Assert.Equal("not-permitted", deny["denyReason"]!.GetValue<string>());

        var page = await fixture.SignInAsync("rita-responder", "responder", "#/sessions");
        await page.GetByLabel("Agent").FillAsync(agent.Id);
        await page.GetByLabel("has denies").CheckAsync();
        // The session index is written off the decision path: search again until it has caught up.
        var found = page.GetByLabel("sessions found").Locator("tbody tr[data-session]");
        await Eventually.TrueAsync("the denied session to be found by search", async () =>
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
            await Expect(page.GetByLabel("sessions found")).ToBeVisibleAsync();
            return await found.CountAsync() == 1;
        });
        await Expect(found).ToHaveAttributeAsync("data-session", denied);
        await ConsoleFixture.ScreenshotAsync(page, "sessions-search");
        await found.ClickAsync();

        var timeline = page.GetByLabel("timeline").Locator("tbody tr");
        await Expect(timeline).ToHaveCountAsync(3);
        var denyRow = page.Locator("table.timeline tr.denied");
        await Expect(denyRow).ToHaveCountAsync(1);
        await Expect(denyRow).ToContainTextAsync("delete_database");
        await Expect(denyRow).ToContainTextAsync("not-permitted");
        await Expect(page.Locator("#session-risk")).ToHaveTextAsync("6"); // read_file 1 + search_web 5
        // Chart.js draws the cumulative risk of each decision, read from the evidence chain's riskAdded values.
        await Expect(page.Locator(".chart")).ToHaveAttributeAsync("data-points", "1,6,6");
        Assert.True(await page.Locator(".chart canvas").EvaluateAsync<bool>("c => c.width > 0 && c.height > 0"), "the chart's canvas is drawn");
        await ConsoleFixture.ScreenshotAsync(page, "sessions");
    }
}
