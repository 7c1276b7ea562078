using System.Net.Mime;
using System.Text.Json;

namespace RuntimeAuthz.HttpGateway;

/// <summary>Reads a request's JSON body as the call's tool input, leaving it in place for forwarding.</summary>
public static class RequestBody
{
    public readonly record struct BadBody(int Status, string Title, string Detail);

    /// <summary>The input (null for an empty body), or why the body is refused.</summary>
    public static async Task<(JsonElement? Input, BadBody? Bad)> ReadInputAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes) return (null, TooLarge(maxBytes));
        request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: maxBytes + 1L);
        using var buffer = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(buffer, cancellationToken);
        }
        catch (IOException)
        {
            // The buffering stream throws once the limit is passed (chunked bodies carry no Content-Length).
            return (null, TooLarge(maxBytes));
        }
        request.Body.Position = 0;
        if (buffer.Length > maxBytes) return (null, TooLarge(maxBytes));
        if (buffer.Length == 0) return (null, null);
        var mediaType = request.ContentType?.Split(';')[0].Trim();
        if (mediaType is null || !(mediaType.Equals(MediaTypeNames.Application.Json, StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)))
            return (null, new BadBody(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"the body is the call's tool input and must be JSON (Content-Type: application/json), not '{mediaType ?? "none"}'"));
        try
        {
            using var document = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
            return (document.RootElement.Clone(), null);
        }
        catch (JsonException ex)
        {
            return (null, new BadBody(StatusCodes.Status400BadRequest, "Bad request", $"the body is not valid JSON: {ex.Message}"));
        }
    }

    private static BadBody TooLarge(int maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, "Payload too large", $"the body is larger than {maxBytes} bytes ({GatewayOptions.Section}:MaxBodyBytes)");
}
