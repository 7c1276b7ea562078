using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace RuntimeAuthz.Enforcement.Tests.Guard;

/// <summary>
/// A model that answers from a script, one reply per request, and remembers every request it was sent, so a test sees exactly
/// which function results (or refusals) the model was given.
/// </summary>
public sealed class ScriptedChatClient(params IReadOnlyList<AIContent>[] replies) : IChatClient
{
    private readonly Queue<IReadOnlyList<AIContent>> script = new(replies);
    private readonly List<IReadOnlyList<ChatMessage>> requests = [];

    public IReadOnlyList<IReadOnlyList<ChatMessage>> Requests
    {
        get { lock (requests) return [.. requests]; }
    }

    /// <summary>The function results the model was sent in its last request, by call id.</summary>
    public IReadOnlyDictionary<string, object?> LastResults =>
        Requests[^1].SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToDictionary(r => r.CallId, r => r.Result);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        lock (requests)
        {
            requests.Add([.. messages]);
            if (script.Count == 0) throw new InvalidOperationException($"the script has no reply for request {requests.Count}");
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, [.. script.Dequeue()])));
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates()) yield return update;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose() { }
}
