using System.Net;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

/// <summary><c>authz entities import|list|show|delete</c> against a scripted service.</summary>
public sealed class EntityCliTests
{
    private const string Alice = """{"uid":{"type":"User","id":"alice"},"attrs":{"dept":"finance"},"parents":[{"type":"Team","id":"finance"}]}""";

    private static async Task<T> WithFileAsync<T>(string content, Func<string, Task<T>> use)
    {
        var directory = Directory.CreateTempSubdirectory("authz-entities-test");
        try
        {
            var file = Path.Combine(directory.FullName, "entities.json");
            await File.WriteAllTextAsync(file, content);
            return await use(file);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(false, "merge")]
    [InlineData(true, "replace")]
    public async Task Import_sends_a_cedar_entities_array_with_its_mode(bool replace, string mode)
    {
        using var cli = new CliHarness();
        cli.Handler.On("POST", "/v1/entities", HttpStatusCode.OK, """{"version":7,"imported":1,"removed":0,"total":4}""");

        var result = await WithFileAsync($"[{Alice}]", file => replace ? cli.RunAsync("entities", "import", file, "--replace") : cli.RunAsync("entities", "import", file));

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal("imported 1 entities, removed 0; entity store version 7, 4 entities", result.Output.Trim());
        var body = JsonDocument.Parse(cli.Handler.Requests.Single().Body!).RootElement;
        Assert.Equal(mode, body.GetProperty("mode").GetString());
        var entity = body.GetProperty("entities")[0];
        Assert.Equal("alice", entity.GetProperty("uid").GetProperty("id").GetString());
        Assert.Equal("finance", entity.GetProperty("attrs").GetProperty("dept").GetString());
        Assert.Equal("Team", entity.GetProperty("parents")[0].GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("{not json", "is not JSON")]
    [InlineData("""{"users": []}""", "must hold a JSON array")]
    [InlineData("""[{"attrs": {}}]""", "needs a \"uid\"")]
    public async Task Import_refuses_a_bad_file_without_calling_the_service(string content, string expected)
    {
        using var cli = new CliHarness();
        var result = await WithFileAsync(content, file => cli.RunAsync("entities", "import", file));

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task Import_of_a_missing_file_is_an_error_and_a_refused_import_prints_the_problem()
    {
        using var cli = new CliHarness();
        var missing = await cli.RunAsync("entities", "import", "/no/such/entities.json");
        Assert.Equal(ExitCodes.Error, missing.ExitCode);
        Assert.Contains("not found", missing.Error, StringComparison.Ordinal);

        cli.Handler.On("POST", "/v1/entities", HttpStatusCode.BadRequest,
            """{"title":"Bad Request","status":400,"detail":"entities[0]: the parents of G::\"a\" form a cycle"}""", "application/problem+json");
        var refused = await WithFileAsync($"{{\"entities\": [{Alice}]}}", file => cli.RunAsync("entities", "import", file));
        Assert.Equal(ExitCodes.Error, refused.ExitCode);
        Assert.Contains("form a cycle", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_show_and_delete_name_the_entity_and_the_next_page()
    {
        using var cli = new CliHarness();
        cli.Handler
            .On("GET", "/v1/entities", HttpStatusCode.OK, $$"""{"entities":[{{Alice}}],"continuation":"e1.abc","version":7}""")
            .On("GET", "/v1/entities/User/alice", HttpStatusCode.OK, Alice)
            .On("DELETE", "/v1/entities/User/alice", HttpStatusCode.OK, """{"uid":{"type":"User","id":"alice"},"version":8}""");

        var listed = await cli.RunAsync("entities", "list", "--type", "User", "--limit", "1");
        var shown = await cli.RunAsync("entities", "show", "User", "alice");
        var deleted = await cli.RunAsync("entities", "delete", "User", "alice");

        Assert.Equal(ExitCodes.Success, listed.ExitCode);
        Assert.Contains("User::\"alice\"", listed.Output, StringComparison.Ordinal);
        Assert.Contains("Team::\"finance\"", listed.Output, StringComparison.Ordinal);
        Assert.Contains("more: --continuation e1.abc", listed.Output, StringComparison.Ordinal);
        Assert.Equal("type=User&limit=1", cli.Handler.Requests[0].Url.Query.TrimStart('?'));
        Assert.Contains("attrs:   {\"dept\":\"finance\"}", shown.Output, StringComparison.Ordinal);
        Assert.Equal("deleted User::\"alice\"; entity store version 8", deleted.Output.Trim());
    }
}
