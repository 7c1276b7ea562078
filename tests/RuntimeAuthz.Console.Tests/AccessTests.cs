using System.Net;
using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace RuntimeAuthz.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class AccessTests(ConsoleFixture fixture)
{
    private static readonly string[] Pages = ["approvals", "sessions", "agents", "policies", "evidence"];

    [Fact]
    public async Task An_agent_token_opens_no_console_page_and_none_of_the_apis_behind_them()
    {
        var agent = await TestAgent.RegisterAsync(fixture, "nosy-bot", "read_file");
        var session = await agent.OpenSessionAsync();
        var grant = (await fixture.Admin.GetAsync($"v1/agents/{agent.Id}/grants")).Body["grants"]![0]!["id"]!.GetValue<string>();

        // The agent's token, put where the console keeps a signed-in token (this tab's sessionStorage).
        var context = await fixture.Browser.NewContextAsync();
        var stored = JsonSerializer.Serialize(new { token = agent.Calls.Token, expiresAt = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds() });
        await context.AddInitScriptAsync($"sessionStorage.setItem('runtimeauthz.console.token', {JsonSerializer.Serialize(stored)});");
        var page = await context.NewPageAsync();
        foreach (var name in Pages)
        {
            await page.GotoAsync(new Uri(fixture.Silo.BaseAddress, $"console/#/{name}").ToString());
            await page.ReloadAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("403 requires permission 'console:open'");
            await Expect(page.Locator("header nav")).ToHaveCountAsync(0);
        }
        await ConsoleFixture.ScreenshotAsync(page, "agent-token-refused");

        foreach (var path in (string[])
                 [
                     "v1/console/access", "v1/approvals", "v1/agents", $"v1/agents/{agent.Id}", $"v1/agents/{agent.Id}/grants",
                     $"v1/agents/{agent.Id}/grants/{grant}/revocation-preview", $"v1/agents/{agent.Id}/revocation-preview",
                     "v1/policies", "v1/policies/current", $"v1/evidence/sessions/{session}", "v1/evidence/keys", "v1/evidence/governance",
                 ])
        {
            var reply = await agent.Calls.GetAsync(path);
            Assert.True(reply.Status == HttpStatusCode.Forbidden, $"GET /{path} with an agent token: {(int)reply.Status}");
        }
        foreach (var (path, body) in new[]
                 {
                     ($"v1/agents/{agent.Id}/status", """{"status":"active","reason":"myself"}"""),
                     ($"v1/agents/{agent.Id}/grants/{grant}/revoke", """{"reason":"x"}"""),
                     ("v1/policies/rollback", """{"version":1}"""),
                 })
        {
            var reply = await agent.Calls.PostAsync(path, System.Text.Json.Nodes.JsonNode.Parse(body)!);
            Assert.True(reply.Status == HttpStatusCode.Forbidden, $"POST /{path} with an agent token: {(int)reply.Status}");
        }
    }

    [Theory]
    [InlineData("approver", "approvals,sessions")]
    [InlineData("responder", "approvals,sessions,agents,policies,evidence")]
    [InlineData("auditor", "evidence")]
    [InlineData("governance", "agents,policies")]
    public async Task Each_role_sees_the_pages_its_permissions_can_use(string role, string expected)
    {
        var api = await fixture.TokenAsync("pages-" + role, role);
        var access = await api.ExpectAsync(HttpStatusCode.OK, api.GetAsync("v1/console/access"));
        var allowed = access.Body["pages"]!.AsArray().Where(p => p!["allowed"]!.GetValue<bool>()).Select(p => p!["name"]!.GetValue<string>());
        Assert.Equal(expected, string.Join(',', allowed));

        var page = await fixture.SignInAsync("pages-" + role, role);
        var links = await page.Locator("header nav a").AllInnerTextsAsync();
        Assert.Equal(expected.Split(','), links.Select(l => l.ToLowerInvariant()));
        var refused = Pages.Except(expected.Split(',')).FirstOrDefault();
        if (refused is null) return;
        await page.GotoAsync(new Uri(fixture.Silo.BaseAddress, $"console/#/{refused}").ToString());
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("403 your roles do not hold");
    }

    [Fact]
    public async Task Without_a_token_the_console_shows_its_sign_in_and_the_api_answers_401()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Silo.BaseAddress };
        var access = await anonymous.GetAsync("v1/console/access");
        Assert.Equal(HttpStatusCode.Unauthorized, access.StatusCode);

        var page = await fixture.OpenConsoleAsync("#/agents");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await page.GetByLabel("Subject").FillAsync("");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("header")).ToHaveCountAsync(0); // the form refuses an empty subject
        await ConsoleFixture.ScreenshotAsync(page, "sign-in");
    }
}
