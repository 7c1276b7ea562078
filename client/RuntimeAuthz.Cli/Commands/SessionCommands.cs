using System.CommandLine;
using System.Globalization;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary><c>authz sessions ...</c>: open, inspect and close agent sessions.</summary>
public static class SessionCommands
{
    public static Command Create(CommandRunner runner)
    {
        var sessions = new Command("sessions", "Open, find, inspect and close agent sessions");
        sessions.Aliases.Add("session");
        sessions.Subcommands.Add(Open(runner));
        sessions.Subcommands.Add(List(runner));
        sessions.Subcommands.Add(Show(runner));
        sessions.Subcommands.Add(Close(runner));
        sessions.Subcommands.Add(Outcome(runner));
        return sessions;
    }

    private static Command Open(CommandRunner runner)
    {
        var agent = new Option<string>("--agent") { Description = "Agent id", Required = true };
        var lifetime = new Option<string?>("--lifetime") { Description = "Maximum session lifetime, e.g. 1h (default: service default, 1h)" };
        var idle = new Option<string?>("--idle-timeout") { Description = "Idle timeout, e.g. 15m (default: service default, 15m)" };
        var command = new Command("open", "Open a session for an agent and print its id") { agent, lifetime, idle };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var session = await call.Client.OpenSessionAsync(
                new OpenSessionRequest(call.Get(agent)!, InputParsing.ParseSeconds(call.Get(lifetime), "--lifetime"), InputParsing.ParseSeconds(call.Get(idle), "--idle-timeout")),
                cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, session);
            }
            else
            {
                // The id alone on the first line so scripts can capture it: SID=$(authz sessions open --agent a | head -1)
                call.Output.WriteLine(session.Id);
                call.Output.WriteLine($"session for {session.AgentId} open until {Display.Time(session.ExpiresAt)} ({Display.Relative(session.ExpiresAt, call.Now)}), idle timeout {Display.Span(TimeSpan.FromSeconds(session.IdleTimeoutSeconds))}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CommandRunner runner)
    {
        var agent = new Option<string?>("--agent") { Description = "Only this agent's sessions" };
        var fleet = new Option<string?>("--fleet") { Description = "Only sessions of agents in this fleet" };
        var status = new Option<string?>("--status") { Description = "open, closed or expired" };
        var since = new Option<string?>("--since") { Description = "Active since: a span back from now (1h, 30m, 7d) or an ISO-8601 time" };
        var minRisk = new Option<long?>("--min-risk") { Description = "Cumulative risk at least this" };
        var hasDenies = new Option<bool>("--has-denies") { Description = "Only sessions with at least one denied decision" };
        var policyVersion = new Option<long?>("--policy-version") { Description = "Only sessions whose latest decision was made by this policy version" };
        var limit = new Option<int?>("--limit") { Description = "Sessions per page, 1..500 (default 50)" };
        var all = new Option<bool>("--all") { Description = "Every matching session, page after page (default: the first page)" };
        var command = new Command("list", "Find sessions, most recently active first") { agent, fleet, status, since, minRisk, hasDenies, policyVersion, limit, all };
        command.Aliases.Add("ls");
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var search = new SessionSearch
            {
                AgentId = call.Get(agent), Fleet = call.Get(fleet), Status = ParseStatus(call.Get(status)),
                ActiveAfter = call.Get(since) is { } text ? ParseSince(text, call.Now) : null,
                MinRisk = call.Get(minRisk), HasDenies = call.Get(hasDenies) ? true : null, PolicyVersion = call.Get(policyVersion),
                Limit = call.Get(limit),
            };
            if (search.Limit is < 1 or > 500) throw new UserInputException($"--limit must be between 1 and 500, got {search.Limit}");
            if (search.MinRisk is < 0 || search.PolicyVersion is < 0) throw new UserInputException("--min-risk and --policy-version must be 0 or more");
            var found = new List<SessionSummary>();
            string? continuation = null;
            do
            {
                var page = await call.Client.SearchSessionsAsync(search, continuation, cancellationToken).ConfigureAwait(false);
                found.AddRange(page.Items);
                continuation = page.Continuation;
            }
            while (continuation is not null && call.Get(all));
            if (call.Json)
            {
                Display.Json(call.Output, found);
                return ExitCodes.Success;
            }
            if (found.Count == 0)
            {
                call.Output.WriteLine("no matching sessions");
                return ExitCodes.Success;
            }
            WriteSummaries(call.Output, found, call.Now);
            if (continuation is not null) call.Output.WriteLine($"showing the first {found.Count}; more match: add --all (or a larger --limit)");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>A table of found sessions (also under <c>authz agents show</c>).</summary>
    public static void WriteSummaries(TextWriter output, IEnumerable<SessionSummary> sessions, DateTimeOffset now)
    {
        var table = new TextTable("SESSION", "AGENT", "FLEET", "STATUS", "OPENED", "LAST ACTIVITY", "RISK", "DECISIONS", "DENIES", "POLICY");
        foreach (var session in sessions)
        {
            table.Add(session.SessionId, session.AgentId, Display.Text(session.Fleet), Display.Lower(session.Status), Display.Time(session.OpenedAt),
                $"{Display.Time(session.LastActivityAt)} ({Display.Relative(session.LastActivityAt, now)})",
                session.CumulativeRisk.ToString(CultureInfo.InvariantCulture), session.Decisions.ToString(CultureInfo.InvariantCulture),
                session.Denies.ToString(CultureInfo.InvariantCulture), session.LastPolicyVersion > 0 ? $"v{session.LastPolicyVersion}" : "-");
        }
        table.WriteTo(output);
    }

    private static SessionStatus? ParseStatus(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null => null,
        "open" => SessionStatus.Open,
        "closed" => SessionStatus.Closed,
        "expired" => SessionStatus.Expired,
        _ => throw new UserInputException($"--status must be open, closed or expired, got '{text}'"),
    };

    /// <summary>A span back from now (<c>1h</c>) or an instant (<c>2026-12-01T08:00:00Z</c>).</summary>
    private static DateTimeOffset ParseSince(string text, DateTimeOffset now)
    {
        var trimmed = text.Trim();
        if (InputParsing.TryParseDuration(trimmed, out var span) && span > TimeSpan.Zero) return now - span;
        if (DateTimeOffset.TryParse(trimmed, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant) && instant <= now)
            return instant;
        throw new UserInputException($"--since: '{text}' is neither a positive span back from now (30m, 1h, 7d) nor an ISO-8601 time in the past (2026-12-01T08:00:00Z)");
    }

    private static Command Show(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Session id" };
        var command = new Command("show", "Show a session's state, cumulative risk and event timeline") { id };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var session = await call.Client.GetSessionAsync(call.Required(id), cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, session);
            }
            else
            {
                WriteSession(call.Output, session, call.Now);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    public static void WriteSession(TextWriter output, Session session, DateTimeOffset now)
    {
        var block = new KeyValueBlock()
            .Add("Session", session.Id)
            .Add("Agent", session.AgentId)
            .Add("Status", Display.Lower(session.Status))
            .Add("Opened", Display.Time(session.OpenedAt))
            .Add("Expires", $"{Display.Time(session.ExpiresAt)} ({Display.Relative(session.ExpiresAt, now)})")
            .Add("Idle timeout", Display.Span(TimeSpan.FromSeconds(session.IdleTimeoutSeconds)))
            .Add("Last activity", Display.Time(session.LastActivityAt))
            .Add("Decisions", session.DecisionCount.ToString(CultureInfo.InvariantCulture))
            .Add("Cumulative risk", session.CumulativeRisk.ToString(CultureInfo.InvariantCulture));
        if (session.ClosedAt is not null)
        {
            block.Add("Closed", $"{Display.Time(session.ClosedAt)}{(string.IsNullOrEmpty(session.CloseReason) ? string.Empty : $" ({session.CloseReason})")}");
        }
        block.WriteTo(output);
        output.WriteLine();
        var events = session.Events ?? [];
        if (events.Count == 0)
        {
            output.WriteLine("No events yet.");
            return;
        }
        output.WriteLine("Timeline");
        var table = new TextTable("SEQ", "AT", "KIND", "ACTION", "RESOURCE", "OUTCOME", "POLICY", "DETAIL");
        foreach (var sessionEvent in events.OrderBy(sessionEvent => sessionEvent.Seq))
        {
            table.Add(
                sessionEvent.Seq.ToString(CultureInfo.InvariantCulture),
                Display.Time(sessionEvent.At),
                Display.Lower(sessionEvent.Kind),
                Display.Text(sessionEvent.Action),
                Display.Text(sessionEvent.Resource),
                sessionEvent.Outcome is { } outcome ? outcome.ToString() : "-",
                sessionEvent.PolicyVersion is { } version ? $"v{version}" : "-",
                Detail(sessionEvent));
        }
        table.WriteTo(output);
    }

    private static string Detail(SessionEvent sessionEvent)
    {
        var parts = new List<string>();
        if (sessionEvent.Reasons is { Count: > 0 } reasons)
        {
            parts.Add($"by {string.Join(", ", reasons)}");
        }
        if (!string.IsNullOrEmpty(sessionEvent.Detail))
        {
            parts.Add(sessionEvent.Detail);
        }
        if (!string.IsNullOrEmpty(sessionEvent.DecisionId))
        {
            parts.Add($"decision {sessionEvent.DecisionId}");
        }
        return parts.Count == 0 ? "-" : string.Join("; ", parts);
    }

    private static Command Close(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Session id" };
        var reason = new Option<string?>("--reason") { Description = "Why the session is closed" };
        var command = new Command("close", "Close a session: later decisions in it are denied") { id, reason };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var session = await call.Client.CloseSessionAsync(call.Required(id), new CloseSessionRequest(call.Get(reason)), cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, session);
            }
            else
            {
                call.Output.WriteLine($"session {session.Id} is {Display.Lower(session.Status)} ({session.DecisionCount} decision(s), cumulative risk {session.CumulativeRisk})");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Outcome(CommandRunner runner)
    {
        var id = new Argument<string>("id") { Description = "Session id" };
        var decision = new Option<string>("--decision") { Description = "Decision id the outcome belongs to", Required = true };
        var output = new Option<string?>("--output") { Description = "The tool's output, a JSON object (or @file.json); recorded as a response event" };
        var error = new Option<string?>("--error") { Description = "The tool's error message; recorded as an error event" };
        var command = new Command("outcome", "Report what an allowed call returned (response) or that it failed (error)") { id, decision, output, error };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var errorText = call.Get(error);
            var outputJson = InputParsing.ParseJsonObject(call.Get(output), "--output");
            if (errorText is not null && outputJson is not null)
            {
                throw new UserInputException("give either --output (a response) or --error, not both");
            }
            var kind = errorText is null ? OutcomeKind.Response : OutcomeKind.Error;
            await call.Client.ReportOutcomeAsync(call.Required(id), new ReportOutcomeRequest(call.Get(decision)!, kind, outputJson, errorText), cancellationToken).ConfigureAwait(false);
            if (!call.Json)
            {
                call.Output.WriteLine($"recorded {Display.Lower(kind)} for decision {call.Get(decision)}");
            }
            else
            {
                call.Output.WriteLine("{\"accepted\": true}");
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
