using System.Text;
using System.Text.Json;
using RuntimeAuthz.Client;
using RuntimeAuthz.Enforcement;

namespace RuntimeAuthz.McpGateway;

/// <summary>A tools/call whose arguments cannot be mapped to a decision (answered as a tool error, never forwarded).</summary>
public sealed class ToolInputException(string message) : Exception(message);

/// <summary>
/// How a call of one downstream tool becomes a decision request: the action, the resource (the configured argument's
/// value, else the server itself as <c>McpServer::"&lt;server&gt;"</c>) and the input (the arguments, as given).
/// </summary>
public sealed record ToolMapping(string Server, string Action, string ResourceType, string? ResourceArgument)
{
    public const string ServerResourceType = "McpServer";
    private const int MaxResourceIdLength = 1024;

    public static ToolMapping For(string server, DownstreamServerOptions options, string tool)
    {
        var overrides = options.Tools.GetValueOrDefault(tool);
        return new ToolMapping(server,
            overrides?.Action ?? DefaultAction(server, tool),
            overrides?.ResourceType ?? options.ResourceType,
            overrides?.ResourceArgument ?? options.ResourceArgument);
    }

    /// <summary><c>&lt;server&gt;_&lt;tool&gt;</c> with every character other than an ASCII letter, digit or _ made _ (a Cedar identifier).</summary>
    public static string DefaultAction(string server, string tool)
    {
        var text = new StringBuilder(server.Length + tool.Length + 1);
        foreach (var c in $"{server}_{tool}") text.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        return text.ToString();
    }

    public GuardedCall Map(IDictionary<string, JsonElement>? arguments)
    {
        var input = JsonSerializer.SerializeToElement(arguments ?? new Dictionary<string, JsonElement>());
        return new GuardedCall(Action, ResourceOf(arguments), input);
    }

    private ResourceRef ResourceOf(IDictionary<string, JsonElement>? arguments)
    {
        if (ResourceArgument is null || arguments is null || !arguments.TryGetValue(ResourceArgument, out var value) || value.ValueKind == JsonValueKind.Null)
            return new ResourceRef(ServerResourceType, Server);
        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } id)
            throw new ToolInputException($"argument '{ResourceArgument}' names the resource this call acts on and must be a non-empty string");
        if (id.Length > MaxResourceIdLength)
            throw new ToolInputException($"argument '{ResourceArgument}' is longer than {MaxResourceIdLength} characters");
        return new ResourceRef(ResourceType, id);
    }
}
