using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using RuntimeAuthz.Enforcement;

namespace RuntimeAuthz.McpGateway;

/// <summary>
/// The MCP side of the gateway for one upstream session: lists the downstream tools under their namespaced names and
/// sends every tools/call through the enforcer (decide, then forward, refuse or hold; outcomes reported automatically).
/// </summary>
public sealed class ToolCallGate(DownstreamServers servers, AuthorizationEnforcer enforcer, CallableTools callable, ILogger<ToolCallGate> logger)
{
    /// <summary>Where a refusal's machine-readable details go in the result's <c>_meta</c>.</summary>
    public const string RefusalMetaKey = "runtimeauthz/refusal";
    private const int MaxOutputText = 32 * 1024;

    public async ValueTask<ListToolsResult> ListToolsAsync(EnforcementSession session, CancellationToken cancellationToken)
    {
        var tools = servers.Tools.Values;
        var visible = await callable.FilterAsync(session.AgentId, tools, cancellationToken);
        return new ListToolsResult { Tools = [.. visible.Select(t => t.Upstream)] };
    }

    public async ValueTask<CallToolResult> CallToolAsync(EnforcementSession session, CallToolRequestParams? request, CancellationToken cancellationToken)
    {
        var name = request?.Name;
        if (name is null || !servers.Tools.TryGetValue(name, out var tool))
            throw new McpProtocolException($"unknown tool '{name}'; tools/list names the tools this gateway offers", McpErrorCode.InvalidParams);
        GuardedCall call;
        try
        {
            call = tool.Mapping.Map(request!.Arguments);
        }
        catch (ToolInputException bad)
        {
            return Error($"{name}: {bad.Message}; the call was not forwarded");
        }

        var downstreamRequest = new CallToolRequestParams { Name = tool.Original.Name, Arguments = request.Arguments };
        EnforcementResult<CallToolResult> result;
        try
        {
            result = await enforcer.EnforceAsync(session, call,
                ct => tool.Client.CallToolAsync(downstreamRequest, ct).AsTask(), OutcomeOf, cancellationToken);
        }
        catch (Exception failure) when (failure is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The call was allowed and forwarded; the downstream server failed (its error is already reported as the outcome).
            logger.LogWarning(failure, "Downstream call {Tool} failed", name);
            return Error($"{name}: the tool server '{tool.Server}' failed: {failure.Message}");
        }
        return result.Refusal is { } refusal ? Refused(name, refusal) : result.Value!;
    }

    /// <summary>A result's outcome: its structured content (or its text as <c>{"text": ...}</c>, cut at 32 KB), or an error with its text.</summary>
    internal static CallOutcome OutcomeOf(CallToolResult result)
    {
        var text = new StringBuilder();
        foreach (var block in result.Content.OfType<TextContentBlock>())
        {
            if (text.Length > 0) text.Append('\n');
            text.Append(block.Text);
        }
        var truncated = text.Length > MaxOutputText;
        var shown = truncated ? text.ToString(0, MaxOutputText) : text.ToString();
        if (result.IsError == true) return CallOutcome.Failure(shown.Length > 0 ? shown : "the tool reported an error");
        // Structured content as it came, unless it is too big to record: then its text, cut.
        if (result.StructuredContent is { ValueKind: JsonValueKind.Object } structured && structured.GetRawText().Length <= MaxOutputText)
            return CallOutcome.Response(structured);
        var output = new JsonObject { ["text"] = shown };
        if (truncated) output["truncated"] = true;
        return CallOutcome.Response(JsonSerializer.SerializeToElement(output));
    }

    private static CallToolResult Refused(string tool, Refusal refusal)
    {
        var details = new JsonObject
        {
            ["kind"] = refusal.Kind switch
            {
                RefusalKind.Denied => "denied",
                RefusalKind.ApprovalPending => "approval-pending",
                RefusalKind.ApprovalExpired => "approval-expired",
                RefusalKind.ApprovalRejected => "approval-rejected",
                _ => "unavailable",
            },
            ["denyReason"] = refusal.DenyReason,
            ["policyIds"] = new JsonArray([.. (refusal.PolicyIds ?? []).Select(p => (JsonNode?)JsonValue.Create(p))]),
        };
        if (refusal.DecisionId is { } decision) details["decisionId"] = decision.ToString();
        if (refusal.ApprovalId is { } approval) details["approvalId"] = approval;
        if (refusal.ApprovalExpiresAt is { } expires) details["approvalExpiresAt"] = expires.ToString("O");
        var result = Error($"{tool}: {refusal.Message}");
        result.Meta = new JsonObject { [RefusalMetaKey] = details };
        return result;
    }

    private static CallToolResult Error(string message) => new() { IsError = true, Content = [new TextContentBlock { Text = message }] };
}
