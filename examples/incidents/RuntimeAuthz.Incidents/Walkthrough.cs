using System.Text.Encodings.Web;
using System.Text.Json;
using RuntimeAuthz.Client;
using RuntimeAuthz.Enforcement;

namespace RuntimeAuthz.Incidents;

/// <summary>Who the walk-throughs act as: the enforcement point deciding the agents' calls, governance, and a human approver.</summary>
public sealed record IncidentClients(AuthzClient EnforcementPoint, AuthzClient Governance, AuthzClient Approver);

/// <summary>What a step is expected to come to: a decision (Allow, Deny, ApprovalRequired) or a governance answer (Accepted, Refused).</summary>
public static class Expect
{
    public const string Allow = "Allow";
    public const string Deny = "Deny";
    public const string ApprovalRequired = "ApprovalRequired";
    public const string Accepted = "Accepted";
    public const string Refused = "Refused";
}

/// <summary>One step as it came out.</summary>
public sealed record StepResult(string Incident, int Number, string Description, string Expected, string Actual, string Detail)
{
    public bool AsExpected => Expected == Actual;
}

/// <summary>
/// One incident's script: the agent's tool calls go through the shared enforcement loop (decide → run the tool only on
/// Allow → report its output), exactly as the gateways run them; governance steps go to the cluster directly.
/// </summary>
public sealed class Walkthrough(string incident, IncidentClients clients, AuthorizationEnforcer enforcer, TextWriter output)
{
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly List<StepResult> results = [];
    private readonly Dictionary<string, EnforcementSession> sessions = new(StringComparer.Ordinal);

    public string Incident { get; } = incident;
    public IncidentClients Clients { get; } = clients;
    public IReadOnlyList<StepResult> Results => results;

    /// <summary>The last approval a held call is waiting for (the approver's steps act on it).</summary>
    public string? PendingApprovalId { get; private set; }

    /// <summary>Registers an agent with a fresh identity and returns its grant of <paramref name="actions"/> on <paramref name="resources"/>.</summary>
    public async Task<Grant> RegisterAsync(string agentId, IReadOnlyList<string> actions, IReadOnlyList<string> resources, TimeSpan validFor, CancellationToken cancellationToken)
    {
        await Clients.Governance.RegisterAgentAsync(new RegisterAgentRequest(agentId, agentId, "incident-owner@example.com", "research"), cancellationToken);
        return await Clients.Governance.CreateGrantAsync(agentId,
            new CreateGrantRequest(actions, resources, DateTimeOffset.UtcNow + validFor, Purpose: $"incident walk-through {Incident}"), cancellationToken);
    }

    /// <summary>A tool call by <paramref name="agentId"/>: decided first; <paramref name="tool"/> runs (and its output is reported) only on Allow.</summary>
    public async Task CallAsync(string agentId, string description, string expected, string action, string resourceType, string resourceId, object? input,
        Func<object> tool, CancellationToken cancellationToken)
    {
        if (!sessions.TryGetValue(agentId, out var session)) sessions[agentId] = session = enforcer.CreateSession(agentId);
        var call = new GuardedCall(action, new ResourceRef(resourceType, resourceId), input is null ? null : JsonSerializer.SerializeToElement(input));
        var ran = false;
        var result = await enforcer.EnforceAsync(session, call, _ =>
        {
            ran = true;
            return Task.FromResult(JsonSerializer.SerializeToElement(tool()));
        }, output => CallOutcome.Response(output), cancellationToken);
        string actual, detail;
        switch (result.Refusal)
        {
            case null:
                (actual, detail) = (Expect.Allow, ran ? $"ran; its output {JsonSerializer.Serialize(result.Value, Readable)} reported as the outcome" : "allowed");
                break;
            case { Kind: RefusalKind.ApprovalPending } pending:
                PendingApprovalId = pending.ApprovalId;
                (actual, detail) = (Expect.ApprovalRequired, $"not run: held for approval {pending.ApprovalId}");
                break;
            case { Kind: RefusalKind.Denied } denied:
                (actual, detail) = (Expect.Deny, $"not run: {denied.Message}");
                break;
            case var other:
                (actual, detail) = (other.Kind.ToString(), $"not run: {other.Message}");
                break;
        }
        Record($"{agentId}: {description}", expected, actual, detail);
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

    private void Record(string description, string expected, string actual, string detail)
    {
        var step = new StepResult(Incident, results.Count + 1, description, expected, actual, detail);
        results.Add(step);
        output.WriteLine($"  {step.Number}. {description}");
        output.WriteLine($"     -> {actual}{(step.AsExpected ? "" : $"   (EXPECTED {expected})")}: {detail}");
    }
}
