using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace RuntimeAuthz.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class OidcSignInTests(ConsoleFixture fixture)
{
    [Fact]
    public async Task The_console_signs_in_at_the_configured_authority_with_code_and_pkce_and_calls_the_api_with_its_token()
    {
        await using var authority = await LoopbackAuthority.StartAsync("olga@example.com", "governance");
        var logs = Path.Combine(RepoPaths.Root, ".data", "logs", "console-tests-oidc-silo.log");
        await using var silo = await SiloProcess.StartAsync(RepoPaths.Root, new SiloLaunch
        {
            StorageConnectionString = fixture.Azurite.ConnectionString,
            ExtraArgs =
            [
                $"--Authentication:Authority={authority.Issuer}", "--Authentication:RequireHttpsMetadata=false",
                $"--Console:Oidc:ClientId={LoopbackAuthority.ClientId}", $"--Console:Oidc:Resource={LoopbackAuthority.Audience}",
            ],
        }, logs);

        var context = await fixture.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(silo.BaseAddress, "console/#/policies").ToString());
        await page.GetByRole(AriaRole.Button, new() { Name = $"Sign in with {authority.Issuer.Authority}" }).ClickAsync();

        await Expect(page.Locator("header .me")).ToHaveTextAsync("olga@example.com (governance)");
        await Expect(page.Locator("header nav a")).ToHaveTextAsync(["Agents", "Policies"]);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Policies" })).ToBeVisibleAsync();
        Assert.DoesNotContain("code=", page.Url); // the code is gone from the address bar once redeemed

        var request = Assert.Single(authority.AuthorizeRequests);
        Assert.Equal("code", request.ResponseType);
        Assert.Equal("S256", request.CodeChallengeMethod);
        Assert.False(string.IsNullOrEmpty(request.CodeChallenge));
        Assert.Contains("openid", request.Scope.Split(' '));
        Assert.Equal(LoopbackAuthority.Audience, request.Resource);
        Assert.Equal(1, authority.RedeemedCodes); // redeemed with the verifier of that challenge
        var stored = await page.EvaluateAsync<string>("() => Object.keys(localStorage).join(',')");
        Assert.Equal("", stored); // nothing of the sign-in outlives the tab
    }
}
