using System.CommandLine;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary><c>authz catalog show|publish</c>: the action catalog published beside the policy.</summary>
public static class CatalogCommands
{
    public static Command Create(CommandRunner runner)
    {
        var catalog = new Command("catalog", "Show or publish the action catalog (reversibility and category of each action)");
        catalog.Subcommands.Add(Show(runner));
        catalog.Subcommands.Add(Publish(runner));
        return catalog;
    }

    private static Command Show(CommandRunner runner)
    {
        var command = new Command("show", "Show the current catalog: every known action as policies see it (context.action)");
        runner.SetAction(command, async (call, cancellationToken) =>
            Write(call, await call.Client.GetCatalogAsync(cancellationToken).ConfigureAwait(false)));
        return command;
    }

    private static Command Publish(CommandRunner runner)
    {
        var file = new Argument<string>("file") { Description = "The catalog, a JSON file (e.g. examples/catalog.json)" };
        var note = new Option<string?>("--note") { Description = "Why (kept with the new policy version)" };
        var command = new Command("publish", "Publish a catalog with the current policy texts as a new policy version") { file, note };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var path = call.Required(file);
            if (!File.Exists(path)) throw new UserInputException($"catalog file '{path}' not found");
            JsonElement parsed;
            try
            {
                using var document = JsonDocument.Parse(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false));
                parsed = document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new UserInputException($"catalog file '{path}' is not JSON: {ex.Message}");
            }
            return Write(call, await call.Client.PublishCatalogAsync(new PublishCatalogRequest(parsed, call.Get(note)), cancellationToken).ConfigureAwait(false));
        });
        return command;
    }

    private static int Write(Invocation call, ActionCatalogView view)
    {
        if (call.Json)
        {
            Display.Json(call.Output, view);
            return ExitCodes.Success;
        }
        call.Output.WriteLine($"Action catalog of policy version {view.PolicyVersion}; actions it does not list count as {view.UnknownActions}");
        var table = new TextTable("ACTION", "REVERSIBILITY", "CATEGORY", "SOURCE");
        foreach (var action in view.Actions)
        {
            table.Add(Text(action, "name"), Text(action, "reversibility"), Text(action, "category"), Text(action, "source"));
        }
        table.WriteTo(call.Output);
        return ExitCodes.Success;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
