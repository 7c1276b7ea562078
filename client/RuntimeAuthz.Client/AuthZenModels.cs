using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Client;

// OpenID AuthZEN Authorization API 1.0 wire types. AuthZEN names its fields in snake_case,
// so they are spelled out here rather than left to the camelCase default.

/// <summary>The subject of an AuthZEN request: <c>agent</c> and the agent id (decided in its session), or any other type (a user, decided session-less).</summary>
public sealed record AuthZenSubject(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("properties")] JsonElement? Properties = null)
{
    /// <summary>An agent subject.</summary>
    public static AuthZenSubject Agent(string agentId) => new("agent", agentId);
}

/// <summary>The action of an AuthZEN request (the tool or operation name).</summary>
public sealed record AuthZenAction(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("properties")] JsonElement? Properties = null);

/// <summary>The resource of an AuthZEN request, a Cedar entity <c>type::"id"</c>.</summary>
public sealed record AuthZenResource(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("properties")] JsonElement? Properties = null);

/// <summary>
/// <c>POST /access/v1/evaluation</c> body. The context object may carry <c>session_id</c> and
/// <c>tool_input</c> plus any other keys; see <see cref="AuthZenContext.Create"/>.
/// </summary>
public sealed record AuthZenEvaluationRequest(
    [property: JsonPropertyName("subject")] AuthZenSubject Subject,
    [property: JsonPropertyName("action")] AuthZenAction Action,
    [property: JsonPropertyName("resource")] AuthZenResource Resource,
    [property: JsonPropertyName("context")] JsonElement? Context = null);

/// <summary>One item of a batch; absent parts take the batch's top-level defaults.</summary>
public sealed record AuthZenEvaluationItem(
    [property: JsonPropertyName("subject")] AuthZenSubject? Subject = null,
    [property: JsonPropertyName("action")] AuthZenAction? Action = null,
    [property: JsonPropertyName("resource")] AuthZenResource? Resource = null,
    [property: JsonPropertyName("context")] JsonElement? Context = null);

/// <summary>The AuthZEN <c>evaluations_semantic</c> values.</summary>
public static class AuthZenEvaluationSemantics
{
    /// <summary>Evaluate every item.</summary>
    public const string ExecuteAll = "execute_all";
    /// <summary>Stop after the first deny.</summary>
    public const string DenyOnFirstDeny = "deny_on_first_deny";
    /// <summary>Stop after the first permit.</summary>
    public const string PermitOnFirstPermit = "permit_on_first_permit";
}

/// <summary>Batch options.</summary>
public sealed record AuthZenEvaluationsOptions(
    [property: JsonPropertyName("evaluations_semantic")] string EvaluationsSemantic = AuthZenEvaluationSemantics.ExecuteAll);

/// <summary><c>POST /access/v1/evaluations</c> body.</summary>
public sealed record AuthZenEvaluationsRequest(
    [property: JsonPropertyName("evaluations")] IReadOnlyList<AuthZenEvaluationItem> Evaluations,
    [property: JsonPropertyName("subject")] AuthZenSubject? Subject = null,
    [property: JsonPropertyName("action")] AuthZenAction? Action = null,
    [property: JsonPropertyName("resource")] AuthZenResource? Resource = null,
    [property: JsonPropertyName("context")] JsonElement? Context = null,
    [property: JsonPropertyName("options")] AuthZenEvaluationsOptions? Options = null);

/// <summary>The service's explanation attached to an AuthZEN decision.</summary>
public sealed record AuthZenDecisionContext(
    [property: JsonPropertyName("decision_id")] string? DecisionId,
    [property: JsonPropertyName("outcome")] DecisionOutcome Outcome,
    [property: JsonPropertyName("policy_version")] long? PolicyVersion,
    [property: JsonPropertyName("reasons")] IReadOnlyList<string>? Reasons,
    [property: JsonPropertyName("deny_reason")] string? DenyReason)
{
    /// <summary>Fields the service sent that this SDK version does not know.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; init; }
}

/// <summary>An AuthZEN decision. <c>decision</c> is true only for Allow.</summary>
public sealed record AuthZenEvaluationResponse(
    [property: JsonPropertyName("decision")] bool Decision,
    [property: JsonPropertyName("context")] AuthZenDecisionContext? Context);

/// <summary>A batch answer, one decision per evaluated item (fewer when a semantic short-circuits).</summary>
public sealed record AuthZenEvaluationsResponse(
    [property: JsonPropertyName("evaluations")] IReadOnlyList<AuthZenEvaluationResponse> Evaluations);

/// <summary><c>GET /.well-known/authzen-configuration</c>.</summary>
public sealed record AuthZenConfiguration(
    [property: JsonPropertyName("policy_decision_point")] string PolicyDecisionPoint,
    [property: JsonPropertyName("access_evaluation_endpoint")] string AccessEvaluationEndpoint,
    [property: JsonPropertyName("access_evaluations_endpoint")] string? AccessEvaluationsEndpoint)
{
    [JsonPropertyName("search_subject_endpoint")] public string? SearchSubjectEndpoint { get; init; }
    [JsonPropertyName("search_resource_endpoint")] public string? SearchResourceEndpoint { get; init; }
    [JsonPropertyName("search_action_endpoint")] public string? SearchActionEndpoint { get; init; }

    /// <summary>Fields the service sent that this SDK version does not know.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; init; }
}

/// <summary>Builds AuthZEN context objects.</summary>
public static class AuthZenContext
{
    /// <summary>
    /// A context object with <c>session_id</c>, <c>tool_input</c> and any extra keys
    /// (<paramref name="extra"/> must be a JSON object when given).
    /// </summary>
    public static JsonElement Create(string? sessionId = null, JsonElement? toolInput = null, JsonElement? extra = null)
    {
        var context = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (extra is { } extraObject)
        {
            if (extraObject.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException("The extra context must be a JSON object.", nameof(extra));
            }
            foreach (var property in extraObject.EnumerateObject())
            {
                context[property.Name] = property.Value;
            }
        }
        if (sessionId is not null)
        {
            context["session_id"] = JsonSerializer.SerializeToElement(sessionId);
        }
        if (toolInput is { } input)
        {
            context["tool_input"] = input;
        }
        return JsonSerializer.SerializeToElement(context);
    }
}
