using System.Net;
using System.Text;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Silo.Http;

namespace RuntimeAuthz.Cluster.Tests.Hardening;

/// <summary>The hostile payloads a fuzzing probe found 500s with: each is now a 4xx problem naming the field.</summary>
[Collection(ClusterCollection.Name)]
public sealed class HostileInputTests(ClusterEnvironment env)
{
    private const string Evaluation = """{"subject":{"type":"agent","id":"a1"},"action":{"name":"read_file"},"resource":{"type":"Document","id":"d1"},"context":""";

    private static string Deep(int levels) => string.Concat(Enumerable.Repeat("{\"a\":", levels)) + "1" + new string('}', levels);

    [Theory]
    [InlineData("/v1/agents", """{"id":"s1","name":"\ud800x","owner":"o","fleet":"f"}""", "name holds a lone UTF-16 surrogate")]
    [InlineData("/v1/agents", """{"id":"s1","name":"x\udc00","owner":"o","fleet":"f"}""", "name holds a lone UTF-16 surrogate")]
    [InlineData("/v1/agents", """{"id":"s1","name":"n","owner":"o","fleet":"f","labels":{"\udbff":"v"}}""", "labels has a key that holds a lone UTF-16 surrogate")]
    [InlineData("/v1/agents", """{"id":"s1","id":"s2","name":"n","owner":"o","fleet":"f"}""", "id is given twice")]
    [InlineData("/access/v1/evaluation", Evaluation + "null}", "context must be an object, not null")]
    [InlineData("/access/v1/evaluation", """{"subject":null,"action":{"name":"read_file"},"resource":{"type":"Document","id":"d1"},"context":{"session_id":"s"}}""", "subject must be an object, not null")]
    [InlineData("/access/v1/evaluation", Evaluation + """{"session_id":"s","tool_input":{"amount":123456789012345678901234567890}}}""", "context.tool_input.amount is out of range")]
    [InlineData("/access/v1/evaluation", Evaluation + """{"session_id":"s","tool_input":{"amount":1e400}}}""", "context.tool_input.amount is out of range")]
    [InlineData("/access/v1/evaluation", Evaluation + """{"session_id":"s","tool_input":{"items":[1,2,{"x":"\ud800"}]}}}""", "context.tool_input.items[2].x holds a lone UTF-16 surrogate")]
    [InlineData("/v1/sessions", """{"agentId":"a1","agentId":"a2"}""", "agentId is given twice")]
    public async Task A_hostile_payload_is_a_400_naming_the_field(string path, string body, string expected)
    {
        var host = await env.GetSharedHostAsync();

        var reply = await host.Http.PostJsonAsync(path, body);

        Assert.Contains(expected, reply.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_UTF8_bytes_in_a_string_are_a_400_naming_the_field()
    {
        var host = await env.GetSharedHostAsync();
        var bytes = Encoding.UTF8.GetBytes("""{"id":"s1","name":"n","owner":"OWNER","fleet":"f"}""").ToList();
        var at = bytes.IndexOf((byte)'O');
        bytes.InsertRange(at, [0xFF, 0xC3, 0x28]);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/agents") { Content = new ByteArrayContent([.. bytes]) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        var response = await host.Http.SendAsync(request);
        var reply = new HttpReply(response.StatusCode, System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync()), response);

        Assert.Contains("owner is not valid UTF-8", reply.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // chunked: no Content-Length, the guard counts what arrives
    public async Task A_body_over_the_limit_is_a_413_with_or_without_a_declared_length(bool declared)
    {
        var host = await env.GetSharedHostAsync();
        var text = """{"id":"s1","name":"n","owner":"o","fleet":"f","labels":{"k":""" + "\"" + new string('x', (int)RequestReading.MaxBodyBytes) + "\"}}";

        var reply = await SendJsonAsync(host.Http, "/v1/agents", Encoding.UTF8.GetBytes(text), declared);

        Assert.Contains($"larger than {RequestReading.MaxBodyBytes} bytes", reply.AssertProblem(HttpStatusCode.RequestEntityTooLarge), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chunked_body_is_checked_like_one_with_a_declared_length()
    {
        var host = await env.GetSharedHostAsync();

        var reply = await SendJsonAsync(host.Http, "/v1/agents", Encoding.UTF8.GetBytes("""{"id":"s1","id":"s2","name":"n","owner":"o","fleet":"f"}"""), declared: false);

        Assert.Contains("id is given twice", reply.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    private static async Task<HttpReply> SendJsonAsync(HttpClient http, string path, byte[] body, bool declared)
    {
        // StreamContent over a stream that cannot tell its length makes HttpClient send the body chunked.
        HttpContent content = declared ? new ByteArrayContent(body) : new StreamContent(new UnknownLengthStream(body));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new HttpReply(response.StatusCode, text.Length == 0 ? null : System.Text.Json.Nodes.JsonNode.Parse(text), response);
    }

    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }

    [Fact]
    public async Task Over_deep_structures_and_over_long_strings_and_keys_are_400s_naming_where()
    {
        var http = (await env.GetSharedHostAsync()).Http;

        var deep = await http.PostJsonAsync("/access/v1/evaluation", Evaluation + """{"session_id":"s","tool_input":""" + Deep(80) + "}}");
        var longString = await http.PostJsonAsync("/v1/sessions/s1/outcomes",
            """{"decisionId":"x","output":{"text":""" + "\"" + new string('x', JsonInputGuard.MaxStringLength + 1) + "\"}}");
        var longKey = await http.PostJsonAsync("/v1/agents",
            """{"id":"s1","name":"n","owner":"o","fleet":"f","labels":{""" + "\"" + new string('k', JsonInputGuard.MaxKeyLength + 1) + "\":\"v\"}}");

        Assert.Contains("context.tool_input.a.a.a", deep.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains($"nested deeper than {JsonInputGuard.MaxDepth} levels", deep.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains($"output.text is longer than {JsonInputGuard.MaxStringLength} characters", longString.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains($"is a key longer than {JsonInputGuard.MaxKeyLength} characters", longKey.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2099-01-01T00:00:00")]
    [InlineData("2099-01-01")]
    [InlineData("2099-01-01 00:00")]
    public async Task ExpiresAt_without_a_time_zone_offset_is_refused_naming_the_field(string expiresAt)
    {
        var http = (await env.GetSharedHostAsync()).Http;
        var agent = "tz-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/v1/agents", $$"""{"id":"{{agent}}","name":"n","owner":"o","fleet":"research"}""")).Status);

        var refused = await http.PostJsonAsync($"/v1/agents/{agent}/grants", $$"""{"actions":["read_file"],"resources":["Document::*"],"expiresAt":"{{expiresAt}}"}""");
        var accepted = await http.PostJsonAsync($"/v1/agents/{agent}/grants", """{"actions":["read_file"],"resources":["Document::*"],"expiresAt":"2099-01-01T00:00:00+02:00"}""");

        Assert.Contains("expiresAt must end with a time-zone offset", refused.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, accepted.Status);
    }

    [Theory]
    [InlineData("/v1/fleets/bad%01fleet/suspension", "fleet")]
    [InlineData("/v1/fleets/%20%20/suspension", "fleet")]
    [InlineData("/v1/labels/team%7F/x/suspension", "key")]
    [InlineData("/v1/labels/team/x%0Ay/suspension", "value")]
    public async Task Fleet_and_label_names_in_paths_are_validated(string path, string name)
    {
        var http = (await env.GetSharedHostAsync()).Http;

        var reply = await http.GetJsonAsync(path);

        Assert.StartsWith($"{name} '", reply.AssertProblem(HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_elevation_in_force_reports_active_not_pending()
    {
        var http = (await env.GetSharedHostAsync()).Http;
        var agent = "elev-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await http.PostJsonAsync("/v1/agents", $$"""{"id":"{{agent}}","name":"n","owner":"o","fleet":"research"}""")).Status);
        var session = (await http.PostJsonAsync("/v1/sessions", $$"""{"agentId":"{{agent}}"}""")).Json["id"]!.GetValue<string>();

        var elevation = await http.PostJsonAsync($"/v1/sessions/{session}/elevations", """{"actions":["search_web"],"resources":["WebSearch::*"],"durationSeconds":300}""");
        var decided = await http.PostJsonAsync($"/v1/sessions/{session}/decisions", """{"action":"search_web","resource":{"type":"WebSearch","id":"q"}}""");

        Assert.Equal(HttpStatusCode.Created, elevation.Status);
        Assert.Equal("active", elevation.Json["status"]!.GetValue<string>());
        Assert.Equal("Allow", decided.Json["outcome"]!.GetValue<string>());
    }
}
