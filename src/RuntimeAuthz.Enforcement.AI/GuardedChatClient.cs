using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RuntimeAuthz.Enforcement.AI;

/// <summary>
/// Wraps a <see cref="FunctionInvokingChatClient"/>: the functions of each request are protected by the guard, and a call the
/// cluster holds for approval comes back to the application as a <see cref="ToolApprovalRequestContent"/> (with the cluster's
/// approval id in <see cref="ApprovalIdProperty"/>; its request id is the function invoker's own, so the invoker takes the
/// answer as it takes its own approvals). The application answers with
/// <see cref="ToolApprovalRequestContent.CreateResponse"/>; an approved call is invoked again, waits for the cluster's approval
/// (bounded) and runs with it bound; a rejected one is not run. Streaming answers are produced whole, then streamed, so a held
/// call is never shown as a plain function call first.
/// </summary>
public sealed class GuardedChatClient : DelegatingChatClient
{
    /// <summary>Set on each approval request: the approval id, its expiry and what the cluster said.</summary>
    public const string ApprovalIdProperty = "runtimeauthz.approval_id";
    public const string ApprovalExpiresAtProperty = "runtimeauthz.approval_expires_at";
    public const string ApprovalMessageProperty = "runtimeauthz.approval_message";

    /// <summary>The result given for a call the loop did not reach because it stopped for an approval.</summary>
    public const string NotReached = "not run: the turn stopped to wait for a human approval of another call; ask for it again if it is still needed";

    /// <param name="functionInvoker">The function invocation loop; its additional tools are protected by <paramref name="guard"/> too.</param>
    public GuardedChatClient(FunctionInvokingChatClient functionInvoker, AuthorizationGuard guard) : base(functionInvoker)
    {
        ArgumentNullException.ThrowIfNull(guard);
        Guard = guard;
        if (functionInvoker.AdditionalTools is { Count: > 0 } additional) functionInvoker.AdditionalTools = guard.Protect(additional);
    }

    public AuthorizationGuard Guard { get; }

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var response = await base.GetResponseAsync(messages, Protected(options), cancellationToken).ConfigureAwait(false);
        return WithApprovalRequests(response);
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates()) yield return update;
    }

    private ChatOptions? Protected(ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } tools) return options;
        var protectedOptions = options.Clone();
        protectedOptions.Tools = Guard.Protect(tools);
        return protectedOptions;
    }

    /// <summary>
    /// The request id <see cref="FunctionInvokingChatClient"/> gives its own approval requests (a prefix and the call id): it
    /// acts only on answers to requests of that form.
    /// </summary>
    private static string InvokerRequestId(string callId) => "ficc_" + callId;

    /// <summary>Each held call's function call becomes an approval request; its placeholder result is dropped.</summary>
    private static ChatResponse WithApprovalRequests(ChatResponse response)
    {
        var pending = response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>()
            .Where(r => r.Result is ApprovalPending)
            .ToDictionary(r => r.CallId, r => (ApprovalPending)r.Result!, StringComparer.Ordinal);
        if (pending.Count == 0) return response;
        var answered = response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Select(r => r.CallId).ToHashSet(StringComparer.Ordinal);
        var messages = new List<ChatMessage>();
        var notReached = new List<AIContent>();
        foreach (var message in response.Messages)
        {
            var contents = new List<AIContent>();
            foreach (var content in message.Contents)
            {
                switch (content)
                {
                    case FunctionResultContent result when pending.ContainsKey(result.CallId):
                        break;
                    case FunctionCallContent call when pending.TryGetValue(call.CallId, out var held):
                        // A fresh call: the invoker marked the one it ran as informational, and would not run that one again.
                        var toApprove = new FunctionCallContent(call.CallId, call.Name, call.Arguments) { AdditionalProperties = call.AdditionalProperties };
                        contents.Add(new ToolApprovalRequestContent(InvokerRequestId(call.CallId), toApprove)
                        {
                            AdditionalProperties = new AdditionalPropertiesDictionary
                            {
                                [ApprovalIdProperty] = held.ApprovalId,
                                [ApprovalExpiresAtProperty] = held.ExpiresAt,
                                [ApprovalMessageProperty] = held.Message,
                            },
                        });
                        break;
                    case FunctionCallContent call when !call.InformationalOnly && !answered.Contains(call.CallId):
                        contents.Add(call);
                        notReached.Add(new FunctionResultContent(call.CallId, NotReached));
                        break;
                    default:
                        contents.Add(content);
                        break;
                }
            }
            if (contents.Count == 0) continue;
            var copy = message.Clone();
            copy.Contents = contents;
            messages.Add(copy);
        }
        if (notReached.Count > 0) messages.Add(new ChatMessage(ChatRole.Tool, notReached));
        var transformed = new ChatResponse(messages)
        {
            ResponseId = response.ResponseId,
            ConversationId = response.ConversationId,
            ModelId = response.ModelId,
            CreatedAt = response.CreatedAt,
            FinishReason = response.FinishReason,
            Usage = response.Usage,
            AdditionalProperties = response.AdditionalProperties,
            RawRepresentation = response.RawRepresentation,
        };
        return transformed;
    }
}

/// <summary>Puts the guard into a chat pipeline.</summary>
public static class GuardedChatClientBuilderExtensions
{
    /// <summary>
    /// Function invocation with every function decided by the cluster first (use it instead of <c>UseFunctionInvocation</c>):
    /// a <see cref="FunctionInvokingChatClient"/> (configured by <paramref name="configure"/>; its additional tools are protected too)
    /// inside a <see cref="GuardedChatClient"/>.
    /// </summary>
    public static ChatClientBuilder UseRuntimeAuthz(this ChatClientBuilder builder, AuthorizationGuard guard, Action<FunctionInvokingChatClient>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(guard);
        return builder.Use((inner, services) =>
        {
            var functionInvoker = new FunctionInvokingChatClient(inner, services.GetService<ILoggerFactory>(), services);
            configure?.Invoke(functionInvoker);
            return new GuardedChatClient(functionInvoker, guard);
        });
    }
}
