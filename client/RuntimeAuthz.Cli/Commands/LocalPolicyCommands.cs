using System.CommandLine;
using System.Globalization;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Policy;
using RuntimeAuthz.Policy.Conformance;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>Policy commands that run the engine in-process and need no server.</summary>
public static class LocalPolicyCommands
{
    public static IEnumerable<Command> Create(CommandRunner runner) => [Validate(runner), Conformance(runner)];

    private static Command Validate(CommandRunner runner)
    {
        var file = new Argument<FileInfo>("file") { Description = "Cedar policy file (.cedar)" };
        var schema = new Option<FileInfo?>("--schema") { Description = "Cedar schema (.cedarschema) to check the policies against" };
        var command = new Command("validate", "Parse a policy file (and check it against a schema) locally; errors as file:line:column: message") { file, schema };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var policyFile = call.Required(file);
            var schemaFile = call.Get(schema);
            var policyName = policyFile.ToString();
            var policyText = await ReadAsync(policyFile, cancellationToken).ConfigureAwait(false);
            PolicySet policies;
            CedarSchema? parsedSchema = null;
            try
            {
                policies = PolicySet.Parse(policyText, policyName);
                if (schemaFile is not null)
                {
                    parsedSchema = CedarSchema.Parse(await ReadAsync(schemaFile, cancellationToken).ConfigureAwait(false), schemaFile.ToString());
                }
            }
            catch (CedarSyntaxException exception)
            {
                call.Error.WriteLine(exception.Message);
                return ExitCodes.Error;
            }
            var issues = parsedSchema is null ? [] : PolicyValidator.Validate(policies, parsedSchema);
            foreach (var issue in issues.OrderBy(issue => issue.Line).ThenBy(issue => issue.Column))
            {
                call.Error.WriteLine($"{policyName}:{issue.Line}:{issue.Column}: {issue.Message} ({issue.PolicyId})");
                if (issue.Help is { Length: > 0 } help) call.Error.WriteLine($"  help: {help}");
            }
            if (issues.Count > 0)
            {
                return ExitCodes.Error;
            }
            var count = policies.Policies.Count;
            call.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{policyName}: {count} {(count == 1 ? "policy" : "policies")} parsed{(parsedSchema is null ? string.Empty : $", valid against {schemaFile}")}"));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Conformance(CommandRunner runner)
    {
        var root = new Argument<DirectoryInfo>("root") { Description = "Folder of Cedar integration tests (e.g. the unpacked cedar-integration-tests corpus)" };
        var command = new Command("conformance", "Run the Cedar team's integration-test corpus against this engine; exit 0 iff every request matches") { root };
        runner.SetAction(command, (call, cancellationToken) =>
        {
            var directory = call.Required(root);
            if (!directory.Exists)
            {
                throw new UserInputException($"conformance folder not found: {directory}");
            }
            return Task.FromResult(ConformanceRunner.Run(directory.FullName, call.Output, cancellationToken));
        });
        return command;
    }

    private static async Task<string> ReadAsync(FileInfo file, CancellationToken cancellationToken) =>
        file.Exists
            ? await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false)
            : throw new UserInputException($"file not found: {file}");
}
