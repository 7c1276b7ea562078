using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Console.Tests;

/// <summary>One HTTP answer: status and JSON body (null when there is none).</summary>
public sealed record Reply(HttpStatusCode Status, JsonNode? Json)
{
    public JsonNode Body => Json ?? throw new InvalidOperationException($"no JSON body ({(int)Status})");

    public string Text(string name) => Body[name]?.GetValue<string>() ?? throw new InvalidOperationException($"no '{name}' in {Json?.ToJsonString()}");
}

/// <summary>The silo's HTTP API with one bearer token, as a script or an agent would call it.</summary>
public sealed class Api(Uri baseAddress, string token)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(90) };

    public string Token => token;

    public Task<Reply> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<Reply> PostAsync(string path, JsonNode body) => SendAsync(HttpMethod.Post, path, body);

    public async Task<Reply> SendAsync(HttpMethod method, string path, JsonNode? body)
    {
        using var request = new HttpRequestMessage(method, new Uri(baseAddress, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new Reply(response.StatusCode, string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text));
    }

    public async Task<Reply> ExpectAsync(HttpStatusCode status, Task<Reply> call)
    {
        var reply = await call;
        Assert.True(reply.Status == status, $"expected {(int)status}, got {(int)reply.Status}: {reply.Json?.ToJsonString()}");
        return reply;
    }
}
