using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

/// <summary>
/// <c>authz authzen interop</c> against a tiny AuthZEN PDP on real HTTP (Kestrel on loopback) whose rule is known:
/// it permits exactly the actions named "read*", answers 500 for "explode", and for batches drops the last answer
/// when the batch's context asks it to. The runner's comparison, counting and messages are checked against it.
/// </summary>
public sealed class AuthZenInteropTests : IAsyncLifetime
{
    private WebApplication? _pdp;
    private Uri _address = null!;
    private readonly ConcurrentQueue<string?> _authorizations = new();
    private readonly List<string> _files = [];

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Logging.ClearProviders();
        _pdp = builder.Build();
        _pdp.MapPost("/access/v1/evaluation", async (HttpContext context) =>
        {
            _authorizations.Enqueue(context.Request.Headers.Authorization.FirstOrDefault());
            var request = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
            var action = request["action"]!["name"]!.GetValue<string>();
            return action == "explode" ? Results.Problem("the engine exploded", statusCode: 500) : Results.Json(Decision(action));
        });
        _pdp.MapPost("/access/v1/evaluations", async (HttpContext context) =>
        {
            _authorizations.Enqueue(context.Request.Headers.Authorization.FirstOrDefault());
            var request = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
            var answers = new JsonArray();
            foreach (var item in request["evaluations"]!.AsArray())
            {
                var action = (item!["action"] ?? request["action"])!["name"]!.GetValue<string>();
                answers.Add(Decision(action));
            }
            if (request["context"]?["drop_last"] is not null) answers.RemoveAt(answers.Count - 1);
            return Results.Json(new JsonObject { ["evaluations"] = answers });
        });
        _address = await _pdp.StartOnLoopbackAsync();
    }

    private static JsonObject Decision(string action) => new() { ["decision"] = action.StartsWith("read", StringComparison.Ordinal) };

    public async Task DisposeAsync()
    {
        foreach (var file in _files) File.Delete(file);
        if (_pdp is not null) await _pdp.DisposeAsync();
    }

    private string DecisionsFile(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"interop-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        _files.Add(path);
        return path;
    }

    private static string Single(string action, bool expected) => new JsonObject
    {
        ["request"] = new JsonObject
        {
            ["subject"] = new JsonObject { ["type"] = "user", ["id"] = "alice" },
            ["action"] = new JsonObject { ["name"] = action },
            ["resource"] = new JsonObject { ["type"] = "doc", ["id"] = "d1" },
        },
        ["expected"] = expected,
    }.ToJsonString();

    private static string Batch(string[] actions, bool[] expected, bool dropLast = false) => new JsonObject
    {
        ["request"] = new JsonObject
        {
            ["subject"] = new JsonObject { ["type"] = "user", ["id"] = "bob" },
            ["resource"] = new JsonObject { ["type"] = "doc", ["id"] = "d2" },
            ["context"] = dropLast ? new JsonObject { ["drop_last"] = true } : new JsonObject(),
            ["evaluations"] = new JsonArray(actions.Select(a => (JsonNode?)new JsonObject { ["action"] = new JsonObject { ["name"] = a } }).ToArray()),
        },
        ["expected"] = new JsonArray(expected.Select(e => (JsonNode?)new JsonObject { ["decision"] = e }).ToArray()),
    }.ToJsonString();

    private static async Task<CliResult> Interop(params string[] args)
    {
        using var cli = CliHarness.Against(new Uri("http://127.0.0.1:1/"));
        return await cli.RunAsync(["authzen", "interop", .. args]);
    }

    [Fact]
    public async Task Every_matching_case_passes_and_a_batch_counts_once()
    {
        var file = DecisionsFile($$"""
            {"evaluation": [{{Single("read_doc", true)}}, {{Single("delete_doc", false)}}],
             "evaluations": [{{Batch(["read_doc", "write_doc", "read_meta"], [true, false, true])}}]}
            """);

        var result = await Interop(_address.ToString(), file);

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal(["interop: 3 passed, 0 failed"], result.OutputLines);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task Each_mismatch_gets_one_line_naming_the_case_and_the_exit_code_is_nonzero()
    {
        var file = DecisionsFile($$"""
            {"evaluation": [{{Single("read_doc", true)}}, {{Single("delete_doc", true)}}, {{Single("read_all", false)}}],
             "evaluations": [{{Batch(["read_doc", "write_doc"], [true, true])}}, {{Batch(["read_doc"], [true])}}]}
            """);

        var result = await Interop(_address.ToString(), file);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Equal(
        [
            "MISMATCH evaluation[1] (user:alice delete_doc doc:d1): expected true, got false",
            "MISMATCH evaluation[2] (user:alice read_all doc:d1): expected false, got true",
            "MISMATCH evaluations[0] (user:bob doc:d2): evaluations[1] (write_doc): expected true, got false",
            "interop: 2 passed, 3 failed",
        ], result.OutputLines);
    }

    [Fact]
    public async Task A_batch_answered_with_too_few_decisions_fails()
    {
        var file = DecisionsFile($$"""{"evaluations": [{{Batch(["read_doc", "read_meta"], [true, true], dropLast: true)}}]}""");

        var result = await Interop(_address.ToString(), file);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Equal(["MISMATCH evaluations[0] (user:bob doc:d2): expected 2 decisions, got 1", "interop: 0 passed, 1 failed"], result.OutputLines);
    }

    [Fact]
    public async Task An_error_status_from_the_pdp_is_a_mismatch_with_its_status_not_a_crash()
    {
        var file = DecisionsFile($$"""{"evaluation": [{{Single("explode", false)}}, {{Single("read_doc", true)}}]}""");

        var result = await Interop(_address.ToString(), file);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith("MISMATCH evaluation[0] (user:alice explode doc:d1): HTTP 500 from /access/v1/evaluation: ", result.OutputLines[0], StringComparison.Ordinal);
        Assert.Contains("the engine exploded", result.OutputLines[0], StringComparison.Ordinal);
        Assert.Equal("interop: 1 passed, 1 failed", result.OutputLines[^1]);
    }

    [Fact]
    public async Task The_token_is_sent_as_a_bearer_only_when_one_is_given()
    {
        var file = DecisionsFile($$"""{"evaluation": [{{Single("read_doc", true)}}], "evaluations": [{{Batch(["read_doc"], [true])}}]}""");

        Assert.Equal(ExitCodes.Success, (await Interop(_address.ToString(), file)).ExitCode);
        Assert.Equal(ExitCodes.Success, (await Interop(_address.ToString(), file, "--token", "pdp-token")).ExitCode);

        Assert.Equal(new[] { "(none)", "(none)", "Bearer pdp-token", "Bearer pdp-token" }, _authorizations.Select(a => a ?? "(none)"));
    }

    [Fact]
    public async Task The_json_summary_lists_the_mismatches()
    {
        var file = DecisionsFile($$"""{"evaluation": [{{Single("read_doc", false)}}, {{Single("read_doc", true)}}]}""");

        var result = await Interop(_address.ToString(), file, "--json");

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        var summary = JsonNode.Parse(result.Output)!;
        Assert.Equal(1, summary["passed"]!.GetValue<int>());
        Assert.Equal(1, summary["failed"]!.GetValue<int>());
        var mismatch = Assert.Single(summary["mismatches"]!.AsArray())!;
        Assert.Equal("evaluation[0]", mismatch["case"]!.GetValue<string>());
        Assert.Equal("expected false, got true", Assert.Single(mismatch["problems"]!.AsArray())!.GetValue<string>());
    }

    [Fact]
    public async Task A_file_that_is_not_json_is_reported_at_its_line_and_column()
    {
        var file = DecisionsFile("{\n  \"evaluation\": [\n    {\"request\": {}, \"expected\": tru}\n  ]\n}");

        var result = await Interop(_address.ToString(), file);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith($"error: {file}:3:", result.Error, StringComparison.Ordinal);
        Assert.Contains(": not valid JSON: ", result.Error, StringComparison.Ordinal);
        Assert.Empty(_authorizations);
    }

    [Theory]
    [InlineData("[]", "must be a JSON object with \"evaluation\" and/or \"evaluations\" arrays")]
    [InlineData("{}", "has no cases (\"evaluation\" and \"evaluations\" are both missing or empty)")]
    [InlineData("""{"evaluation": {}}""", "evaluation must be an array")]
    [InlineData("""{"evaluation": [{"expected": true}]}""", "evaluation[0] must be an object with a \"request\" object")]
    [InlineData("""{"evaluation": [{"request": {}, "expected": "yes"}]}""", "evaluation[0].expected must be true or false")]
    [InlineData("""{"evaluations": [{"request": {}, "expected": []}]}""", "evaluations[0].request must have an \"evaluations\" array")]
    [InlineData("""{"evaluations": [{"request": {"evaluations": [{}]}, "expected": true}]}""", "evaluations[0].expected must be an array of {\"decision\": true|false}")]
    [InlineData("""{"evaluations": [{"request": {"evaluations": [{}]}, "expected": [{"decision": 1}]}]}""", "evaluations[0].expected[0] must be {\"decision\": true|false}")]
    [InlineData("""{"evaluations": [{"request": {"evaluations": [{}, {}]}, "expected": [{"decision": true}]}]}""", "evaluations[0] has 2 evaluations but 1 expected decisions")]
    public async Task A_file_of_the_wrong_shape_is_refused_before_anything_is_sent(string json, string message)
    {
        var file = DecisionsFile(json);

        var result = await Interop(_address.ToString(), file);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.Equal($"error: {file}: {message}", result.Error.TrimEnd());
        Assert.Empty(_authorizations);
    }

    [Fact]
    public async Task A_missing_file_and_a_bad_address_get_a_message()
    {
        var missing = await Interop(_address.ToString(), "/nonexistent/decisions.json");
        Assert.Equal(ExitCodes.Error, missing.ExitCode);
        Assert.Equal("error: /nonexistent/decisions.json: file not found", missing.Error.TrimEnd());

        var file = DecisionsFile($$"""{"evaluation": [{{Single("read_doc", true)}}]}""");
        var notAnAddress = await Interop("ftp://pdp.example", file);
        Assert.Equal(ExitCodes.Error, notAnAddress.ExitCode);
        Assert.Equal("error: url: 'ftp://pdp.example' is not an http(s) address such as http://127.0.0.1:5080", notAnAddress.Error.TrimEnd());
    }

    [Fact]
    public async Task An_unreachable_pdp_stops_the_run_with_a_message_naming_it()
    {
        var closed = new Uri($"http://127.0.0.1:{FreePorts.Next()}/");
        var file = DecisionsFile($$"""{"evaluation": [{{Single("read_doc", true)}}, {{Single("read_doc", true)}}]}""");

        var result = await Interop(closed.ToString(), file);

        Assert.Equal(ExitCodes.Error, result.ExitCode);
        Assert.StartsWith($"error: cannot reach the AuthZEN PDP at {closed}access/v1/evaluation: ", result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Output);
    }
}
