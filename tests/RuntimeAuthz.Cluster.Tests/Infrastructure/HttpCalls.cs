using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Cluster.Tests.Infrastructure;

public sealed record HttpReply(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)
{
    public string? ContentType => Response.Content.Headers.ContentType?.MediaType;

    public JsonNode Json => Body ?? throw new InvalidOperationException($"no JSON body (status {(int)Status})");
}

public static class HttpCalls
{
    public static async Task<HttpReply> SendAsync(this HttpClient http, HttpMethod method, string path, string? json = null, string? requestId = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (requestId is not null) request.Headers.Add("X-Request-ID", requestId);
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? body = null;
        if (text.Length > 0)
        {
            try { body = JsonNode.Parse(text); }
            catch (System.Text.Json.JsonException) { body = JsonValue.Create(text); }
        }
        return new HttpReply(response.StatusCode, body, response);
    }

    public static Task<HttpReply> PostJsonAsync(this HttpClient http, string path, string json, string? requestId = null) =>
        http.SendAsync(HttpMethod.Post, path, json, requestId);

    public static Task<HttpReply> GetJsonAsync(this HttpClient http, string path) => http.SendAsync(HttpMethod.Get, path);

    /// <summary>Asserts an RFC 7807 problem with the status and returns its detail.</summary>
    public static string AssertProblem(this HttpReply reply, HttpStatusCode status)
    {
        Assert.Equal(status, reply.Status);
        Assert.Equal("application/problem+json", reply.ContentType);
        Assert.Equal((int)status, reply.Json["status"]!.GetValue<int>());
        var detail = reply.Json["detail"]?.GetValue<string>();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        return detail!;
    }
}
