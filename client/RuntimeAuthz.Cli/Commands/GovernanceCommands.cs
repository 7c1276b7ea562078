using System.CommandLine;
using System.Globalization;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>
/// Delegation governance: <c>authz grants ...</c> (grants, sub-delegation, elevations),
/// <c>authz revoke ...</c> (agent-wide and delegator-wide revocation) and
/// <c>authz fleets|labels suspend|reactivate|show</c>. Every change records why; who is the caller's token subject.
/// </summary>
public static class GovernanceCommands
{
    public static IEnumerable<Command> Create(CommandRunner runner)
    {
        var grants = new Command("grants", "Grant, sub-delegate, elevate, inspect and revoke authority");
        grants.Aliases.Add("grant");
        grants.Subcommands.Add(CreateGrant(runner));
        grants.Subcommands.Add(ListGrants(runner));
        grants.Subcommands.Add(ShowGrant(runner));
        grants.Subcommands.Add(RevokeGrant(runner));
        grants.Subcommands.Add(Elevate(runner));
        yield return grants;

        var revoke = new Command("revoke", "Revoke authority at once, cluster-wide (in force when the command returns)");
        revoke.Subcommands.Add(RevokeAgent(runner));
        revoke.Subcommands.Add(RevokeDelegator(runner));
        yield return revoke;

        yield return Suspensions(runner, "fleets", "fleet", "Suspend or reactivate every agent of a fleet");
        yield return Suspensions(runner, "labels", "label", "Suspend or reactivate every agent carrying a label key=value");
    }

    private static Option<string> ReasonOption() => new("--reason") { Description = "Why (recorded with the change)", Required = true };

    private static Command CreateGrant(CommandRunner runner)
    {
        var agent = new Argument<string>("agent") { Description = "Agent receiving the grant" };
        var actions = new Option<string[]>("--action") { Description = "Action name or * (repeatable or comma-separated)", Required = true };
        var resources = new Option<string[]>("--resource") { Description = "Resource pattern: 'Type::\"id\"', 'Type::*' or '*' (repeatable)", Required = true };
        var expires = new Option<string>("--expires") { Description = "Duration from now (30m, 8h, 7d) or ISO-8601 time", Required = true };
        var notBefore = new Option<string?>("--not-before") { Description = "Start: duration from now or ISO-8601 time (default: now)" };
        var condition = new Option<string?>("--condition") { Description = "Cedar expression that must hold, e.g. 'context.input.amount <= 100'" };
        var purpose = new Option<string?>("--purpose") { Description = "Why the agent needs it" };
        var fromAgent = new Option<string?>("--from-agent") { Description = "Sub-delegate: the agent handing on part of its grant" };
        var parentGrant = new Option<string?>("--parent-grant") { Description = "Sub-delegate: the delegating agent's grant id" };
        var command = new Command("create", "Grant authority to an agent, or sub-delegate part of another agent's grant")
            { agent, actions, resources, expires, notBefore, condition, purpose, fromAgent, parentGrant };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var actionList = InputParsing.SplitList(call.Get(actions));
            var resourceList = (call.Get(resources) ?? []).Select(r => r.Trim()).Where(r => r.Length > 0).ToList();
            if (actionList.Count == 0 || resourceList.Count == 0) throw new UserInputException("grants create needs at least one --action and one --resource");
            if ((call.Get(fromAgent) is null) != (call.Get(parentGrant) is null)) throw new UserInputException("--from-agent and --parent-grant go together");
            var from = call.Get(fromAgent);
            var request = new CreateGrantRequest(actionList, resourceList, InputParsing.ParseExpiry(call.Get(expires)!, call.Now, "--expires"),
                call.Get(purpose), call.Get(condition),
                call.Get(notBefore) is { } start ? InputParsing.ParseExpiry(start, call.Now, "--not-before") : null, from, call.Get(parentGrant));
            var grant = await call.Client.CreateGrantAsync(call.Required(agent), request, cancellationToken).ConfigureAwait(false);
            WriteGrant(call, grant, "granted");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command ListGrants(CommandRunner runner)
    {
        var agent = new Argument<string>("agent") { Description = "Agent id" };
        var command = new Command("list", "List an agent's grants and recently revoked ones") { agent };
        command.Aliases.Add("ls");
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var list = await call.Client.ListGrantsAsync(call.Required(agent), cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, list);
                return ExitCodes.Success;
            }
            var table = new TextTable("ID", "STATUS", "ACTIONS", "RESOURCES", "FROM", "DEPTH", "SESSION", "EXPIRES", "REVOKED BY");
            foreach (var grant in list.Grants.Concat(list.Revoked))
            {
                table.Add(grant.Id, grant.Status, Display.List(grant.Actions), Display.List(grant.Resources),
                    grant.DelegatorAgentId is null ? grant.GrantedBy : $"{grant.DelegatorAgentId}/{grant.ParentGrantId}",
                    grant.Depth.ToString(CultureInfo.InvariantCulture), Display.Text(grant.SessionId), Display.Time(grant.ExpiresAt),
                    grant.RevokedBy is null ? "-" : $"{grant.RevokedBy}: {grant.RevokeReason}");
            }
            if (table.RowCount == 0) call.Output.WriteLine($"{list.AgentId} holds no grants: every decision is denied (no-delegation).");
            else table.WriteTo(call.Output);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command ShowGrant(CommandRunner runner)
    {
        var agent = new Argument<string>("agent") { Description = "Agent id" };
        var grantId = new Argument<string>("grant") { Description = "Grant id" };
        var command = new Command("show", "Show one grant (current or revoked)") { agent, grantId };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var grant = await call.Client.GetGrantAsync(call.Required(agent), call.Required(grantId), cancellationToken).ConfigureAwait(false);
            WriteGrant(call, grant, grant.Status);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command RevokeGrant(CommandRunner runner)
    {
        var agent = new Argument<string>("agent") { Description = "Agent id" };
        var grantId = new Argument<string>("grant") { Description = "Grant id" };
        var reason = ReasonOption();
        var command = new Command("revoke", "Revoke one grant and every grant derived from it") { agent, grantId, reason };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var revocation = await call.Client.RevokeGrantAsync(call.Required(agent), call.Required(grantId),
                new GovernanceActionRequest(call.Get(reason)!), cancellationToken).ConfigureAwait(false);
            WriteRevocation(call, revocation);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Elevate(CommandRunner runner)
    {
        var session = new Argument<string>("session") { Description = "Session that may use the elevation" };
        var actions = new Option<string[]>("--action") { Description = "Action name (repeatable or comma-separated)", Required = true };
        var resources = new Option<string[]>("--resource") { Description = "Resource pattern (repeatable)", Required = true };
        var duration = new Option<string>("--for") { Description = "Lifetime, e.g. 10m (at most the configured maximum, 1h by default)", Required = true };
        var purpose = new Option<string?>("--purpose") { Description = "Why the elevation is needed" };
        var condition = new Option<string?>("--condition") { Description = "Cedar expression that must hold" };
        var command = new Command("elevate", "Just-in-time elevation: a short-lived grant only one session may use") { session, actions, resources, duration, purpose, condition };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            if (!InputParsing.TryParseDuration(call.Get(duration)!, out var lifetime) || lifetime < TimeSpan.FromSeconds(1))
                throw new UserInputException("--for must be a duration such as 90s, 10m or 1h");
            var grant = await call.Client.ElevateAsync(call.Required(session), new CreateElevationRequest(
                InputParsing.SplitList(call.Get(actions)), (call.Get(resources) ?? []).Select(r => r.Trim()).Where(r => r.Length > 0).ToList(),
                (int)Math.Min(int.MaxValue, lifetime.TotalSeconds), call.Get(purpose), call.Get(condition)),
                cancellationToken).ConfigureAwait(false);
            WriteGrant(call, grant, "elevation granted");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command RevokeAgent(CommandRunner runner)
    {
        var agent = new Argument<string>("agent") { Description = "Agent id" };
        var reason = ReasonOption();
        var command = new Command("agent", "Revoke every grant of an agent (and what it sub-delegated)") { agent, reason };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var revocation = await call.Client.RevokeAgentGrantsAsync(call.Required(agent),
                new GovernanceActionRequest(call.Get(reason)!), cancellationToken).ConfigureAwait(false);
            WriteRevocation(call, revocation);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command RevokeDelegator(CommandRunner runner)
    {
        var agent = new Option<string?>("--agent") { Description = "An agent that sub-delegated: revoke every grant it handed on" };
        var principal = new Option<string?>("--principal") { Description = "A human principal (grantedBy): revoke every grant they made" };
        var reason = ReasonOption();
        var command = new Command("delegator", "Revoke every grant made by a delegator, cascading to grants derived from them") { agent, principal, reason };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            if ((call.Get(agent) is null) == (call.Get(principal) is null)) throw new UserInputException("give exactly one of --agent or --principal");
            var revocation = await call.Client.RevokeByDelegatorAsync(
                new RevokeByDelegatorRequest(call.Get(reason)!, call.Get(agent), call.Get(principal)), cancellationToken).ConfigureAwait(false);
            WriteRevocation(call, revocation);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Suspensions(CommandRunner runner, string name, string what, string description)
    {
        var group = new Command(name, description);
        foreach (var (verb, suspended) in new[] { ("suspend", true), ("reactivate", false) })
        {
            var target = new Argument<string>(what) { Description = what == "fleet" ? "Fleet name" : "Label as key=value" };
            var reason = ReasonOption();
            var command = new Command(verb, $"{(suspended ? "Suspend" : "Reactivate")} every agent of the {what}") { target, reason };
            runner.SetAction(command, async (call, cancellationToken) =>
            {
                var by = new GovernanceActionRequest(call.Get(reason)!);
                var suspension = what == "fleet"
                    ? await call.Client.SetFleetSuspendedAsync(call.Required(target), suspended, by, cancellationToken).ConfigureAwait(false)
                    : await SetLabelAsync(call, call.Required(target), suspended, by, cancellationToken).ConfigureAwait(false);
                WriteSuspension(call, suspension);
                return ExitCodes.Success;
            });
            group.Subcommands.Add(command);
        }
        var shown = new Argument<string>(what) { Description = what == "fleet" ? "Fleet name" : "Label as key=value" };
        var show = new Command("show", $"Show whether a {what} is suspended, with its history") { shown };
        runner.SetAction(show, async (call, cancellationToken) =>
        {
            Suspension suspension;
            if (what == "fleet")
            {
                suspension = await call.Client.GetFleetSuspensionAsync(call.Required(shown), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var (key, value) = Label(call.Required(shown));
                suspension = await call.Client.GetLabelSuspensionAsync(key, value, cancellationToken).ConfigureAwait(false);
            }
            WriteSuspension(call, suspension);
            return ExitCodes.Success;
        });
        group.Subcommands.Add(show);
        return group;
    }

    private static Task<Suspension> SetLabelAsync(Invocation call, string label, bool suspended, GovernanceActionRequest by, CancellationToken cancellationToken)
    {
        var (key, value) = Label(label);
        return call.Client.SetLabelSuspendedAsync(key, value, suspended, by, cancellationToken);
    }

    private static (string Key, string Value) Label(string text)
    {
        var split = text.IndexOf('=', StringComparison.Ordinal);
        if (split <= 0) throw new UserInputException($"label '{text}' must be key=value");
        return (text[..split], text[(split + 1)..]);
    }

    private static void WriteGrant(Invocation call, Grant grant, string verb)
    {
        if (call.Json)
        {
            Display.Json(call.Output, grant);
            return;
        }
        call.Output.WriteLine($"grant {grant.Id} {verb}: {Display.List(grant.Actions)} on {Display.List(grant.Resources)} until {Display.Time(grant.ExpiresAt)} ({Display.Relative(grant.ExpiresAt, call.Now)})");
        if (grant.DelegatorAgentId is not null) call.Output.WriteLine($"  delegated by agent {grant.DelegatorAgentId} from grant {grant.ParentGrantId} (depth {grant.Depth})");
        if (grant.SessionId is not null) call.Output.WriteLine($"  bound to session {grant.SessionId}");
        if (grant.Condition is not null) call.Output.WriteLine($"  when {grant.Condition}");
        if (grant.RevokedAt is not null) call.Output.WriteLine($"  revoked {Display.Time(grant.RevokedAt)} by {grant.RevokedBy}: {grant.RevokeReason}");
    }

    private static void WriteRevocation(Invocation call, Revocation revocation)
    {
        if (call.Json)
        {
            Display.Json(call.Output, revocation);
            return;
        }
        call.Output.WriteLine($"revoked {revocation.Count} grant(s) at {Display.Time(revocation.RevokedAt)}; in force cluster-wide now");
        foreach (var revoked in revocation.Revoked) call.Output.WriteLine($"  {revoked.AgentId} {revoked.Grant.Id} {Display.List(revoked.Grant.Actions)} on {Display.List(revoked.Grant.Resources)}");
    }

    private static void WriteSuspension(Invocation call, Suspension suspension)
    {
        if (call.Json)
        {
            Display.Json(call.Output, suspension);
            return;
        }
        call.Output.WriteLine($"{suspension.Scope}: {(suspension.Suspended ? "SUSPENDED" : "active")}" +
            (suspension.ChangedBy is null ? "" : $" (since {Display.Time(suspension.ChangedAt)} by {suspension.ChangedBy}: {suspension.Reason})"));
    }
}
