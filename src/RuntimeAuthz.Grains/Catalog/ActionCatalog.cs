using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Grains.Catalog;

/// <summary>What the catalog says about one action (tool); <see cref="Source"/> is "catalog" or "mcp:&lt;server&gt;".</summary>
public sealed record CatalogEntry(string Reversibility, string Category, string Source);

/// <summary>
/// The action catalog, published beside the policy (versioned with it): each action's reversibility
/// (<c>reversible</c>, <c>compensable</c>, <c>irreversible</c>) and category. Policies see it as
/// <c>context.action</c> (<c>{name, reversibility, category, known, source}</c>); an action the catalog
/// does not know counts as irreversible. Entries may be seeded from MCP tool annotations
/// (<c>readOnlyHint</c>, <c>destructiveHint</c>, <c>idempotentHint</c>) only when their server is listed in
/// <c>trustedServers</c>: annotations from an untrusted server must not drive decisions.
/// </summary>
public sealed class ActionCatalog
{
    public const string SourceName = "catalog.json";
    public const string Unknown = "unknown";
    public static readonly IReadOnlyList<string> Reversibilities = ["reversible", "compensable", "irreversible"];
    public static readonly IReadOnlyList<string> Categories = ["financial", "identity", "infrastructure", "data", "communication", "read"];
    public static readonly ActionCatalog Empty = new(new Dictionary<string, CatalogEntry>(StringComparer.Ordinal), []);

    private const string McpPrefix = "mcp:";
    private static readonly string[] EntryKeys = ["reversibility", "category", "source", "annotations"];
    private static readonly string[] AnnotationKeys = ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"];

    private ActionCatalog(IReadOnlyDictionary<string, CatalogEntry> entries, IReadOnlyList<string> trustedServers)
    {
        Entries = entries;
        TrustedServers = trustedServers;
    }

    public IReadOnlyDictionary<string, CatalogEntry> Entries { get; }
    public IReadOnlyList<string> TrustedServers { get; }

    /// <summary><c>context.action</c> for <paramref name="action"/>: unknown actions are irreversible.</summary>
    public JsonObject Describe(string action)
    {
        var (known, entry) = Lookup(action);
        return new JsonObject { ["name"] = action, ["reversibility"] = entry.Reversibility, ["category"] = entry.Category, ["known"] = known, ["source"] = entry.Source };
    }

    /// <summary>The same as a Cedar record, for the request's context.</summary>
    public CedarValue DescribeForCedar(string action)
    {
        var (known, entry) = Lookup(action);
        return CedarValue.Record(
        [
            new("name", CedarValue.String(action)), new("reversibility", CedarValue.String(entry.Reversibility)),
            new("category", CedarValue.String(entry.Category)), new("known", CedarValue.Bool(known)), new("source", CedarValue.String(entry.Source)),
        ]);
    }

    private static readonly CatalogEntry UnknownEntry = new("irreversible", Unknown, Unknown);

    private (bool Known, CatalogEntry Entry) Lookup(string action) =>
        Entries.TryGetValue(action, out var entry) ? (true, entry) : (false, UnknownEntry);

    /// <summary>The catalog of a stored text (already checked when published); null text = the empty catalog.</summary>
    public static ActionCatalog FromText(string? json) => json is null ? Empty : Parse(json).Catalog ?? Empty;

    /// <summary>Parses and checks a catalog text: the catalog, or the problems (each naming the action or key).</summary>
    public static (ActionCatalog? Catalog, IReadOnlyList<SourceIssue> Issues) Parse(string json)
    {
        var issues = new List<SourceIssue>();
        JsonObject? root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject;
        }
        catch (JsonException ex)
        {
            return (null, [Issue($"not JSON: {ex.Message}", (int)(ex.LineNumber ?? 0) + 1, (int)(ex.BytePositionInLine ?? 0) + 1)]);
        }
        if (root is null) return (null, [Issue("the catalog must be a JSON object {\"trustedServers\": [...], \"actions\": {...}}")]);
        foreach (var key in root.Select(p => p.Key).Where(k => k is not ("trustedServers" or "actions"))) issues.Add(Issue($"unknown key '{key}' (expected trustedServers, actions)"));

        var trusted = new List<string>();
        if (root["trustedServers"] is { } servers)
        {
            if (servers is JsonArray list && list.All(s => s is JsonValue v && v.TryGetValue<string>(out _)))
                trusted.AddRange(list.Select(s => s!.GetValue<string>()));
            else issues.Add(Issue("trustedServers must be an array of server names"));
        }
        var entries = new Dictionary<string, CatalogEntry>(StringComparer.Ordinal);
        if (root["actions"] is not JsonObject actions)
        {
            if (root.ContainsKey("actions")) issues.Add(Issue("actions must be an object: {\"<action>\": {\"reversibility\": …, \"category\": …}}"));
            return issues.Count > 0 ? (null, issues) : (new ActionCatalog(entries, trusted), issues);
        }
        foreach (var (name, node) in actions)
        {
            if (ReadEntry(name, node, trusted, issues) is { } entry) entries[name] = entry;
        }
        return issues.Count > 0 ? (null, issues) : (new ActionCatalog(entries, trusted), issues);
    }

    private static CatalogEntry? ReadEntry(string name, JsonNode? node, IReadOnlyList<string> trusted, List<SourceIssue> issues)
    {
        if (node is not JsonObject entry)
        {
            issues.Add(Issue($"action '{name}' must be an object"));
            return null;
        }
        foreach (var key in entry.Select(p => p.Key).Where(k => !EntryKeys.Contains(k))) issues.Add(Issue($"action '{name}': unknown key '{key}' (expected {string.Join(", ", EntryKeys)})"));
        var source = Text(entry, "source") ?? "catalog";
        var reversibility = Text(entry, "reversibility");
        var category = Text(entry, "category");
        if (entry["annotations"] is { } annotations)
        {
            if (!source.StartsWith(McpPrefix, StringComparison.Ordinal) || source.Length == McpPrefix.Length)
            {
                issues.Add(Issue($"action '{name}': annotations need \"source\": \"mcp:<server>\" naming the tool server they come from"));
                return null;
            }
            var server = source[McpPrefix.Length..];
            if (!trusted.Contains(server))
            {
                issues.Add(Issue($"action '{name}': MCP annotations from server '{server}' are not trusted (list it in trustedServers to let them seed the catalog)"));
                return null;
            }
            if (annotations is not JsonObject hints || hints.Any(h => !AnnotationKeys.Contains(h.Key) || h.Value is not JsonValue v || !v.TryGetValue<bool>(out _)))
            {
                issues.Add(Issue($"action '{name}': annotations must be an object of booleans ({string.Join(", ", AnnotationKeys)})"));
                return null;
            }
            // MCP defaults: readOnlyHint false, destructiveHint true. Only a read-only or non-destructive tool is reversible.
            var readOnly = Flag(hints, "readOnlyHint") ?? false;
            var destructive = Flag(hints, "destructiveHint") ?? true;
            reversibility ??= readOnly || !destructive ? "reversible" : "irreversible";
            category ??= readOnly ? "read" : "data";
        }
        else if (source != "catalog")
        {
            issues.Add(Issue($"action '{name}': source '{source}' is only for entries seeded from MCP annotations"));
            return null;
        }
        if (reversibility is null || !Reversibilities.Contains(reversibility))
            issues.Add(Issue($"action '{name}': reversibility must be one of {string.Join(", ", Reversibilities)}, not '{reversibility}'"));
        if (category is null || !Categories.Contains(category))
            issues.Add(Issue($"action '{name}': category must be one of {string.Join(", ", Categories)}, not '{category}'"));
        return reversibility is not null && category is not null && Reversibilities.Contains(reversibility) && Categories.Contains(category)
            ? new CatalogEntry(reversibility, category, source)
            : null;
    }

    private static string? Text(JsonObject entry, string key) => entry[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static bool? Flag(JsonObject hints, string key) => hints[key] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    private static SourceIssue Issue(string message, int line = 1, int column = 1) => new() { Source = SourceName, Line = line, Column = column, Message = message };
}
