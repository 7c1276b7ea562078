using System.CommandLine;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Policy;
using RuntimeAuthz.Policy.Temporal;
using RuntimeAuthz.Policy.Schema;

namespace RuntimeAuthz.Cli.Commands;

/// <summary><c>authz policy replay</c>: replays a Dogwood trace against a Dogwood policy file, locally.</summary>
public static class ReplayCommand
{
    public static Command Create(CommandRunner runner)
    {
        var policies = new Option<FileInfo>("--policies") { Description = "Dogwood policy file (.dw): Cedar with temporal { … } conditions", Required = true };
        var schema = new Option<FileInfo?>("--schema") { Description = "Cedar schema (.cedarschema): predicates must name its actions" };
        var eventSchema = new Option<FileInfo?>("--event-schema") { Description = "Event schema (.dwschema); default: Dogwood's request/response/error schema" };
        var trace = new Option<FileInfo>("--trace") { Description = "Trace in Dogwood's .log format (@<ts> … Ns::Action::\"Id\"::kind(…))", Required = true };
        var command = new Command("replay", "Replay a trace: one line per decision event, '@<ts> (time point <i>): true|false' (true = allow)")
        {
            policies, schema, eventSchema, trace,
        };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var policyFile = call.Get(policies) ?? throw new UserInputException("--policies is required");
            var traceFile = call.Get(trace) ?? throw new UserInputException("--trace is required");
            var schemaFile = call.Get(schema);
            var eventSchemaFile = call.Get(eventSchema);
            try
            {
                var cedarSchema = schemaFile is null ? null : CedarSchema.Parse(await ReadAsync(schemaFile, cancellationToken).ConfigureAwait(false), schemaFile.ToString());
                var events = eventSchemaFile is null
                    ? EventSchema.DogwoodDefault
                    : EventSchema.Parse(await ReadAsync(eventSchemaFile, cancellationToken).ConfigureAwait(false), eventSchemaFile.ToString());
                var set = TemporalPolicySet.Parse(await ReadAsync(policyFile, cancellationToken).ConfigureAwait(false), policyFile.ToString(), events, cedarSchema);
                var lines = TemporalReplay.Run(set, await ReadAsync(traceFile, cancellationToken).ConfigureAwait(false), traceFile.ToString(), cedarSchema);
                foreach (var line in lines) call.Output.WriteLine(line);
                return ExitCodes.Success;
            }
            catch (CedarSyntaxException exception)
            {
                call.Error.WriteLine(exception.Message);
                return ExitCodes.Error;
            }
        });
        return command;
    }

    private static async Task<string> ReadAsync(FileInfo file, CancellationToken cancellationToken) =>
        file.Exists
            ? await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false)
            : throw new UserInputException($"file not found: {file}");
}
