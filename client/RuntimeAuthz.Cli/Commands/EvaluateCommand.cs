using System.CommandLine;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>
/// <c>authz evaluate</c>: one decision through the OpenID AuthZEN 1.0 endpoint, as any AuthZEN
/// client would ask it. Same exit codes as <c>check</c>.
/// </summary>
public static class EvaluateCommand
{
    public static Command Create(CommandRunner runner)
    {
        var agent = new Option<string>("--agent") { Description = "Agent id (the AuthZEN subject)", Required = true };
        var session = new Option<string>("--session") { Description = "Session the decision belongs to (context.session_id); open one with: authz sessions open", Required = true };
        var action = new Option<string>("--action") { Description = "Action (tool) name", Required = true };
        var resource = new Option<string>("--resource") { Description = "Resource as a Cedar entity: 'Type::\"id\"'", Required = true };
        var properties = new Option<string?>("--properties") { Description = "Resource attributes, a JSON object (or @file.json)" };
        var context = new Option<string?>("--context") { Description = "Extra context keys, a JSON object (or @file.json)" };
        var input = new Option<string?>("--input") { Description = "The tool input (context.tool_input), a JSON object (or @file.json)" };
        var requestId = new Option<string?>("--request-id") { Description = "X-Request-ID to send (echoed by the service)" };
        var command = new Command("evaluate", "Ask for one decision through the AuthZEN 1.0 API (POST /access/v1/evaluation). Exit code: 0 Allow, 2 Deny, 3 ApprovalRequired, 1 error")
        {
            agent, session, action, resource, properties, context, input, requestId,
        };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var entity = InputParsing.ParseEntity(call.Get(resource)!, "--resource");
            var request = new AuthZenEvaluationRequest(
                AuthZenSubject.Agent(call.Get(agent)!),
                new AuthZenAction(call.Get(action)!),
                new AuthZenResource(entity.Type, entity.Id, InputParsing.ParseJsonObject(call.Get(properties), "--properties")),
                AuthZenContext.Create(call.Get(session), InputParsing.ParseJsonObject(call.Get(input), "--input"), InputParsing.ParseJsonObject(call.Get(context), "--context")));
            var response = await call.Client.EvaluateAsync(request, call.Get(requestId), cancellationToken).ConfigureAwait(false);
            // Fail closed: without the service's outcome, only "decision": true counts as Allow.
            var outcome = response.Context?.Outcome ?? (response.Decision ? DecisionOutcome.Allow : DecisionOutcome.Deny);
            if (outcome == DecisionOutcome.Allow && !response.Decision)
            {
                outcome = DecisionOutcome.Deny;
            }
            if (call.Json)
            {
                Display.Json(call.Output, response);
            }
            else
            {
                call.Output.WriteLine($"{Display.Outcome(outcome)}  decision: {(response.Decision ? "true" : "false")}  {call.Get(agent)} {call.Get(action)} {entity}");
                var details = new List<string>();
                if (response.Context is { } explanation)
                {
                    details.Add(explanation.PolicyVersion is > 0 ? $"policy v{explanation.PolicyVersion}" : "no policy consulted");
                    if (explanation.Reasons is { Count: > 0 } reasons)
                    {
                        details.Add($"reasons: {string.Join(", ", reasons)}");
                    }
                    if (!string.IsNullOrEmpty(explanation.DenyReason))
                    {
                        details.Add($"reason: {explanation.DenyReason}");
                    }
                    if (!string.IsNullOrEmpty(explanation.DecisionId))
                    {
                        details.Add($"decision {explanation.DecisionId}");
                    }
                }
                call.Output.WriteLine($"  {string.Join("; ", details)}");
            }
            return CheckCommand.ExitCodeFor(outcome);
        });
        return command;
    }
}
