using System.CommandLine;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary><c>authz agents ...</c>: identities, their status and their delegated authority.</summary>
public static class AgentCommands
{
    public static Command Create(CommandRunner runner)
    {
        var agents = new Command("agents", "Register agents, change their status, and delegate authority to them");
        agents.Aliases.Add("agent");
        agents.Subcommands.Add(Register(runner));
        agents.Subcommands.Add(List(runner));
        agents.Subcommands.Add(Show(runner));
        agents.Subcommands.Add(ChangeStatus(runner, "suspend", AgentStatus.Suspended, "Suspend an agent: every decision is denied until it is activated again"));
        agents.Subcommands.Add(ChangeStatus(runner, "activate", AgentStatus.Active, "Reactivate a suspended agent"));
        agents.Subcommands.Add(ChangeStatus(runner, "revoke", AgentStatus.Revoked, "Revoke an agent for good (final: it cannot be activated again)"));
        agents.Subcommands.Add(Delegate(runner));
        agents.Subcommands.Add(Undelegate(runner));
        return agents;
    }

    private static Command Register(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Unique agent id, e.g. billing-bot-7" };
        var name = new Option<string?>("--name") { Description = "Display name (default: the id)" };
        var owner = new Option<string>("--owner") { Description = "Accountable human or team", Required = true };
        var fleet = new Option<string>("--fleet") { Description = "Fleet the agent belongs to (Cedar parent Fleet::\"<fleet>\")", Required = true };
        var labels = new Option<string[]>("--label") { Description = "Label key=value (repeatable)", AllowMultipleArgumentsPerToken = false };
        var command = new Command("register", "Register an agent identity (it can do nothing until authority is delegated)") { id, name, owner, fleet, labels };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var agentId = call.Required(id);
            var agent = await call.Client.RegisterAgentAsync(
                new RegisterAgentRequest(agentId, call.Get(name) ?? agentId, call.Get(owner)!, call.Get(fleet)!, InputParsing.ParseLabels(call.Get(labels), "--label")),
                cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, agent);
            }
            else
            {
                call.Output.WriteLine($"registered agent {agent.Id} ({agent.Status.ToString().ToLowerInvariant()}); grant authority with: authz agents delegate {agent.Id} --action <name> --resource '<Type>::\"<id>\"' --expires 8h");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CommandRunner runner)
    {
        var command = new Command("list", "List agents");
        command.Aliases.Add("ls");
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var agents = await call.Client.ListAgentsAsync(cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, agents);
                return ExitCodes.Success;
            }
            if (agents.Count == 0)
            {
                call.Output.WriteLine("no agents registered; add one with: authz agents register <id> --owner <who> --fleet <fleet>");
                return ExitCodes.Success;
            }
            var table = new TextTable("ID", "NAME", "OWNER", "FLEET", "STATUS", "LIVE DELEGATIONS", "REGISTERED");
            foreach (var agent in agents.OrderBy(agent => agent.Id, StringComparer.Ordinal))
            {
                var live = agent.Delegations?.Count(delegation => delegation.IsLiveAt(call.Now)) ?? 0;
                table.Add(agent.Id, agent.Name, agent.Owner, agent.Fleet, Display.Lower(agent.Status), live.ToString(System.Globalization.CultureInfo.InvariantCulture), Display.Time(agent.RegisteredAt));
            }
            table.WriteTo(call.Output);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Agent id" };
        var command = new Command("show", "Show an agent, its delegations and its most recently active sessions") { id };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var agent = await call.Client.GetAgentAsync(call.Required(id), cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, agent);
            }
            else
            {
                WriteAgent(call.Output, agent, call.Now);
                await WriteRecentSessionsAsync(call, agent.Id, cancellationToken).ConfigureAwait(false);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    public static void WriteAgent(TextWriter output, Agent agent, DateTimeOffset now)
    {
        new KeyValueBlock()
            .Add("Agent", agent.Id)
            .Add("Name", agent.Name)
            .Add("Owner", agent.Owner)
            .Add("Fleet", agent.Fleet)
            .Add("Status", Display.Lower(agent.Status))
            .Add("Labels", Display.Labels(agent.Labels))
            .Add("Registered", Display.Time(agent.RegisteredAt))
            .WriteTo(output);
        output.WriteLine();
        var delegations = agent.Delegations ?? [];
        if (delegations.Count == 0)
        {
            output.WriteLine("No delegations: every decision for this agent is denied (no-delegation).");
            return;
        }
        output.WriteLine("Delegations");
        var table = new TextTable("ID", "ACTIONS", "RESOURCES", "EXPIRES", "GRANTED BY", "PURPOSE");
        foreach (var delegation in delegations.OrderBy(delegation => delegation.GrantedAt))
        {
            var expires = delegation.IsLiveAt(now)
                ? $"{Display.Time(delegation.ExpiresAt)} ({Display.Relative(delegation.ExpiresAt, now)})"
                : $"{Display.Time(delegation.ExpiresAt)} (expired)";
            table.Add(delegation.Id, Display.List(delegation.Actions), Display.List(delegation.Resources), expires, delegation.GrantedBy, Display.Text(delegation.Purpose));
        }
        table.WriteTo(output);
    }

    public const int RecentSessions = 10;

    private static async Task WriteRecentSessionsAsync(Invocation call, string agentId, CancellationToken cancellationToken)
    {
        call.Output.WriteLine();
        SessionSummaryPage recent;
        try
        {
            recent = await call.Client.SearchSessionsAsync(new SessionSearch { AgentId = agentId, Limit = RecentSessions }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (AuthzApiException ex) when (ex.IsForbidden)
        {
            // Governance may read agents but not sessions: the agent is shown all the same.
            call.Output.WriteLine("Recent sessions: not shown (your token may not search sessions: needs sessions:search)");
            return;
        }
        if (recent.Items.Count == 0)
        {
            call.Output.WriteLine("No sessions yet.");
            return;
        }
        call.Output.WriteLine(recent.Continuation is null ? "Sessions" : $"Recent sessions (the {RecentSessions} most recently active; more: authz sessions list --agent {agentId} --all)");
        SessionCommands.WriteSummaries(call.Output, recent.Items, call.Now);
    }

    private static Command ChangeStatus(CommandRunner runner, string name, AgentStatus status, string description)
    {
        var id = new Argument<string>("id") { Description = "Agent id" };
        var reason = new Option<string?>("--reason") { Description = "Why (kept in the agent's record)" };
        var command = new Command(name, description) { id, reason };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var agent = await call.Client.SetAgentStatusAsync(
                call.Required(id),
                new ChangeAgentStatusRequest(status, call.Get(reason) ?? string.Empty),
                cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, agent);
            }
            else
            {
                call.Output.WriteLine($"agent {agent.Id} is now {Display.Lower(agent.Status)}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Delegate(CommandRunner runner)
    {
        var id = new Argument<string>("agent") { Description = "Agent id" };
        var actions = new Option<string[]>("--action") { Description = "Action name the agent may perform (repeatable or comma-separated)", Required = true, AllowMultipleArgumentsPerToken = false };
        var resources = new Option<string[]>("--resource") { Description = "Resource pattern: 'Type::\"id\"', 'Type::*' or '*' (repeatable)", Required = true, AllowMultipleArgumentsPerToken = false };
        var expires = new Option<string>("--expires") { Description = "When the authority ends: a duration from now (30m, 8h, 7d) or an ISO-8601 time", Required = true };
        var purpose = new Option<string?>("--purpose") { Description = "Why the agent needs it" };
        var command = new Command("delegate", "Grant an agent time-bounded authority over actions and resources") { id, actions, resources, expires, purpose };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var actionList = InputParsing.SplitList(call.Get(actions));
            var resourceList = (call.Get(resources) ?? []).Select(resource => resource.Trim()).Where(resource => resource.Length > 0).ToList();
            if (actionList.Count == 0 || resourceList.Count == 0)
            {
                throw new UserInputException("delegate needs at least one --action and one --resource");
            }
            var expiresAt = InputParsing.ParseExpiry(call.Get(expires)!, call.Now, "--expires");
            var agentId = call.Required(id);
            var delegation = await call.Client.GrantDelegationAsync(
                agentId,
                new GrantDelegationRequest(actionList, resourceList, expiresAt, call.Get(purpose)),
                cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, delegation);
            }
            else
            {
                call.Output.WriteLine($"delegation {delegation.Id} granted to {agentId}: {Display.List(delegation.Actions)} on {Display.List(delegation.Resources)} until {Display.Time(delegation.ExpiresAt)} ({Display.Relative(delegation.ExpiresAt, call.Now)})");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Undelegate(CommandRunner runner)
    {
        var id = new Argument<string>("agent") { Description = "Agent id" };
        var delegationId = new Argument<string>("delegation") { Description = "Delegation id (see: authz agents show <agent>)" };
        var command = new Command("undelegate", "Withdraw a delegation (in force cluster-wide when the command returns)") { id, delegationId };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var agent = await call.Client.RevokeDelegationAsync(call.Required(id), call.Required(delegationId), cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, agent);
            }
            else
            {
                call.Output.WriteLine($"delegation {call.Required(delegationId)} withdrawn from {agent.Id}; {agent.Delegations?.Count(delegation => delegation.IsLiveAt(call.Now)) ?? 0} live delegation(s) remain");
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
