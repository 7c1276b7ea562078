using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary>
/// OpenID AuthZEN Authorization API 1.0: evaluation, evaluations (batch) and the PDP metadata.
/// subject = the agent, action.name = the tool, resource = the Cedar resource,
/// context.session_id = the session deciding, context.tool_input = the tool input (context.input in Cedar).
/// </summary>
public static class AuthZenEndpoints
{
    public const string SubjectType = "agent";
    public const string SessionIdKey = "session_id";
    public const string ToolInputKey = "tool_input";
    /// <summary>The approval a re-submitted call uses.</summary>
    public const string ApprovalIdKey = "approval_id";
    public const int MaxEvaluations = 64;

    public static void MapAuthZenEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/authzen-configuration", (PublicAddress address) =>
        {
            var baseUrl = address.BaseUrl;
            return Results.Ok(new AuthZenConfigurationDto(baseUrl, $"{baseUrl}/access/v1/evaluation", $"{baseUrl}/access/v1/evaluations"));
        }).AllowAnonymous().Describe<AuthZenConfigurationDto>("GetAuthZenConfiguration", "AuthZEN policy decision point metadata");

        app.MapPost("/access/v1/evaluation", async (HttpContext context, FailClosedDecider decider, CallerAccess access, PublicAddress address, CancellationToken ct) =>
        {
            var body = await RequestReading.ReadObjectAsync(context.Request, ct);
            var (sessionId, decisionRequest) = Parse(body, defaults: null, path: "");
            if (await RefuseUnlessSubjectAsync(context, access, [(sessionId, decisionRequest)]) is { } refused) return refused;
            var decision = await decider.DecideAsync(sessionId, decisionRequest, access.CallerOf(context));
            return Results.Json(Response(decision, address.BaseUrl));
        }).RequirePermission(Permissions.Decide).Reads<AuthZenEvaluationRequest>()
            .Describe<AuthZenDecisionDto>("AuthZenEvaluation", "Decide one tool call (AuthZEN Access Evaluation)", problems: 400);

        app.MapPost("/access/v1/evaluations", async (HttpContext context, FailClosedDecider decider, CallerAccess access, PublicAddress address, CancellationToken ct) =>
        {
            var body = await RequestReading.ReadObjectAsync(context.Request, ct);
            var fields = new Fields(body);
            if (!body.ContainsKey("evaluations"))
            {
                var (sessionId, single) = Parse(body, defaults: null, path: "");
                if (await RefuseUnlessSubjectAsync(context, access, [(sessionId, single)]) is { } refusedSingle) return refusedSingle;
                return Results.Json(Response(await decider.DecideAsync(sessionId, single, access.CallerOf(context)), address.BaseUrl));
            }
            if (body["evaluations"] is not JsonArray items)
                throw new BadRequestException($"evaluations must be an array, not {RequestReading.Kind(body["evaluations"])}");
            if (items.Count > MaxEvaluations) throw new BadRequestException($"evaluations has more than {MaxEvaluations} items");
            var semantic = fields.Nested("options")?.String("evaluations_semantic") ?? "execute_all";
            if (semantic is not ("execute_all" or "deny_on_first_deny" or "permit_on_first_permit"))
                throw new BadRequestException($"options.evaluations_semantic must be execute_all, deny_on_first_deny or permit_on_first_permit, not '{RequestReading.Shorten(semantic)}'");

            // Check every item before deciding any, so a malformed batch records no decisions.
            var parsed = new List<(string SessionId, DecisionRequest Request)>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is not JsonObject item)
                    throw new BadRequestException($"evaluations[{i}] must be an object, not {RequestReading.Kind(items[i])}");
                parsed.Add(Parse(item, body, $"evaluations[{i}]"));
            }
            if (await RefuseUnlessSubjectAsync(context, access, parsed) is { } refused) return refused;
            var results = new JsonArray();
            foreach (var (sessionId, decisionRequest) in parsed)
            {
                var decision = await decider.DecideAsync(sessionId, decisionRequest, access.CallerOf(context));
                results.Add(Response(decision, address.BaseUrl));
                var permitted = decision.Outcome == DecisionOutcome.Allow;
                if ((semantic == "deny_on_first_deny" && !permitted) || (semantic == "permit_on_first_permit" && permitted)) break;
            }
            return Results.Json(new JsonObject { ["evaluations"] = results });
        }).RequirePermission(Permissions.Decide).Reads<AuthZenEvaluationsRequest>()
            .Describe<AuthZenDecisionsDto>("AuthZenEvaluations", "Decide up to 64 calls (AuthZEN Access Evaluations; without evaluations, one decision)", problems: 400);
    }

    /// <summary>
    /// An agent token decides only as itself and in its own sessions, a pep only for its agents: every subject.id and
    /// session of the call is checked before any is decided.
    /// </summary>
    private static async Task<IResult?> RefuseUnlessSubjectAsync(HttpContext context, CallerAccess access, IEnumerable<(string SessionId, DecisionRequest Request)> calls)
    {
        foreach (var (sessionId, request) in calls)
        {
            if (await access.RefuseUnlessActsForAsync(context, Permissions.Decide, request.AgentId!, sessionId) is { } refused) return refused;
            if (await access.RefuseUnlessOwnsSessionAsync(context, Permissions.Decide, sessionId) is { } notOwned) return notOwned;
        }
        return null;
    }

    /// <summary>Reads subject/action/resource/context from an item, falling back to the batch's top-level defaults.</summary>
    private static (string SessionId, DecisionRequest Request) Parse(JsonObject item, JsonObject? defaults, string path)
    {
        Fields Part(string name)
        {
            var source = item.ContainsKey(name) ? item : defaults is not null && defaults.ContainsKey(name) ? defaults : item;
            var prefix = ReferenceEquals(source, item) && path.Length > 0 ? $"{path}" : "";
            return new Fields(source, prefix).Nested(name, required: true)!;
        }

        var subject = Part("subject");
        var subjectType = subject.RequiredString("type");
        if (!string.Equals(subjectType, SubjectType, StringComparison.OrdinalIgnoreCase))
            throw new BadRequestException($"subject.type must be \"{SubjectType}\", not \"{RequestReading.Shorten(subjectType)}\"");
        var agentId = RequestReading.CheckId(subject.RequiredString("id"), "subject.id");
        var action = Part("action").RequiredString("name");
        var resource = Part("resource");

        // Context: the batch default's keys, overridden by the item's keys.
        var context = new JsonObject();
        foreach (var source in new[] { defaults, item })
        {
            if (source is null || !source.ContainsKey("context")) continue;
            var part = new Fields(source, ReferenceEquals(source, item) ? path : "").Object("context")!;
            foreach (var (key, value) in part) context[key] = value?.DeepClone();
        }
        var sessionNode = context[SessionIdKey];
        if (sessionNode is not JsonValue sessionValue || !sessionValue.TryGetValue<string>(out var sessionId) || string.IsNullOrWhiteSpace(sessionId))
            throw new BadRequestException($"{(path.Length > 0 ? path + "." : "")}context.{SessionIdKey} is required (a string): decisions are made inside an agent session");
        RequestReading.CheckId(sessionId, $"context.{SessionIdKey}");
        var input = context[ToolInputKey]?.DeepClone();
        var approvalId = context[ApprovalIdKey] switch
        {
            null => null,
            JsonValue value when value.TryGetValue<string>(out var text) => ApprovalEndpoints.ReadApprovalId(text, $"context.{ApprovalIdKey}"),
            var other => throw new BadRequestException($"context.{ApprovalIdKey} must be a string, not {RequestReading.Kind(other)}"),
        };
        context.Remove(SessionIdKey);
        context.Remove(ToolInputKey);
        context.Remove(ApprovalIdKey);
        return (sessionId, DecisionInput.Build(agentId, action, resource, context, input) with { ApprovalId = approvalId });
    }

    private static JsonObject Response(AuthzDecision decision, string baseUrl)
    {
        var context = new JsonObject
        {
            ["decision_id"] = decision.DecisionId.ToString(),
            ["outcome"] = decision.Outcome.ToString(),
            ["policy_version"] = decision.PolicyVersion,
            ["reasons"] = new JsonArray(decision.Reasons.Select(r => (JsonNode?)JsonValue.Create(r)).ToArray()),
            ["session_id"] = decision.SessionId,
            ["risk_added"] = decision.RiskAdded,
            ["cumulative_risk"] = decision.CumulativeRisk,
        };
        if (decision.DenyReason is not null) context["deny_reason"] = decision.DenyReason;
        if (decision.Outcome == DecisionOutcome.ApprovalRequired) context["approval_required"] = true;
        if (decision.Approval is { } ticket)
        {
            if (ticket.Act == RuntimeAuthz.Evidence.ApprovalActs.Requested) context["access_request"] = ApprovalEndpoints.AccessRequest(ticket, baseUrl);
            else context["approval"] = new JsonObject { ["id"] = ticket.Id, ["act"] = ticket.Act, ["reason"] = ticket.Reason };
        }
        if (decision.Errors.Count > 0)
        {
            context["errors"] = new JsonArray(decision.Errors
                .Select(e => (JsonNode?)new JsonObject { ["policy_id"] = e.PolicyId, ["message"] = e.Message }).ToArray());
        }
        return new JsonObject { ["decision"] = decision.Outcome == DecisionOutcome.Allow, ["context"] = context };
    }
}
