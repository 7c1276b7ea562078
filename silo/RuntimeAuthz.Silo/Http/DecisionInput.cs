using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Silo.Http;

/// <summary>Builds a <see cref="DecisionRequest"/> from request JSON, checking every part.</summary>
public static class DecisionInput
{
    public const int MaxIdLength = 1024;

    public static DecisionRequest Build(string? agentId, string action, Fields resource, JsonObject? context, JsonNode? input)
    {
        var type = resource.RequiredString("type");
        if (!RequestReading.EntityTypeShape().IsMatch(type))
            throw new BadRequestException($"resource.type '{RequestReading.Shorten(type)}' is not a Cedar entity type (e.g. Document or Ns::Document)");
        var id = resource.String("id", required: true, maxLength: MaxIdLength)!;
        var properties = resource.Object("properties");
        if (string.IsNullOrWhiteSpace(action)) throw new BadRequestException("action must not be empty");
        return new DecisionRequest
        {
            AgentId = agentId,
            Action = action,
            ResourceType = type,
            ResourceId = id,
            ResourcePropertiesJson = properties?.ToJsonString(),
            ContextJson = context?.ToJsonString(),
            InputJson = input?.ToJsonString(),
        };
    }
}
