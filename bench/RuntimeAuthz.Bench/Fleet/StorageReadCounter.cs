using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;

namespace RuntimeAuthz.Bench.Fleet;

/// <summary>
/// Counts what a table client asked storage for and what storage sent back: requests, and entities
/// in the answers of reads (a query's <c>value</c> array, or one entity for a point read). This is the
/// scale-independent figure of a search: a key-range read inside named partitions returns about as many
/// entities as it lists, however large the table is, while a scan would return (or examine) the table.
/// </summary>
internal sealed class StorageReadCounter : HttpPipelinePolicy
{
    private long requests;
    private long entities;

    public long Requests => Interlocked.Read(ref requests);
    public long Entities => Interlocked.Read(ref entities);

    public void Reset()
    {
        Interlocked.Exchange(ref requests, 0);
        Interlocked.Exchange(ref entities, 0);
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        ProcessNext(message, pipeline);
        Count(message);
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
        Count(message);
    }

    private void Count(HttpMessage message)
    {
        Interlocked.Increment(ref requests);
        if (message.Request.Method != RequestMethod.Get || message.Response.Status != 200 || message.Response.Content is not { } content) return;
        using var answer = JsonDocument.Parse(content.ToMemory());
        Interlocked.Add(ref entities, answer.RootElement.TryGetProperty("value", out var rows) && rows.ValueKind == JsonValueKind.Array ? rows.GetArrayLength() : 1);
    }
}
