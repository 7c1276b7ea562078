using System.CommandLine;
using System.Globalization;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>
/// <c>authz policies shadow-report|promote|discard &lt;version&gt;</c>: what a shadow version (or a
/// live version's log-only policies) would have decided differently, and making it live or dropping it.
/// Publishing one is <c>authz policies publish &lt;file&gt; --shadow</c>.
/// </summary>
public static class ShadowPolicyCommands
{
    public static IEnumerable<Command> Create(CommandRunner runner) => [Report(runner), Promote(runner), Discard(runner)];

    private static Command Report(CommandRunner runner)
    {
        var version = new Argument<string>("version") { Description = "A shadow version, or a live version with @mode(\"log-only\") policies" };
        var command = new Command("shadow-report", "Decisions on which a shadow version (or a version's log-only policies) disagreed with the live answer") { version };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var report = await call.Client.GetShadowReportAsync(PolicyCommands.ParseVersion(call.Required(version)), cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, report);
                return ExitCodes.Success;
            }
            var block = new KeyValueBlock()
                .Add("Version", $"{report.Version} ({report.Mode}, {report.Status})")
                .Add("Evaluated", Count(report.Evaluated))
                .Add("Disagreements", Count(report.Disagreements))
                .Add("Failures", Count(report.Failures))
                .Add("Skipped", Count(report.Skipped))
                .Add("Updated", Display.Time(report.UpdatedAt));
            if (report.LogOnlyPolicies.Count > 0) block.Add("Log-only", string.Join(", ", report.LogOnlyPolicies));
            foreach (var direction in report.Directions)
            {
                block.Add($"{direction.Live} -> {direction.Shadow}", Count(direction.Count));
            }
            block.WriteTo(call.Output);
            if (report.Examples.Count == 0) return ExitCodes.Success;
            call.Output.WriteLine();
            var table = new TextTable("TIME", "DECISION", "SESSION", "AGENT", "ACTION", "LIVE", "SHADOW", "LIVE POLICIES", "SHADOW POLICIES");
            foreach (var example in report.Examples)
            {
                table.Add(Display.Time(example.At), example.DecisionId, example.SessionId, example.AgentId, example.Action,
                    $"{example.LiveOutcome} (v{example.LiveVersion})", example.ShadowOutcome, Display.List(example.LivePolicies), Display.List(example.ShadowPolicies));
            }
            table.WriteTo(call.Output);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Promote(CommandRunner runner)
    {
        var version = new Argument<string>("version") { Description = "The active shadow version whose texts become live (as a new version)" };
        var note = new Option<string?>("--note") { Description = "Why" };
        var command = new Command("promote", "Publish a shadow version's texts as the next live version") { version, note };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var shadow = PolicyCommands.ParseVersion(call.Required(version));
            var published = await call.Client.PromoteShadowAsync(shadow, new ShadowActionRequest(call.Get(note)), cancellationToken).ConfigureAwait(false);
            if (call.Json) Display.Json(call.Output, published);
            else call.Output.WriteLine($"published policy version {published.Version} with the texts of shadow version {shadow}; shadow version {shadow} is no longer evaluated");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Discard(CommandRunner runner)
    {
        var version = new Argument<string>("version") { Description = "The active shadow version to stop evaluating" };
        var note = new Option<string?>("--note") { Description = "Why" };
        var command = new Command("discard", "Stop evaluating a shadow version (its report stays readable)") { version, note };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var discarded = await call.Client.DiscardShadowAsync(PolicyCommands.ParseVersion(call.Required(version)), new ShadowActionRequest(call.Get(note)), cancellationToken).ConfigureAwait(false);
            if (call.Json) Display.Json(call.Output, discarded);
            else call.Output.WriteLine($"discarded shadow version {discarded.Version}: no longer evaluated");
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
