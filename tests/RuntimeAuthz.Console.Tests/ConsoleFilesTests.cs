using System.Net;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class ConsoleFilesTests(ConsoleFixture fixture)
{
    [Fact]
    public async Task The_page_is_served_with_a_policy_that_allows_scripts_and_calls_only_from_the_silo()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Silo.BaseAddress };
        var index = await anonymous.GetAsync("console/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType?.MediaType);
        var csp = index.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("connect-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Equal("no-cache", index.Headers.CacheControl?.ToString());

        var html = await index.Content.ReadAsStringAsync();
        var script = System.Text.RegularExpressions.Regex.Match(html, "src=\"/console/(assets/[^\"]+\\.js)\"").Groups[1].Value;
        var asset = await anonymous.GetAsync("console/" + script);
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        Assert.Equal("text/javascript", asset.Content.Headers.ContentType?.MediaType);
        Assert.Contains("immutable", asset.Headers.CacheControl?.ToString()); // hashed names: cached for good

        var redirect = await new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = fixture.Silo.BaseAddress }.GetAsync("console");
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("/console/", redirect.Headers.Location?.ToString());
    }

    [Theory]
    [InlineData("console/assets/no-such-file.js")]
    [InlineData("console/..%2F..%2FRuntimeAuthz.Silo.dll")]
    [InlineData("console/..%5CRuntimeAuthz.Silo.dll")]
    public async Task Unknown_files_and_paths_out_of_the_console_folder_are_404(string path)
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Silo.BaseAddress };
        var reply = await anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, reply.StatusCode);
        Assert.Equal("application/problem+json", reply.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_configuration_offers_the_development_login_and_no_oidc_on_a_development_silo()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.Silo.BaseAddress };
        var config = JsonNode.Parse(await anonymous.GetStringAsync("console/config.json"))!;
        Assert.True(config["developmentLogin"]!.GetValue<bool>());
        Assert.Null(config["oidc"]);
        Assert.Equal(["governance", "approver", "responder", "auditor", "admin"], config["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
    }
}
