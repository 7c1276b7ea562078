using System.CommandLine;
using System.Globalization;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>
/// <c>authz policies ...</c> (alias <c>policy</c>): versioned policy on the service, plus the local
/// <c>validate</c> and <c>conformance</c> commands that need no server.
/// </summary>
public static class PolicyCommands
{
    public static Command Create(CommandRunner runner)
    {
        var policies = new Command("policies", "Publish, inspect and roll back versioned Cedar policy; validate policy files locally");
        policies.Aliases.Add("policy");
        policies.Subcommands.Add(Publish(runner));
        policies.Subcommands.Add(List(runner));
        policies.Subcommands.Add(Show(runner));
        policies.Subcommands.Add(Rollback(runner));
        foreach (var shadow in ShadowPolicyCommands.Create(runner))
        {
            policies.Subcommands.Add(shadow);
        }
        foreach (var local in LocalPolicyCommands.Create(runner))
        {
            policies.Subcommands.Add(local);
        }
        policies.Subcommands.Add(ReplayCommand.Create(runner));
        return policies;
    }

    private static Command Publish(CommandRunner runner)
    {
        var file = new Argument<FileInfo>("file") { Description = "Cedar policy file (.cedar)" };
        var schema = new Option<FileInfo?>("--schema") { Description = "Cedar schema (.cedarschema) to validate against and publish with" };
        var note = new Option<string?>("--note") { Description = "What changed and why" };
        var shadow = new Option<bool>("--shadow") { Description = "Publish as a shadow version: evaluated beside every decision and reported, never deciding (see shadow-report, promote, discard)" };
        var command = new Command("publish", "Publish a policy file as the next version (every silo switches to it)") { file, schema, note, shadow };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var policyFile = call.Required(file);
            var schemaFile = call.Get(schema);
            var policyText = await ReadAsync(policyFile, cancellationToken).ConfigureAwait(false);
            var schemaText = schemaFile is null ? null : await ReadAsync(schemaFile, cancellationToken).ConfigureAwait(false);
            PolicyVersion version;
            try
            {
                version = await call.Client.PublishPolicyAsync(new PublishPolicyRequest(policyText, schemaText, call.Get(note), call.Get(shadow) ? "shadow" : null), cancellationToken).ConfigureAwait(false);
            }
            catch (AuthzApiException exception) when (exception.Errors.Count > 0)
            {
                // Point at the user's files, not at the request fields, so editors can jump there.
                foreach (var item in exception.Errors)
                {
                    call.Error.WriteLine(item.Line is { } line
                        ? $"{FileFor(item.Source, policyFile, schemaFile)}:{line}:{item.Column ?? 1}: {item.Message}"
                        : item.ToString());
                }
                call.Error.WriteLine($"error: not published ({exception.Errors.Count} {(exception.Errors.Count == 1 ? "problem" : "problems")}; the current version is unchanged)");
                return ExitCodes.Error;
            }
            if (call.Json)
            {
                Display.Json(call.Output, version);
            }
            else if (version.Shadow)
            {
                call.Output.WriteLine($"published shadow version {version.Version} ({version.PolicyCount} {(version.PolicyCount == 1 ? "policy" : "policies")}): evaluated beside every decision, never deciding; see authz policies shadow-report {version.Version}");
            }
            else
            {
                call.Output.WriteLine($"published policy version {version.Version} ({version.PolicyCount} {(version.PolicyCount == 1 ? "policy" : "policies")}) by {version.Author} at {Display.Time(version.PublishedAt)}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static string FileFor(string? source, FileInfo policyFile, FileInfo? schemaFile) =>
        source is not null && source.Contains("schema", StringComparison.OrdinalIgnoreCase) && schemaFile is not null
            ? schemaFile.ToString()
            : policyFile.ToString();

    private static async Task<string> ReadAsync(FileInfo file, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            throw new UserInputException($"file not found: {file}");
        }
        return await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false);
    }

    private static Command List(CommandRunner runner)
    {
        var command = new Command("list", "List published policy versions, newest first");
        command.Aliases.Add("ls");
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var versions = await call.Client.ListPoliciesAsync(cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, versions);
                return ExitCodes.Success;
            }
            if (versions.Count == 0)
            {
                call.Output.WriteLine("no policy published yet (every decision is denied: no-policy); publish one with: authz policies publish <file.cedar>");
                return ExitCodes.Success;
            }
            var newest = versions.Where(version => !version.Shadow).Select(version => version.Version).DefaultIfEmpty(0).Max();
            var table = new TextTable("VERSION", "PUBLISHED", "AUTHOR", "POLICIES", "NOTE");
            foreach (var version in versions.OrderByDescending(version => version.Version))
            {
                var note = version.RolledBackFrom is { } from ? $"(rollback to v{from}) {version.Note}".TrimEnd() : Display.Text(version.Note);
                table.Add(
                    version.Version == newest ? $"{version.Version} (current)" : version.Shadow ? $"{version.Version} (shadow)" : version.Version.ToString(CultureInfo.InvariantCulture),
                    Display.Time(version.PublishedAt),
                    version.Author,
                    version.PolicyCount.ToString(CultureInfo.InvariantCulture),
                    note);
            }
            table.WriteTo(call.Output);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show(CommandRunner runner)
    {
        var version = new Argument<string?>("version") { Description = "Version number, or 'current' (the default)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("show", "Show a policy version with its text") { version };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var requested = call.Get(version);
            var policy = string.IsNullOrWhiteSpace(requested) || requested.Equals("current", StringComparison.OrdinalIgnoreCase)
                ? await call.Client.GetCurrentPolicyAsync(cancellationToken).ConfigureAwait(false)
                : await call.Client.GetPolicyAsync(ParseVersion(requested), cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, policy);
                return ExitCodes.Success;
            }
            var block = new KeyValueBlock()
                .Add("Version", policy.Version.ToString(CultureInfo.InvariantCulture))
                .Add("Published", Display.Time(policy.PublishedAt))
                .Add("Author", policy.Author)
                .Add("Note", Display.Text(policy.Note))
                .Add("Policies", policy.PolicyCount.ToString(CultureInfo.InvariantCulture));
            if (policy.RolledBackFrom is { } from)
            {
                block.Add("Rolled back to", $"text of v{from}");
            }
            block.WriteTo(call.Output);
            call.Output.WriteLine();
            call.Output.WriteLine("-- policies --");
            call.Output.WriteLine(policy.Policies.TrimEnd());
            if (!string.IsNullOrWhiteSpace(policy.Schema))
            {
                call.Output.WriteLine();
                call.Output.WriteLine("-- schema --");
                call.Output.WriteLine(policy.Schema.TrimEnd());
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Rollback(CommandRunner runner)
    {
        var version = new Argument<string>("version") { Description = "Version whose text becomes current again (as a new version)" };
        var note = new Option<string?>("--note") { Description = "Why" };
        var command = new Command("rollback", "Republish an earlier version's text as a new version") { version, note };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var target = ParseVersion(call.Required(version));
            var policy = await call.Client.RollbackPolicyAsync(new RollbackPolicyRequest(target, call.Get(note)), cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, policy);
            }
            else
            {
                call.Output.WriteLine($"published policy version {policy.Version} with the text of version {target} ({policy.PolicyCount} {(policy.PolicyCount == 1 ? "policy" : "policies")})");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    internal static long ParseVersion(string text)
    {
        var trimmed = text.Trim().TrimStart('v', 'V');
        return long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0
            ? number
            : throw new UserInputException($"'{text}' is not a policy version (a positive number such as 3)");
    }
}
