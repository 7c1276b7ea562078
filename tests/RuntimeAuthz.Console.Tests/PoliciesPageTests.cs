using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace RuntimeAuthz.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class PoliciesPageTests(ConsoleFixture fixture)
{
    [Fact]
    public async Task Governance_sees_the_diff_of_a_new_version_and_rolls_it_back()
    {
        var current = await fixture.Admin.ExpectAsync(HttpStatusCode.OK, fixture.Admin.GetAsync("v1/policies/current"));
        var before = current.Body["version"]!.GetValue<long>();
        var text = current.Text("policies");
        const string added = "forbid (principal, action == Action::\"export_data\", resource);";
        var published = await fixture.Admin.ExpectAsync(HttpStatusCode.Created, fixture.Admin.PostAsync("v1/policies", new JsonObject
        {
            ["policies"] = text + "\n@id(\"no-exports\")\n" + added + "\n", ["note"] = "console test: no exports",
        }));
        var newer = published.Body["version"]!.GetValue<long>();

        var page = await fixture.SignInAsync("gina-governance", "governance", "#/policies");
        await Expect(page.Locator("section.detail h2")).ToHaveTextAsync($"Version {before} → {newer}");
        var diff = page.GetByLabel("policy diff");
        await Expect(diff.Locator(".diff-add")).ToContainTextAsync("+ " + added);
        await Expect(diff.Locator(".diff-del")).ToHaveCountAsync(0);
        await ConsoleFixture.ScreenshotAsync(page, "policies");

        await page.GetByLabel("Note").FillAsync("exports are fine again");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Roll back to version {before}" }).ClickAsync();
        await Expect(page.Locator("tr[data-version]").First).ToContainTextAsync($"rollback to {before}");

        var rolledBack = await fixture.Admin.ExpectAsync(HttpStatusCode.OK, fixture.Admin.GetAsync("v1/policies/current"));
        Assert.Equal(newer + 1, rolledBack.Body["version"]!.GetValue<long>());
        Assert.Equal(before, rolledBack.Body["rolledBackFrom"]!.GetValue<long>());
        Assert.Equal(text, rolledBack.Text("policies"));
        Assert.Equal("gina-governance", rolledBack.Text("author"));
        // The new current version against the one before: the forbid is gone again.
        await Expect(page.GetByLabel("policy diff").Locator(".diff-del")).ToContainTextAsync("- " + added);
    }
}
