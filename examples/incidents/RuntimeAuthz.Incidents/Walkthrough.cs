using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using RuntimeAuthz.Client;
using RuntimeAuthz.McpGateway;

namespace RuntimeAuthz.Incidents;

/// <summary>
/// Who the walk-throughs act as. The agents hold their own tokens (each an MCP client of the gateway); governance grants
/// and revokes; a human approver approves held calls. The gateway has its own identity at the cluster (its configuration).
/// </summary>
public sealed record IncidentClients(Func<string, CancellationToken, ValueTask<string>> AgentToken, AuthzClient Governance, AuthzClient Approver);

/// <summary>What a step is expected to come to: a decision (Allow, Deny, ApprovalRequired) or a governance answer (Accepted, Refused).</summary>
public static class Expect
{
    public const string Allow = "Allow";
    public const string Deny = "Deny";
    public const string ApprovalRequired = "ApprovalRequired";
    public const string Accepted = "Accepted";
    public const string Refused = "Refused";
}

/// <summary>One step as it came out; <see cref="DenyReason"/> and <see cref="Policies"/> (by their @id) say why a call was refused.</summary>
public sealed record StepResult(string Incident, int Number, string Description, string Expected, string Actual, string Detail,
    string? DenyReason = null, IReadOnlyList<string>? Policies = null)
{
    public bool AsExpected => Expected == Actual;
}

/// <summary>
/// One incident's script. Each agent is an MCP client of the gateway with its own token and one MCP session (so one
/// authorization session); its tool calls are decided by the cluster before the gateway forwards them, and the gateway
/// reports what the tool returned. Governance and approver steps go to the cluster directly.
/// </summary>
public sealed class Walkthrough(string incident, IncidentStage stage, IncidentClients clients, PolicyNames policies, TextWriter output, TimeProvider time)
    : IAsyncDisposable
{
    private static readonly TimeSpan ApprovalPoll = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan ApprovalAppears = TimeSpan.FromSeconds(30);
    private readonly List<StepResult> _results = [];
    private readonly Dictionary<string, McpClient> _agents = new(StringComparer.Ordinal);

    public string Incident { get; } = incident;
    public IncidentStage Stage { get; } = stage;
    public IncidentClients Clients { get; } = clients;
    public IReadOnlyList<StepResult> Results => _results;

    /// <summary>Registers an agent and grants it <paramref name="actions"/> on <paramref name="resources"/> for <paramref name="validFor"/>.</summary>
    public async Task<Grant> RegisterAsync(string agentId, IReadOnlyList<string> actions, IReadOnlyList<string> resources, TimeSpan validFor, CancellationToken cancellationToken)
    {
        await Clients.Governance.RegisterAgentAsync(new RegisterAgentRequest(agentId, agentId, "incident-owner@example.com", "research"), cancellationToken);
        return await Clients.Governance.CreateGrantAsync(agentId,
            new CreateGrantRequest(actions, resources, time.GetUtcNow() + validFor, Purpose: $"incident walk-through {Incident}"), cancellationToken);
    }

    /// <summary>A tool call by <paramref name="agentId"/> through the gateway; <paramref name="observe"/> adds what the tool servers' data shows after it.</summary>
    public async Task<CallToolResult> CallAsync(string agentId, string description, string expected, string tool, IReadOnlyDictionary<string, object?> arguments,
        CancellationToken cancellationToken, Func<string>? observe = null)
    {
        var client = await AgentAsync(agentId, cancellationToken);
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: cancellationToken);
        RecordCall($"{agentId}: {description}", expected, result, observe);
        return result;
    }

    /// <summary>
    /// A call the gateway is expected to hold for approval: started, and recorded as <c>ApprovalRequired</c> once the cluster's
    /// approval request for it appears (or as whatever it came to, if it was answered first). <see cref="FinishAsync"/> ends it.
    /// </summary>
    public async Task<HeldCall> StartHeldAsync(string agentId, string description, string tool, IReadOnlyDictionary<string, object?> arguments,
        CancellationToken cancellationToken, Func<string>? observe = null)
    {
        var client = await AgentAsync(agentId, cancellationToken);
        var call = client.CallToolAsync(tool, arguments, cancellationToken: cancellationToken).AsTask();
        var deadline = time.GetUtcNow() + ApprovalAppears;
        while (!call.IsCompleted && time.GetUtcNow() < deadline)
        {
            var pending = (await Clients.Approver.ListApprovalsAsync("pending", cancellationToken: cancellationToken)).FirstOrDefault(a => a.AgentId == agentId);
            if (pending is not null)
            {
                Record($"{agentId}: {description}", Expect.ApprovalRequired, Expect.ApprovalRequired,
                    With($"held by the gateway, not forwarded: approval {pending.Id} pending", observe));
                return new HeldCall(agentId, call, pending.Id);
            }
            await Task.Delay(ApprovalPoll, time, cancellationToken);
        }
        var answered = call.IsCompleted ? await call : null;
        if (answered is null) Record($"{agentId}: {description}", Expect.ApprovalRequired, "Error", "no answer and no approval request");
        else RecordCall($"{agentId}: {description}", Expect.ApprovalRequired, answered, observe);
        return new HeldCall(agentId, call, null);
    }

    /// <summary>Waits for a held call's answer and records it.</summary>
    public async Task<CallToolResult> FinishAsync(HeldCall held, string description, string expected, Func<string>? observe = null)
    {
        var result = await held.Call;
        RecordCall($"{held.AgentId}: {description}", expected, result, observe);
        return result;
    }

    /// <summary>A governance (or approver) act: accepted, or refused by the cluster with its reason.</summary>
    public async Task GovernAsync(string description, string expected, Func<Task<string>> act)
    {
        string actual, detail;
        try
        {
            (actual, detail) = (Expect.Accepted, await act());
        }
        catch (AuthzApiException refused) when (refused.Status is >= 400 and < 500)
        {
            (actual, detail) = (Expect.Refused, $"{refused.Status}: {refused.Detail ?? refused.Title}");
        }
        Record(description, expected, actual, detail);
    }

    /// <summary>The text a tool call returned.</summary>
    public static string TextOf(CallToolResult result) => string.Join("\n", result.Content.OfType<TextContentBlock>().Select(b => b.Text));

    /// <summary>Each agent connects once: its MCP session is its authorization session, so history and risk span its calls.</summary>
    private async Task<McpClient> AgentAsync(string agentId, CancellationToken cancellationToken)
    {
        if (_agents.TryGetValue(agentId, out var client)) return client;
        var token = await Clients.AgentToken(agentId, cancellationToken);
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = Stage.GatewayEndpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
        });
        client = await McpClient.CreateAsync(transport, new McpClientOptions
        {
            ClientInfo = new Implementation { Name = $"incident-agent-{agentId}", Version = "1.0" },
        }, cancellationToken: cancellationToken);
        _agents[agentId] = client;
        return client;
    }

    private void RecordCall(string description, string expected, CallToolResult result, Func<string>? observe)
    {
        if (result.IsError != true)
        {
            Record(description, expected, Expect.Allow, With($"forwarded; the tool answered {Shorten(TextOf(result))}", observe));
            return;
        }
        if (result.Meta?[ToolCallGate.RefusalMetaKey] is not JsonObject refusal)
        {
            Record(description, expected, "Error", With($"forwarded, and the tool failed: {Shorten(TextOf(result))}", observe));
            return;
        }
        var kind = refusal["kind"]?.GetValue<string>();
        var reason = refusal["denyReason"]?.GetValue<string>();
        var named = (refusal["policyIds"] as JsonArray ?? []).Select(p => policies.Name(p!.GetValue<string>())).ToList();
        var why = named.Count > 0 ? $"{reason} by {string.Join(", ", named)}" : reason == "not-permitted" ? "not-permitted: no policy permits it" : reason ?? "no reason given";
        var (actual, detail) = kind switch
        {
            "denied" => (Expect.Deny, $"not forwarded: {why}"),
            "approval-pending" => (Expect.ApprovalRequired, $"not forwarded: approval {refusal["approvalId"]?.GetValue<string>()} pending"),
            _ => (kind ?? "Error", $"not forwarded: {Shorten(TextOf(result))}"),
        };
        Record(description, expected, actual, With(detail, observe), reason, named);
    }

    private static string With(string detail, Func<string>? observe) => observe is null ? detail : $"{detail}; {observe()}";

    private static string Shorten(string text)
    {
        var line = string.Join(' ', text.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length <= 100 ? line : line[..100] + "...";
    }

    private void Record(string description, string expected, string actual, string detail, string? reason = null, IReadOnlyList<string>? named = null)
    {
        var step = new StepResult(Incident, _results.Count + 1, description, expected, actual, detail, reason, named ?? []);
        _results.Add(step);
        output.WriteLine($"  {step.Number}. {description}");
        output.WriteLine($"     -> {actual}{(step.AsExpected ? "" : $"   (EXPECTED {expected})")}: {detail}");
    }

    /// <summary>Ends every agent's MCP session, and with it the agent's authorization session.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var client in _agents.Values) await client.DisposeAsync();
        _agents.Clear();
    }
}

/// <summary>A call held by the gateway for <see cref="ApprovalId"/>; its answer comes once the approval is decided.</summary>
public sealed record HeldCall(string AgentId, Task<CallToolResult> Call, string? ApprovalId);
