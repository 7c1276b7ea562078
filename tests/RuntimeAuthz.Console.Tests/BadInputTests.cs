using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace RuntimeAuthz.Console.Tests;

/// <summary>What a person types into the console reaches the API as it is, and the API's 4xx problem is what they see.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class BadInputTests(ConsoleFixture fixture)
{
    [Theory]
    [InlineData("sessions", "no-such-session", "404 session 'no-such-session' not found")]
    [InlineData("sessions", "bad id!", "400 session id")]
    [InlineData("evidence", "no-such-session", "404 session 'no-such-session' not found")]
    [InlineData("agents", "no-such-agent", "404 agent 'no-such-agent' not found")]
    [InlineData("approvals", "not-an-approval-id", "400")]
    public async Task An_unknown_or_malformed_id_shows_the_apis_problem(string page, string id, string expected)
    {
        var console = await fixture.SignInAsync("ivy-admin", "admin", $"#/{page}/{Uri.EscapeDataString(id)}");
        await Expect(console.GetByRole(AriaRole.Alert)).ToContainTextAsync(expected);
    }

    [Fact]
    public async Task A_session_search_the_api_refuses_shows_why()
    {
        var page = await fixture.SignInAsync("rita-responder", "responder", "#/sessions");
        await page.GetByLabel("Fleet").FillAsync(new string('f', 300));
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("400 fleet must be");
    }

    [Fact]
    public async Task A_suspension_without_a_reason_cannot_be_sent()
    {
        var agent = await TestAgent.RegisterAsync(fixture, "calm-bot", "read_file");
        var page = await fixture.SignInAsync("gina-governance", "governance", $"#/agents/{agent.Id}");
        var suspend = page.GetByRole(AriaRole.Button, new() { Name = "Suspend agent" });
        await page.GetByLabel("Reason").First.FillAsync("   ");
        await Expect(suspend).ToBeDisabledAsync();
        Assert.Equal("active", (await fixture.Admin.GetAsync($"v1/agents/{agent.Id}")).Text("status"));
    }
}
