using System.CommandLine;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>
/// <c>authz check</c>: asks for one decision. Exit code 0 = Allow, 2 = Deny, 3 = ApprovalRequired,
/// 1 = error (so a script can gate a tool call on it, failing closed on anything but 0).
/// </summary>
public static class CheckCommand
{
    /// <summary>Lifetime of the throwaway session opened when no --session is given.</summary>
    private const int ShortSessionSeconds = 60;

    public static Command Create(CommandRunner runner)
    {
        var agent = new Option<string?>("--agent") { Description = "Agent id (required unless --session is given)" };
        var action = new Option<string>("--action") { Description = "Action (tool) name, e.g. read_file", Required = true };
        var resource = new Option<string>("--resource") { Description = "Resource as a Cedar entity: 'Type::\"id\"'", Required = true };
        var properties = new Option<string?>("--properties") { Description = "Resource attributes, a JSON object (or @file.json)" };
        var session = new Option<string?>("--session") { Description = "Decide inside this session (its history and risk count); default: a short-lived session of its own" };
        var context = new Option<string?>("--context") { Description = "Extra context, a JSON object (or @file.json)" };
        var input = new Option<string?>("--input") { Description = "The tool input, a JSON object (or @file.json); policy sees it as context.input" };
        var command = new Command(
            "check",
            "Ask for one decision. Exit code: 0 Allow, 2 Deny, 3 ApprovalRequired, 1 error")
        {
            agent, action, resource, properties, session, context, input,
        };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var entity = InputParsing.ParseEntity(call.Get(resource)!, "--resource");
            var request = new DecisionRequest(
                call.Get(action)!,
                entity with { Properties = InputParsing.ParseJsonObject(call.Get(properties), "--properties") },
                InputParsing.ParseJsonObject(call.Get(context), "--context"),
                InputParsing.ParseJsonObject(call.Get(input), "--input"));
            var sessionId = call.Get(session);
            var agentId = call.Get(agent);
            Decision decision;
            if (!string.IsNullOrWhiteSpace(sessionId))
            {
                decision = await call.Client.DecideAsync(sessionId, request, cancellationToken).ConfigureAwait(false);
            }
            else if (string.IsNullOrWhiteSpace(agentId))
            {
                throw new UserInputException("check needs --agent <id> (or --session <id> to decide inside an existing session)");
            }
            else
            {
                Session opened;
                try
                {
                    opened = await call.Client.OpenSessionAsync(new OpenSessionRequest(agentId, ShortSessionSeconds, ShortSessionSeconds), cancellationToken).ConfigureAwait(false);
                }
                catch (AuthzApiException refused) when (refused.IsNotFound || refused.IsConflict)
                {
                    // No session for this agent (unknown, suspended or revoked): nothing it asks may run.
                    var reason = await RefusalReasonAsync(call.Client, agentId, cancellationToken).ConfigureAwait(false);
                    WriteRefusal(call, agentId, request, reason, refused);
                    return ExitCodes.Deny;
                }
                decision = await DecideAndCloseAsync(call.Client, opened.Id, request, cancellationToken).ConfigureAwait(false);
            }
            Write(call, decision, request);
            return ExitCodeFor(decision.Outcome);
        });
        return command;
    }

    public static int ExitCodeFor(DecisionOutcome outcome) => outcome switch
    {
        DecisionOutcome.Allow => ExitCodes.Success,
        DecisionOutcome.ApprovalRequired => ExitCodes.ApprovalRequired,
        _ => ExitCodes.Deny,
    };

    private static async Task<Decision> DecideAndCloseAsync(AuthzClient client, string sessionId, DecisionRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await client.DecideAsync(sessionId, request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                await client.CloseSessionAsync(sessionId, new CloseSessionRequest("authz check: single decision"), CancellationToken.None).ConfigureAwait(false);
            }
            catch (AuthzException)
            {
                // The session expires on its own within a minute; the decision stands either way.
            }
        }
    }

    /// <summary>Why the service would not open a session: the agent's own state, as a deny reason.</summary>
    private static async Task<string> RefusalReasonAsync(AuthzClient client, string agentId, CancellationToken cancellationToken)
    {
        try
        {
            var agent = await client.GetAgentAsync(agentId, cancellationToken).ConfigureAwait(false);
            return agent.Status switch
            {
                AgentStatus.Suspended => DenyReasons.AgentSuspended,
                AgentStatus.Revoked => DenyReasons.AgentRevoked,
                _ => "session-refused",
            };
        }
        catch (AuthzApiException lookup) when (lookup.IsNotFound)
        {
            return DenyReasons.UnknownAgent;
        }
        catch (AuthzApiException lookup) when (lookup.IsForbidden)
        {
            // An agent token may not read agent records; the refusal itself is the answer.
            return "session-refused";
        }
    }

    private static void WriteRefusal(Invocation call, string agentId, DecisionRequest request, string reason, AuthzApiException refused)
    {
        if (call.Json)
        {
            Display.Json(call.Output, new { outcome = "Deny", denyReason = reason, agentId, detail = refused.Detail ?? refused.Title, decidedBy = "no session could be opened" });
            return;
        }
        call.Output.WriteLine($"{Display.Outcome(DecisionOutcome.Deny)}  {agentId} {request.Action} {request.Resource}");
        call.Output.WriteLine($"  reason: {reason}; no session could be opened: {refused.Detail ?? refused.Title}");
    }

    private static void Write(Invocation call, Decision decision, DecisionRequest request)
    {
        if (call.Json)
        {
            Display.Json(call.Output, decision);
            return;
        }
        var headline = $"{Display.Outcome(decision.Outcome)}  {decision.AgentId} {request.Action} {request.Resource}";
        // Version 0: refused before any policy was consulted (unknown agent, closed session, ...).
        var details = new List<string> { decision.PolicyVersion > 0 ? $"policy v{decision.PolicyVersion}" : "no policy consulted" };
        if (decision.Reasons is { Count: > 0 } reasons)
        {
            details.Add($"{(decision.Outcome == DecisionOutcome.Deny ? "denied by" : "permitted by")} {string.Join(", ", reasons)}");
        }
        if (!string.IsNullOrEmpty(decision.DenyReason))
        {
            details.Add($"reason: {decision.DenyReason}");
        }
        if (decision.RiskAdded is { } risk and > 0 && decision.CumulativeRisk is { } total)
        {
            details.Add($"risk +{risk} (session total {total})");
        }
        details.Add($"session {decision.SessionId}");
        details.Add($"decision {decision.DecisionId}");
        call.Output.WriteLine(headline);
        call.Output.WriteLine($"  {string.Join("; ", details)}");
        foreach (var error in decision.Errors ?? [])
        {
            call.Output.WriteLine($"  policy error in {error.PolicyId}: {error.Message}");
        }
        if (decision.Outcome == DecisionOutcome.ApprovalRequired)
        {
            call.Output.WriteLine("  this call must be approved by a human before it runs");
        }
    }
}
