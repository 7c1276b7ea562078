using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Grains.Evidence;

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

    /// <summary>
    /// The same object, written from the call's texts as received (each checked to be one JSON value, else kept
    /// under <c>unparsed</c>) and canonicalized once for the digest; only when that fails (a value JCS cannot
    /// represent) are the fields checked one by one as above. A call's records share the result.
    /// </summary>
    private static EvidenceInput PrepareInput(EvidenceRedactor redactor, DecisionCall call) => call.Parsed.EvidenceWith(redactor, () =>
    {
        var request = call.Request;
        try
        {
            return redactor.PrepareText(InputText(request));
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return redactor.Prepare(InputOf(request));
        }
    });

    private static string InputText(DecisionRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("agentId", request.AgentId);
            writer.WriteString("action", request.Action);
            writer.WriteStartObject("resource");
            writer.WriteString("type", request.ResourceType);
            writer.WriteString("id", request.ResourceId);
            WriteKept(writer, "properties", request.ResourcePropertiesJson);
            writer.WriteEndObject();
            WriteKept(writer, "context", request.ContextJson);
            WriteKept(writer, "input", request.InputJson);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The text as it came when it is one JSON value (the writer checks it), else the text under <c>unparsed</c>.</summary>
    private static void WriteKept(Utf8JsonWriter writer, string name, string? json)
    {
        writer.WritePropertyName(name);
        if (json is null) { writer.WriteNullValue(); return; }
        try
        {
            writer.WriteRawValue(json);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            writer.WriteStartObject();
            writer.WriteString("unparsed", json);
            writer.WriteEndObject();
        }
    }

    /// <param name="redactor">Null when evidence is off: the body then only feeds the session's state, so the input is not canonicalized or digested.</param>
    public static EvidenceBody Build(EvidenceRedactor? redactor, DecisionCall call, AuthzDecision decision, string? detail, ApprovalEvidence? approval = null)
    {
        var (sessionId, resourceLiteral, request) = (call.SessionId, call.ResourceLiteral, call.Request);
        var input = redactor is null ? null : PrepareInput(redactor, call);
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
            InputDigest = input?.Digest,
            Input = input?.Stored,
            InputTruncated = input is { Truncated: true } ? true : null,
            Outcome = decision.Outcome.ToString(),
            DenyReason = decision.DenyReason,
            DeterminingPolicies = decision.Reasons,
            PolicyVersion = decision.PolicyVersion,
            EntityStoreVersion = decision.EntityStoreVersion == 0 ? null : decision.EntityStoreVersion,
            RiskAdded = decision.RiskAdded == 0 ? null : decision.RiskAdded,
            ApprovalIds = approval is null ? null : [approval.Id],
            Approval = approval,
            Actor = request.Caller,
            OnBehalfOf = request.OnBehalfOf,
            // Request-derived parse errors may quote the input: keep them out of the record (the digest covers the input).
            Detail = decision.DenyReason == DenyReasons.InvalidRequest ? null : SessionLimits.Truncate(detail),
        };
    }

    /// <summary>An outcome report of an allowed decision, or (<paramref name="refusal"/> set) the evidence of a refused attempt.</summary>
    public static EvidenceBody Outcome(EvidenceRedactor redactor, string sessionId, OutcomeReport report, RecentDecision? decision, DateTimeOffset at, string? refusal = null)
    {
        var isError = report.Kind == SessionEventKind.Error;
        var input = redactor.Prepare(new JsonObject
        {
            ["decisionId"] = report.DecisionId.ToString(),
            ["output"] = isError ? null : ParseOrKeep(report.OutputJson),
            ["error"] = isError ? report.Error ?? report.OutputJson : null,
        });
        return new EvidenceBody
        {
            Chain = EvidenceChains.ForSession(sessionId),
            Time = EvidenceSealer.FormatTime(at),
            Kind = refusal is null ? EvidenceKinds.Outcome : EvidenceKinds.OutcomeRefused,
            DecisionId = report.DecisionId.ToString(),
            SessionId = sessionId,
            Action = decision?.Action,
            Resource = decision?.Resource,
            InputDigest = input.Digest,
            Input = input.Stored,
            InputTruncated = input.Truncated ? true : null,
            Report = isError ? TemporalEvent.ErrorKind : TemporalEvent.ResponseKind,
            Actor = SessionLimits.Truncate(report.ReportedBy),
            ReporterKind = ReporterKinds.Of(report.ReporterKind),
            Detail = SessionLimits.Truncate(refusal),
        };
    }

    /// <summary>A note in the session's chain (e.g. a revocation of its agent's authority).</summary>
    public static EvidenceBody Note(string sessionId, string agentId, string action, string actor, DateTimeOffset at, string detail) => new()
    {
        Chain = EvidenceChains.ForSession(sessionId),
        Time = EvidenceSealer.FormatTime(at),
        Kind = EvidenceKinds.SessionNote,
        AgentId = agentId,
        SessionId = sessionId,
        Action = action,
        Actor = SessionLimits.Truncate(actor),
        Detail = SessionLimits.Truncate(detail),
    };

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
