using System.Net;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Console.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class RevocationPreviewTests(ConsoleFixture fixture)
{
    [Fact]
    public async Task The_preview_lists_exactly_what_the_revocation_then_revokes_and_revokes_nothing_itself()
    {
        var root = await TestAgent.RegisterAsync(fixture, "root-bot");
        var middle = await TestAgent.RegisterAsync(fixture, "mid-bot");
        var leaf = await TestAgent.RegisterAsync(fixture, "leaf-bot");
        var rootGrant = await TestAgent.GrantAsync(fixture.Admin, root.Id, ["read_file", "search_web"]);
        var untouched = await TestAgent.GrantAsync(fixture.Admin, root.Id, ["read_file"]);
        var middleGrant = await TestAgent.GrantAsync(fixture.Admin, middle.Id, ["read_file"], TestAgent.DerivedFrom(root.Id, rootGrant));
        var leafGrant = await TestAgent.GrantAsync(fixture.Admin, leaf.Id, ["read_file"], TestAgent.DerivedFrom(middle.Id, middleGrant, depth: 2));
        var sideGrant = await TestAgent.GrantAsync(fixture.Admin, leaf.Id, ["read_file"], TestAgent.DerivedFrom(root.Id, untouched));

        var governance = await fixture.TokenAsync("preview-governance", "governance");
        var preview = await governance.ExpectAsync(HttpStatusCode.OK, governance.GetAsync($"v1/agents/{root.Id}/grants/{rootGrant}/revocation-preview"));
        Assert.Equal(3, preview.Body["count"]!.GetValue<int>());
        Assert.False(preview.Body["truncated"]!.GetValue<bool>());
        Assert.Equal([root.Id, middle.Id, leaf.Id], preview.Body["agents"]!.AsArray().Select(a => a!.GetValue<string>()));
        var previewed = GrantIds(preview.Body["grants"]!);
        Assert.Equal(new[] { rootGrant, middleGrant, leafGrant }.Order(), previewed.Order());

        // Nothing was revoked by looking.
        Assert.Equal(2, (await fixture.Admin.GetAsync($"v1/agents/{leaf.Id}/grants")).Body["grants"]!.AsArray().Count);

        var revoked = await governance.ExpectAsync(HttpStatusCode.OK, governance.PostAsync($"v1/agents/{root.Id}/grants/{rootGrant}/revoke", new JsonObject { ["reason"] = "preview test" }));
        Assert.Equal(previewed.Order(), GrantIds(revoked.Body["revoked"]!).Order());
        var leafLeft = (await fixture.Admin.GetAsync($"v1/agents/{leaf.Id}/grants")).Body["grants"]!.AsArray();
        Assert.Equal(sideGrant, Assert.Single(leafLeft)!["id"]!.GetValue<string>());

        var whole = await governance.ExpectAsync(HttpStatusCode.OK, governance.GetAsync($"v1/agents/{root.Id}/revocation-preview"));
        Assert.Equal(new[] { untouched, sideGrant }.Order(), GrantIds(whole.Body["grants"]!).Order());
    }

    [Theory]
    [InlineData("v1/agents/bad%20id!/revocation-preview", HttpStatusCode.BadRequest, "agent id")]
    [InlineData("v1/agents/no-such-agent/revocation-preview", HttpStatusCode.NotFound, "agent 'no-such-agent' not found")]
    [InlineData("v1/agents/no-such-agent/grants/g1/revocation-preview", HttpStatusCode.NotFound, "agent 'no-such-agent' not found")]
    [InlineData("v1/agents/{agent}/grants/no-such-grant/revocation-preview", HttpStatusCode.NotFound, "is not a current grant")]
    [InlineData("v1/agents/{agent}/grants/bad%20grant/revocation-preview", HttpStatusCode.BadRequest, "grant id")]
    public async Task Bad_or_unknown_ids_are_clear_4xx_problems(string path, HttpStatusCode status, string detail)
    {
        var agent = await TestAgent.RegisterAsync(fixture, "bad-bot", "read_file");
        var reply = await fixture.Admin.GetAsync(path.Replace("{agent}", agent.Id, StringComparison.Ordinal));
        Assert.Equal(status, reply.Status);
        Assert.Contains(detail, reply.Text("detail"));
    }

    [Fact]
    public async Task A_revoked_grant_has_no_preview()
    {
        var agent = await TestAgent.RegisterAsync(fixture, "gone-bot");
        var grant = await TestAgent.GrantAsync(fixture.Admin, agent.Id, ["read_file"]);
        await fixture.Admin.ExpectAsync(HttpStatusCode.OK, fixture.Admin.PostAsync($"v1/agents/{agent.Id}/grants/{grant}/revoke", new JsonObject { ["reason"] = "done" }));
        var reply = await fixture.Admin.GetAsync($"v1/agents/{agent.Id}/grants/{grant}/revocation-preview");
        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
    }

    private static string[] GrantIds(JsonNode list) => list.AsArray().Select(g => g!["grant"]!["id"]!.GetValue<string>()).ToArray();
}
