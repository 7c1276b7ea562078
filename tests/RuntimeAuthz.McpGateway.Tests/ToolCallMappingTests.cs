using System.Text.Json;
using ModelContextProtocol.Protocol;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.McpGateway.Tests;

/// <summary>How a tools/call becomes a decision request, and how its result becomes the reported outcome.</summary>
public sealed class ToolCallMappingTests
{
    private static readonly DownstreamServerOptions Files = new()
    {
        ResourceType = "File", ResourceArgument = "path",
        Tools = { ["move_file"] = new ToolMappingOptions { ResourceArgument = "source" }, ["wipe"] = new ToolMappingOptions { Action = "delete_database", ResourceType = "Database" } },
    };

    [Theory]
    [InlineData("everything", "get-sum", "everything_get_sum")]
    [InlineData("fs", "read_text_file", "fs_read_text_file")]
    [InlineData("my-server", "tool.with.dots", "my_server_tool_with_dots")]
    public void The_default_action_is_the_namespaced_name_made_a_Cedar_identifier(string server, string tool, string action) =>
        Assert.Equal(action, ToolMapping.DefaultAction(server, tool));

    [Fact]
    public void The_resource_is_the_configured_argument_or_else_the_server_and_the_input_is_the_arguments()
    {
        var read = ToolMapping.For("fs", Files, "read_text_file").Map(Arguments("""{"path": "/data/a.txt", "head": 3}"""));
        var listAllowed = ToolMapping.For("fs", Files, "list_allowed_directories").Map(null);
        var move = ToolMapping.For("fs", Files, "move_file").Map(Arguments("""{"source": "/data/a.txt", "destination": "/data/b.txt"}"""));
        var wipe = ToolMapping.For("fs", Files, "wipe").Map(Arguments("""{"path": "prod"}"""));

        Assert.Equal(("fs_read_text_file", new ResourceRef("File", "/data/a.txt")), (read.Action, read.Resource));
        Assert.Equal(3, read.Input!.Value.GetProperty("head").GetInt32());
        Assert.Equal(new ResourceRef("McpServer", "fs"), listAllowed.Resource);
        Assert.Equal(JsonValueKind.Object, listAllowed.Input!.Value.ValueKind);
        Assert.Equal(new ResourceRef("File", "/data/a.txt"), move.Resource);
        Assert.Equal(("delete_database", new ResourceRef("Database", "prod")), (wipe.Action, wipe.Resource));
    }

    [Theory]
    [InlineData("""{"path": 7}""")]
    [InlineData("""{"path": ""}""")]
    [InlineData("""{"path": ["a", "b"]}""")]
    public void A_resource_argument_that_is_not_a_non_empty_string_is_refused(string arguments)
    {
        var error = Assert.Throws<ToolInputException>(() => ToolMapping.For("fs", Files, "read_text_file").Map(Arguments(arguments)));

        Assert.Equal("argument 'path' names the resource this call acts on and must be a non-empty string", error.Message);
    }

    [Fact]
    public void A_resource_id_longer_than_the_cluster_takes_is_refused() =>
        Assert.Contains("longer than 1024 characters",
            Assert.Throws<ToolInputException>(() => ToolMapping.For("fs", Files, "read_text_file").Map(Arguments($$"""{"path": "{{new string('a', 1025)}}"}"""))).Message);

    [Fact]
    public void Outcomes_are_structured_content_else_the_text_and_errors_are_errors()
    {
        var structured = ToolCallGate.OutcomeOf(new CallToolResult { Content = [Text("ignored")], StructuredContent = Element("""{"content": "hello"}""") });
        var text = ToolCallGate.OutcomeOf(new CallToolResult { Content = [Text("one"), Text("two")] });
        var failed = ToolCallGate.OutcomeOf(new CallToolResult { IsError = true, Content = [Text("no such file")] });

        Assert.Equal((OutcomeKind.Response, "hello"), (structured.Kind, structured.Output!.Value.GetProperty("content").GetString()));
        Assert.Equal("one\ntwo", text.Output!.Value.GetProperty("text").GetString());
        Assert.Equal((OutcomeKind.Error, "no such file", (JsonElement?)null), (failed.Kind, failed.Error, failed.Output));
    }

    [Fact]
    public void An_output_too_big_to_record_is_its_text_cut_and_marked()
    {
        var big = new string('x', 40_000);
        var outcome = ToolCallGate.OutcomeOf(new CallToolResult
        {
            Content = [Text(big)], StructuredContent = JsonSerializer.SerializeToElement(new { content = big }),
        });

        Assert.Equal(32 * 1024, outcome.Output!.Value.GetProperty("text").GetString()!.Length);
        Assert.True(outcome.Output.Value.GetProperty("truncated").GetBoolean());
    }

    private static Dictionary<string, JsonElement> Arguments(string json) => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!;

    private static JsonElement Element(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static TextContentBlock Text(string text) => new() { Text = text };
}
