using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary><c>authz policies what-if &lt;file&gt;</c>: what a candidate policy would have decided on recorded traffic.</summary>
public static class WhatIfCommand
{
    /// <summary>The CLI's HTTP client waits 30 s for an answer; the cluster is asked to finish before that.</summary>
    public const int MaxTimeoutSeconds = 25;

    public static Command Create(CommandRunner runner)
    {
        var file = new Argument<FileInfo>("file") { Description = "Candidate Cedar/Dogwood policy file (.cedar); nothing is published" };
        var schema = new Option<FileInfo?>("--schema") { Description = "Cedar schema (.cedarschema) of the candidate" };
        var catalog = new Option<FileInfo?>("--catalog") { Description = "Action catalog (catalog.json) of the candidate (policies see it as context.action)" };
        var since = new Option<string?>("--since") { Description = "Only decisions since then: a duration back from now (7d, 24h, 90m) or an ISO 8601 time" };
        var agent = new Option<string?>("--agent") { Description = "Only this agent's sessions" };
        var fleet = new Option<string?>("--fleet") { Description = "Only sessions of agents in this fleet" };
        var max = new Option<int?>("--max") { Description = "Re-decide at most this many decisions (default 100000)" };
        var timeout = new Option<int?>("--timeout") { Description = $"Seconds the cluster may spend (1 to {MaxTimeoutSeconds}, default {MaxTimeoutSeconds})" };
        var command = new Command("what-if", "Re-decide recorded decisions (from evidence) with a candidate policy: how many outcomes change, which way, by policy and agent, with examples")
        {
            file, schema, catalog, since, agent, fleet, max, timeout,
        };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var seconds = call.Get(timeout) ?? MaxTimeoutSeconds;
            if (seconds is < 1 or > MaxTimeoutSeconds) throw new UserInputException($"--timeout must be between 1 and {MaxTimeoutSeconds} seconds");
            if (call.Get(max) is < 1) throw new UserInputException("--max must be at least 1");
            var policyFile = call.Required(file);
            JsonElement? catalogJson = null;
            if (call.Get(catalog) is { } catalogFile)
            {
                try { catalogJson = JsonDocument.Parse(await ReadAsync(catalogFile, cancellationToken).ConfigureAwait(false)).RootElement.Clone(); }
                catch (JsonException ex) { throw new UserInputException($"{catalogFile}: not valid JSON: {ex.Message}"); }
            }
            var request = new WhatIfRequest(
                await ReadAsync(policyFile, cancellationToken).ConfigureAwait(false),
                call.Get(schema) is { } schemaFile ? await ReadAsync(schemaFile, cancellationToken).ConfigureAwait(false) : null,
                catalogJson, call.Get(since), call.Get(agent), call.Get(fleet), call.Get(max), seconds);
            WhatIfResult report;
            try
            {
                report = await call.Client.WhatIfAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (AuthzApiException exception) when (exception.Errors.Count > 0)
            {
                foreach (var item in exception.Errors)
                    call.Error.WriteLine(item.Line is { } line ? $"{policyFile}:{line}:{item.Column ?? 1}: {item.Message}" : item.ToString());
                return ExitCodes.Error;
            }
            if (call.Json)
            {
                Display.Json(call.Output, report);
                return ExitCodes.Success;
            }
            Print(call.Output, report);
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Print(TextWriter output, WhatIfResult report)
    {
        static string N(int n) => n.ToString("N0", CultureInfo.InvariantCulture);
        output.WriteLine($"what-if: {N(report.Decisions)} recorded decisions in {N(report.Sessions)} sessions{(report.Truncated ? " (limit reached: later decisions not looked at)" : "")}");
        output.WriteLine($"  re-decided {N(report.Replayed)}: {N(report.Changed)} change, {N(report.Unchanged)} stay the same");
        output.WriteLine($"  decided before the policies (session, agent, grants): {N(report.DecidedBeforePolicy)}, unchanged");
        output.WriteLine($"  not replayable: {N(report.NotReplayable)}" + (report.NotReplayable == 0 ? "" :
            $" ({string.Join(", ", report.NotReplayableByReason.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {N(r.Value)}"))})"));
        if (report.Changed == 0) return;
        output.WriteLine();
        foreach (var change in report.Changes) output.WriteLine($"  {change.From} -> {change.To}: {N(change.Count)}");
        output.WriteLine();
        Groups(output, "POLICY", report.ByPolicy);
        output.WriteLine();
        Groups(output, "AGENT", report.ByAgent);
        output.WriteLine();
        output.WriteLine("examples:");
        foreach (var example in report.Examples)
        {
            output.WriteLine($"  {Display.Time(example.At)} {example.AgentId} {example.Action} {example.Resource}: {example.RecordedOutcome} (v{example.RecordedVersion}) -> "
                + $"{example.CandidateOutcome}{(example.CandidateDenyReason is { } reason ? $" ({reason})" : "")}"
                + $"{(example.CandidatePolicies.Count > 0 ? $" by {string.Join(", ", example.CandidatePolicies)}" : "")}  [session {example.SessionId}, decision {example.DecisionId}]");
        }
    }

    private static void Groups(TextWriter output, string title, IReadOnlyList<WhatIfGroup> groups)
    {
        var table = new TextTable(title, "CHANGED", "ALLOW->DENY", "DENY->ALLOW", "OTHER");
        foreach (var group in groups)
        {
            table.Add(group.Key, group.Changed.ToString(CultureInfo.InvariantCulture), group.AllowToDeny.ToString(CultureInfo.InvariantCulture),
                group.DenyToAllow.ToString(CultureInfo.InvariantCulture), group.Other.ToString(CultureInfo.InvariantCulture));
        }
        table.WriteTo(output);
    }

    private static async Task<string> ReadAsync(FileInfo file, CancellationToken cancellationToken) =>
        file.Exists
            ? await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false)
            : throw new UserInputException($"file not found: {file}");
}
