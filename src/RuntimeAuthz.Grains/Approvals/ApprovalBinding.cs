using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Grains.Approvals;

/// <summary>
/// The binding digest of a call: SHA-256 over the RFC 8785 canonical JSON of
/// <c>{"subject":{"type":"agent","id":…},"action":{"name":…},"resource":{"type":…,"id":…,"properties":…},"input":…}</c>
/// (the AuthZEN shapes), as <c>sha256:&lt;hex&gt;</c>. Any changed argument changes it; key order and number spelling do not.
/// </summary>
public static class ApprovalBinding
{
    public static string Digest(string agentId, DecisionRequest request)
    {
        var bound = new JsonObject
        {
            ["subject"] = new JsonObject { ["type"] = "agent", ["id"] = agentId },
            ["action"] = new JsonObject { ["name"] = request.Action },
            ["resource"] = new JsonObject
            {
                ["type"] = request.ResourceType, ["id"] = request.ResourceId, ["properties"] = Parse(request.ResourcePropertiesJson),
            },
            ["input"] = Parse(request.InputJson),
        };
        var canonical = JsonCanonicalizer.Canonicalize(bound.ToJsonString());
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>The JSON value, or (text that is not JSON) the text itself, so it is still bound.</summary>
    private static JsonNode? Parse(string? json)
    {
        if (json is null) return null;
        try { return JsonNode.Parse(json); }
        catch (JsonException) { return JsonValue.Create(json); }
    }
}
