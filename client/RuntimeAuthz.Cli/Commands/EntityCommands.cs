using System.CommandLine;
using System.Text.Json;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary><c>authz entities import|list|show|delete</c>: the entity store (users, groups, folders and their parents).</summary>
public static class EntityCommands
{
    public static Command Create(CommandRunner runner)
    {
        var entities = new Command("entities", "Import, list, show and delete the entity store's entities (Cedar's JSON entity format)");
        entities.Subcommands.Add(Import(runner));
        entities.Subcommands.Add(List(runner));
        entities.Subcommands.Add(Show(runner));
        entities.Subcommands.Add(Delete(runner));
        return entities;
    }

    private static Command Import(CommandRunner runner)
    {
        var file = new Argument<string>("file") { Description = "A JSON array of entities ({\"uid\":…,\"attrs\":…,\"parents\":[…]}), or {\"entities\": […]}" };
        var replace = new Option<bool>("--replace") { Description = "The store becomes exactly these entities (default: merge, each replaces the stored one with its uid)" };
        var command = new Command("import", "Import entities from a file") { file, replace };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var path = call.Required(file);
            if (!File.Exists(path)) throw new UserInputException($"entities file '{path}' not found");
            IReadOnlyList<StoredEntity> entities;
            try
            {
                using var document = JsonDocument.Parse(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false));
                var list = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("entities", out var inner) ? inner : document.RootElement;
                if (list.ValueKind != JsonValueKind.Array) throw new UserInputException($"entities file '{path}' must hold a JSON array of entities, or an object with \"entities\"");
                entities = list.Deserialize<List<StoredEntity>>(AuthzClient.JsonOptions) ?? [];
                if (entities.Any(e => e?.Uid is null)) throw new UserInputException($"entities file '{path}': every entity needs a \"uid\" with \"type\" and \"id\"");
            }
            catch (JsonException ex)
            {
                throw new UserInputException($"entities file '{path}' is not JSON in Cedar's entity format: {ex.Message}");
            }
            var result = await call.Client.ImportEntitiesAsync(new ImportEntitiesRequest(entities, call.Get(replace) ? "replace" : "merge"), cancellationToken).ConfigureAwait(false);
            if (call.Json) Display.Json(call.Output, result);
            else call.Output.WriteLine($"imported {result.Imported} entities, removed {result.Removed}; entity store version {result.Version}, {result.Total} entities");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CommandRunner runner)
    {
        var type = new Option<string?>("--type") { Description = "Only entities of this Cedar type (e.g. User)" };
        var limit = new Option<int?>("--limit") { Description = "Entities per page (1-1000)" };
        var continuation = new Option<string?>("--continuation") { Description = "The continuation a previous page printed" };
        var command = new Command("list", "List entities in (type, id) order, a page at a time") { type, limit, continuation };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var page = await call.Client.ListEntitiesPageAsync(call.Get(type), call.Get(limit), call.Get(continuation), cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, page);
                return ExitCodes.Success;
            }
            var table = new TextTable("UID", "PARENTS", "ATTRS");
            foreach (var entity in page.Entities)
                table.Add(entity.Uid.ToString(), string.Join(", ", (entity.Parents ?? []).Select(p => p.ToString())), Shorten(entity.Attrs?.GetRawText() ?? "{}"));
            table.WriteTo(call.Output);
            if (page.Continuation is not null) call.Output.WriteLine($"more: --continuation {page.Continuation}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show(CommandRunner runner)
    {
        var (type, id) = UidArguments();
        var command = new Command("show", "Show one entity") { type, id };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var entity = await call.Client.GetEntityAsync(call.Required(type), call.Required(id), cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, entity);
                return ExitCodes.Success;
            }
            call.Output.WriteLine(entity.Uid.ToString());
            call.Output.WriteLine($"parents: {string.Join(", ", (entity.Parents ?? []).Select(p => p.ToString()))}");
            call.Output.WriteLine($"attrs:   {entity.Attrs?.GetRawText() ?? "{}"}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Delete(CommandRunner runner)
    {
        var (type, id) = UidArguments();
        var command = new Command("delete", "Delete one entity") { type, id };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var deleted = await call.Client.DeleteEntityAsync(call.Required(type), call.Required(id), cancellationToken).ConfigureAwait(false);
            if (call.Json) Display.Json(call.Output, deleted);
            else call.Output.WriteLine($"deleted {deleted.Uid}; entity store version {deleted.Version}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static (Argument<string> Type, Argument<string> Id) UidArguments() =>
        (new Argument<string>("type") { Description = "The entity's Cedar type, e.g. User" }, new Argument<string>("id") { Description = "The entity's id" });

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
