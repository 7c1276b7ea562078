using System.Text.Json;
using Microsoft.Extensions.AI;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Enforcement.AI;

/// <summary>
/// One agent's guard: every function it protects is decided by the cluster before it runs, in one authorization session
/// (the agent's conversation). Allow runs the function once and reports its result as the outcome; Deny and an unreachable
/// cluster return a <see cref="ToolCallRefused"/> result instead (the model learns why; the function never runs);
/// ApprovalRequired becomes a <see cref="ToolApprovalRequestContent"/> for the application (see <see cref="GuardedChatClient"/>).
/// </summary>
public sealed class AuthorizationGuard
{
    /// <summary>How the guard describes a function call to the cluster when told nothing else.</summary>
    public static readonly Func<AIFunction, AIFunctionArguments, GuardedCall> ToolCall = (function, arguments) =>
        new GuardedCall(function.Name, new ResourceRef(DefaultResourceType, function.Name), InputOf(arguments));

    /// <summary>The resource type of <see cref="ToolCall"/>: the function itself, <c>Tool::"name"</c>.</summary>
    public const string DefaultResourceType = "Tool";

    private readonly AuthorizationEnforcer enforcer;
    private readonly Func<AIFunction, AIFunctionArguments, GuardedCall> describeCall;

    /// <param name="enforcer">The shared enforcement loop (over a client with an enforcement point's token acting for <paramref name="agentId"/>).</param>
    /// <param name="agentId">The agent whose calls these are.</param>
    /// <param name="describeCall">Maps a call to action, resource and input (default <see cref="ToolCall"/>); it may map function names to catalog actions and arguments to resources.</param>
    public AuthorizationGuard(AuthorizationEnforcer enforcer, string agentId, Func<AIFunction, AIFunctionArguments, GuardedCall>? describeCall = null)
    {
        ArgumentNullException.ThrowIfNull(enforcer);
        this.enforcer = enforcer;
        this.describeCall = describeCall ?? ToolCall;
        Session = enforcer.CreateSession(agentId);
    }

    /// <summary>The authorization session all of this guard's calls are decided in.</summary>
    public EnforcementSession Session { get; }

    /// <summary>The function, decided before each invocation (a function this guard already protects is returned as it is).</summary>
    public AIFunction Protect(AIFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        return function is GuardedFunction guarded && ReferenceEquals(guarded.Guard, this) ? guarded : new GuardedFunction(function, this);
    }

    /// <summary>Every function among <paramref name="tools"/> protected; other tools (hosted by the service) as they are.</summary>
    public IList<AITool> Protect(IEnumerable<AITool> tools) => [.. tools.Select(tool => tool is AIFunction function ? Protect(function) : tool)];

    /// <summary>Closes the authorization session (best effort; false when the cluster could not be told).</summary>
    public Task<bool> CloseAsync(string? reason = null, CancellationToken cancellationToken = default) =>
        enforcer.CloseSessionAsync(Session, reason, cancellationToken);

    internal async ValueTask<object?> InvokeAsync(AIFunction function, AIFunctionArguments arguments,
        Func<CancellationToken, ValueTask<object?>> invoke, CancellationToken cancellationToken)
    {
        GuardedCall call;
        try
        {
            call = describeCall(function, arguments);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return new ToolCallRefused(function.Name, $"the call could not be described for authorization ({exception.Message}); it was not run", "bad-call");
        }
        var result = await enforcer.EnforceAsync(Session, call, async ct => await invoke(ct).ConfigureAwait(false),
            value => CallOutcome.Response(value is null ? null : JsonSerializer.SerializeToElement(value, function.JsonSerializerOptions)),
            cancellationToken).ConfigureAwait(false);
        switch (result.Refusal)
        {
            case null:
                return result.Value;
            case { Kind: RefusalKind.ApprovalPending, ApprovalId: { } approvalId } pending:
                // The application answers with a ToolApprovalResponseContent; the loop stops here so it can.
                if (FunctionInvokingChatClient.CurrentContext is { } context) context.Terminate = true;
                return new ApprovalPending(approvalId, pending.ApprovalExpiresAt, pending.Message);
            case var refusal:
                return new ToolCallRefused(function.Name, refusal.Message, refusal.DenyReason, refusal.PolicyIds, refusal.DecisionId);
        }
    }

    /// <summary>The arguments as one JSON object (what policy sees as <c>context.input</c>).</summary>
    public static JsonElement InputOf(AIFunctionArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var values = arguments.ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
        return JsonSerializer.SerializeToElement(values, AIJsonUtilities.DefaultOptions);
    }
}

/// <summary>What the model is given instead of a function's result when the call was not run, and why (nothing secret).</summary>
public sealed record ToolCallRefused(string Function, string Refusal, string? DenyReason = null, IReadOnlyList<string>? PolicyIds = null, Guid? DecisionId = null);

/// <summary>A call held for human approval: <see cref="GuardedChatClient"/> turns it into a <see cref="ToolApprovalRequestContent"/>.</summary>
public sealed record ApprovalPending(string ApprovalId, DateTimeOffset? ExpiresAt, string Message);

/// <summary>A function whose every invocation goes through its <see cref="AuthorizationGuard"/> first.</summary>
public sealed class GuardedFunction : DelegatingAIFunction
{
    internal GuardedFunction(AIFunction inner, AuthorizationGuard guard) : base(inner) => Guard = guard;

    public AuthorizationGuard Guard { get; }

    protected override ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken) =>
        Guard.InvokeAsync(InnerFunction, arguments, ct => InnerFunction.InvokeAsync(arguments, ct), cancellationToken);
}
