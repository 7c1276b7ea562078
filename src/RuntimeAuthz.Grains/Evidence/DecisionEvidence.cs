using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;

namespace RuntimeAuthz.Grains;

/// <summary>Builds the evidence record of one decision from the request as received and the decision as returned.</summary>
public static class DecisionEvidence
{
    /// <summary>
    /// The decision's inputs as one JSON object: the claimed agent, action, resource with its
    /// properties, caller context and tool input. A JSON text that does not parse (or has numbers
    /// JCS cannot represent) is kept as a string under <c>unparsed</c>, so the digest still covers it.
    /// </summary>
    public static JsonObject InputOf(DecisionRequest request) => new()
    {
        ["agentId"] = request.AgentId,
        ["action"] = request.Action,
        ["resource"] = new JsonObject
        {
            ["type"] = request.ResourceType,
            ["id"] = request.ResourceId,
            ["properties"] = ParseOrKeep(request.ResourcePropertiesJson),
        },
        ["context"] = ParseOrKeep(request.ContextJson),
        ["input"] = ParseOrKeep(request.InputJson),
    };

    public static EvidenceBody Build(EvidenceRedactor redactor, string sessionId, string resourceLiteral, DecisionRequest request, AuthzDecision decision, string? detail)
    {
        var input = redactor.Prepare(InputOf(request));
        return new EvidenceBody
        {
            Chain = EvidenceChains.ForSession(sessionId),
            Time = EvidenceSealer.FormatTime(decision.DecidedAt),
            Kind = EvidenceKinds.Decision,
            DecisionId = decision.DecisionId.ToString(),
            AgentId = decision.AgentId,
            SessionId = sessionId,
            // Bounded like the session timeline (the digest covers the full values).
            Action = SessionLimits.Truncate(request.Action),
            Resource = SessionLimits.Truncate(resourceLiteral),
            InputDigest = input.Digest,
            Input = input.Stored,
            InputTruncated = input.Truncated ? true : null,
            Outcome = decision.Outcome.ToString(),
            DenyReason = decision.DenyReason,
            DeterminingPolicies = decision.Reasons,
            PolicyVersion = decision.PolicyVersion,
            Actor = request.Caller,
            // Request-derived parse errors may quote the input: keep them out of the record (the digest covers the input).
            Detail = decision.DenyReason == DenyReasons.InvalidRequest ? null : SessionLimits.Truncate(detail),
        };
    }

    private static JsonNode? ParseOrKeep(string? json)
    {
        if (json is null) return null;
        try
        {
            var node = JsonNode.Parse(json);
            if (node is not null) JsonCanonicalizer.Canonicalize(node.ToJsonString());
            return node;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return new JsonObject { ["unparsed"] = json };
        }
    }
}
