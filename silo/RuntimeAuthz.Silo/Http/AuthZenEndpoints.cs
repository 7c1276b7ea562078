using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Entities;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary>
/// OpenID AuthZEN Authorization API 1.0: evaluation, evaluations (batch), the search APIs and the PDP metadata.
/// subject = the agent (type <c>agent</c>, decided in its session: context.session_id) or any other principal
/// (<c>&lt;Type&gt;::"id"</c>, decided session-less), action.name = the tool, resource = the Cedar resource,
/// context.tool_input = the tool input (context.input in Cedar). Unknown fields are ignored.
/// </summary>
public static class AuthZenEndpoints
{
    public const string SubjectType = "agent";
    public const string SessionIdKey = "session_id";
    public const string ToolInputKey = "tool_input";
    /// <summary>The approval a re-submitted call uses.</summary>
    public const string ApprovalIdKey = "approval_id";
    /// <summary>Where <c>action.properties</c> reach Cedar: <c>context.action_properties</c>.</summary>
    public const string ActionPropertiesKey = "action_properties";
    public const int MaxEvaluations = 64;
    public const int DefaultSearchPage = 100;

    private static readonly string[] SearchKinds = ["subject", "resource", "action"];

    /// <summary>One parsed evaluation: in a session (agent), or session-less (any principal).</summary>
    private sealed record Call(string? SessionId, EntityKey Principal, string? SubjectPropertiesJson, DecisionRequest Request)
    {
        public bool IsAgent => Principal.Type == CedarRequestBuilder.AgentType;
    }

    public static void MapAuthZenEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/authzen-configuration", (PublicAddress address) =>
        {
            var baseUrl = address.BaseUrl;
            return Results.Ok(new AuthZenConfigurationDto(baseUrl, $"{baseUrl}/access/v1/evaluation", $"{baseUrl}/access/v1/evaluations",
                $"{baseUrl}/access/v1/search/subject", $"{baseUrl}/access/v1/search/resource", $"{baseUrl}/access/v1/search/action"));
        }).AllowAnonymous().Describe<AuthZenConfigurationDto>("GetAuthZenConfiguration", "AuthZEN policy decision point metadata");

        app.MapPost("/access/v1/evaluation", async (HttpContext context, CancellationToken ct) =>
        {
            var body = await ReadBodyAsync(context.Request, ct);
            var edge = Edge.Of(context);
            var call = edge.Parse(body, defaults: null, path: "");
            if (await edge.RefuseUnlessMayDecideAsync([call]) is { } refused) return refused;
            return Results.Json(Response(await edge.DecideAsync(call), edge.BaseUrl));
        }).RequirePermission(Permissions.Decide).Reads<AuthZenEvaluationRequest>()
            .Describe<AuthZenDecisionDto>("AuthZenEvaluation", "Decide one tool call (AuthZEN Access Evaluation)", problems: 400);

        app.MapPost("/access/v1/evaluations", async (HttpContext context, CancellationToken ct) =>
        {
            var body = await ReadBodyAsync(context.Request, ct);
            var edge = Edge.Of(context);
            var fields = new Fields(body);
            // No evaluations, or none: the single evaluation API (the specification's backwards compatibility).
            if (!body.ContainsKey("evaluations") || body["evaluations"] is JsonArray { Count: 0 })
            {
                var single = edge.Parse(body, defaults: null, path: "");
                if (await edge.RefuseUnlessMayDecideAsync([single]) is { } refusedSingle) return refusedSingle;
                return Results.Json(Response(await edge.DecideAsync(single), edge.BaseUrl));
            }
            if (body["evaluations"] is not JsonArray items)
                throw new BadRequestException($"evaluations must be an array, not {RequestReading.Kind(body["evaluations"])}");
            if (items.Count > MaxEvaluations) throw new BadRequestException($"evaluations has more than {MaxEvaluations} items");
            var semantic = fields.Nested("options")?.String("evaluations_semantic") ?? "execute_all";
            if (semantic is not ("execute_all" or "deny_on_first_deny" or "permit_on_first_permit"))
                throw new BadRequestException($"options.evaluations_semantic must be execute_all, deny_on_first_deny or permit_on_first_permit, not '{RequestReading.Shorten(semantic)}'");

            // An item that does not parse is that item's error (decision false), as the specification has it; every
            // item's caller check comes before any decision, so a refused batch records none.
            var parsed = new List<(Call? Call, string? Error)>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                try
                {
                    if (items[i] is not JsonObject item) throw new BadRequestException($"evaluations[{i}] must be an object, not {RequestReading.Kind(items[i])}");
                    parsed.Add((edge.Parse(item, body, $"evaluations[{i}]"), null));
                }
                catch (BadRequestException ex) when (ex.StatusCode == StatusCodes.Status400BadRequest)
                {
                    parsed.Add((null, ex.Message));
                }
            }
            if (await edge.RefuseUnlessMayDecideAsync(parsed.Select(p => p.Call).OfType<Call>()) is { } refused) return refused;
            var results = new JsonArray();
            foreach (var (call, error) in parsed)
            {
                if (call is null)
                {
                    results.Add(new JsonObject { ["decision"] = false, ["context"] = new JsonObject { ["error"] = new JsonObject { ["status"] = 400, ["message"] = error } } });
                    continue;
                }
                var decision = await edge.DecideAsync(call);
                results.Add(Response(decision, edge.BaseUrl));
                var permitted = decision.Outcome == DecisionOutcome.Allow;
                if ((semantic == "deny_on_first_deny" && !permitted) || (semantic == "permit_on_first_permit" && permitted)) break;
            }
            return Results.Json(new JsonObject { ["evaluations"] = results });
        }).RequirePermission(Permissions.Decide).Reads<AuthZenEvaluationsRequest>()
            .Describe<AuthZenDecisionsDto>("AuthZenEvaluations", "Decide up to 64 calls (AuthZEN Access Evaluations; without evaluations, one decision)", problems: 400);

        foreach (var kind in SearchKinds)
        {
            app.MapPost($"/access/v1/search/{kind}", async (HttpContext context, CancellationToken ct) =>
            {
                var body = await ReadBodyAsync(context.Request, ct);
                return Results.Json(await Edge.Of(context).SearchAsync(kind, body, ct));
            }).RequirePermission(Permissions.Search).Reads<AuthZenSearchRequest>()
                .Describe<AuthZenSearchDto>($"AuthZenSearch{char.ToUpperInvariant(kind[0])}{kind[1..]}", $"Which {kind}s the policy allows for the rest of the request (AuthZEN Search, paged)", problems: 400);
        }
    }

    /// <summary>Whether the path is one of the AuthZEN API's (whose errors follow the specification's status codes).</summary>
    public static bool Owns(PathString path) => path.StartsWithSegments("/access/v1", StringComparison.OrdinalIgnoreCase);

    /// <summary>The request body; AuthZEN answers every malformed request 400, a body that is not JSON included (elsewhere 415).</summary>
    private static async Task<JsonObject> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            return await RequestReading.ReadObjectAsync(request, ct);
        }
        catch (BadRequestException ex) when (ex.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            throw new BadRequestException(ex.Message);
        }
    }

    /// <summary>The services one request uses, and its caller.</summary>
    private sealed class Edge(HttpContext context, AuthZenOptions options, CallerAccess access)
    {
        private IServiceProvider Services => context.RequestServices;
        public Caller Caller { get; } = access.CallerOf(context);
        public string BaseUrl => Services.GetRequiredService<PublicAddress>().BaseUrl;

        /// <summary>Sessions whose caller check failed (their grain or storage did not answer): their calls are answered Deny unasked.</summary>
        private readonly Dictionary<string, Exception> uncheckedSessions = new(StringComparer.Ordinal);

        public static Edge Of(HttpContext context) => new(context,
            context.RequestServices.GetRequiredService<IOptions<AuthZenOptions>>().Value, context.RequestServices.GetRequiredService<CallerAccess>());

        /// <summary>
        /// An agent token decides only as itself and in its own sessions, a pep only for its agents; other principals
        /// (users, services) are decided for enforcement points and admins, never for an agent's token.
        /// </summary>
        public async Task<IResult?> RefuseUnlessMayDecideAsync(IEnumerable<Call> calls)
        {
            foreach (var call in calls)
            {
                if (call.IsAgent)
                {
                    if (await access.RefuseUnlessActsForAsync(context, Permissions.Decide, call.Principal.Id, call.SessionId) is { } refused) return refused;
                    if (call.SessionId is not { } session) continue;
                    var (notOwned, failure) = await access.CheckMayDecideInSessionAsync(context, session);
                    if (notOwned is not null) return notOwned;
                    // Answered Deny in DecideAsync, unasked.
                    if (failure is not null) uncheckedSessions[session] = failure;
                }
                else if (!Caller.Has(Roles.Pep) && !Caller.Has(Roles.Admin))
                {
                    var detail = $"{Caller.Subject} may decide only as its agent, not for {call.Principal}";
                    await access.RecordRefusalAsync(context, Permissions.Decide, detail);
                    return Problems.Create(StatusCodes.Status403Forbidden, detail);
                }
            }
            return null;
        }

        public async Task<AuthzDecision> DecideAsync(Call call)
        {
            if (call.SessionId is { } session)
            {
                var decider = Services.GetRequiredService<FailClosedDecider>();
                return uncheckedSessions.TryGetValue(session, out var failure)
                    ? decider.Unasked(session, call.Request, failure)
                    : await decider.DecideAsync(session, call.Request, Caller);
            }
            var request = new SessionlessDecisionRequest
            {
                Principal = call.Principal, SubjectPropertiesJson = call.SubjectPropertiesJson,
                Request = call.Request with { Caller = Caller.Subject, DecisionId = call.Request.DecisionId ?? Guid.NewGuid() },
            };
            try
            {
                // An agent acting for a user outside a session: the user's own evaluation still comes first (and fails closed too).
                var (checkedRequest, refusedForUser) = await Services.GetRequiredService<OnBehalfOfDecisions>().CheckUserAsync("", call.Request, Caller);
                if (refusedForUser is not null) return refusedForUser;
                request = request with { Request = checkedRequest with { Caller = Caller.Subject, DecisionId = request.Request.DecisionId } };
                return await Services.GetRequiredService<IGrainFactory>().GetGrain<ISessionlessDecisionGrain>(SessionlessDecisionGrain.KeyOf(call.Principal)).Decide(request);
            }
            catch (Exception ex) when (ex is not BadRequestException)
            {
                // Fail closed: no answer from the grain is a Deny (its record, if any, is in the principal's chain).
                Services.GetRequiredService<ILoggerFactory>().CreateLogger(nameof(AuthZenEndpoints))
                    .LogError(ex, "Session-less decision {DecisionId} for {Principal} failed; denying", request.Request.DecisionId, call.Principal);
                return new AuthzDecision
                {
                    DecisionId = request.Request.DecisionId!.Value, Outcome = DecisionOutcome.Deny, DenyReason = DenyReasons.InternalError,
                    AgentId = call.IsAgent ? call.Principal.Id : "", DecidedAt = Services.GetRequiredService<AuthzClock>().UtcNow,
                };
            }
        }

        /// <summary>Reads subject/action/resource/context from an item, falling back to the batch's top-level defaults.</summary>
        public Call Parse(JsonObject item, JsonObject? defaults, string path)
        {
            var prefix = path.Length > 0 ? path + "." : "";
            var subject = Part(item, defaults, "subject", path, fallbackFields: ["type", "id"]);
            var action = Part(item, defaults, "action", path, fallbackFields: ["name"]);
            var resource = Part(item, defaults, "resource", path, fallbackFields: ["type", "id"]);
            var subjectType = subject.RequiredString("type");
            var actionName = action.RequiredString("name");

            // Context: the batch default's keys, overridden by the item's keys.
            var callContext = new JsonObject();
            foreach (var source in new[] { defaults, item })
            {
                if (source is null || !source.ContainsKey("context")) continue;
                var part = new Fields(source, ReferenceEquals(source, item) ? path : "").Object("context")!;
                foreach (var (key, value) in part) callContext[key] = value?.DeepClone();
            }
            if (action.Object("properties") is { } actionProperties) callContext[ActionPropertiesKey] = actionProperties.DeepClone();
            var sessionId = callContext[SessionIdKey] switch
            {
                null => null,
                JsonValue value when value.TryGetValue<string>(out var text) && !string.IsNullOrWhiteSpace(text) => RequestReading.CheckId(text, $"{prefix}context.{SessionIdKey}"),
                var other => throw new BadRequestException($"{prefix}context.{SessionIdKey} must be a non-empty string, not {RequestReading.Kind(other)}"),
            };
            var input = callContext[ToolInputKey]?.DeepClone();
            var approvalId = callContext[ApprovalIdKey] switch
            {
                null => null,
                JsonValue value when value.TryGetValue<string>(out var text) => ApprovalEndpoints.ReadApprovalId(text, $"context.{ApprovalIdKey}"),
                var other => throw new BadRequestException($"context.{ApprovalIdKey} must be a string, not {RequestReading.Kind(other)}"),
            };
            callContext.Remove(SessionIdKey);
            callContext.Remove(ToolInputKey);
            callContext.Remove(ApprovalIdKey);

            EntityKey principal;
            string? subjectProperties = null;
            if (string.Equals(subjectType, SubjectType, StringComparison.OrdinalIgnoreCase))
            {
                principal = EntityKey.Of(CedarRequestBuilder.AgentType, RequestReading.CheckId(subject.RequiredString("id"), $"{prefix}subject.id"));
                if (sessionId is null && options.AgentsRequireSession)
                    throw new BadRequestException($"{prefix}context.{SessionIdKey} is required (a string): agents decide inside an agent session");
            }
            else
            {
                principal = EntityKey.Of(CedarType(subjectType, $"{prefix}subject.type"), SubjectId(subject, prefix));
                if (sessionId is not null)
                    throw new BadRequestException($"{prefix}context.{SessionIdKey} is for agents' sessions: subject.type '{RequestReading.Shorten(subjectType)}' decides without a session");
                if (subject.Object("properties") is { } given && options.Trusts(Caller, AuthZenOptions.TrustSubject)) subjectProperties = given.ToJsonString();
            }
            if (approvalId is not null && sessionId is null)
                throw new BadRequestException($"{prefix}context.{ApprovalIdKey} needs a session: approvals are bound to a call in an agent session");
            var request = DecisionInput.Build(principal.Type == CedarRequestBuilder.AgentType ? principal.Id : null, actionName, resource, callContext, input) with { ApprovalId = approvalId };
            if (!options.Trusts(Caller, AuthZenOptions.TrustResource)) request = request with { ResourcePropertiesJson = null };
            return new Call(sessionId, principal, subjectProperties, request);
        }

        private string CedarType(string subjectType, string what)
        {
            var type = options.CedarTypeOf(subjectType);
            if (!RequestReading.EntityTypeShape().IsMatch(type) || type.Length > EntityLimits.MaxTypeLength)
                throw new BadRequestException($"{what} '{RequestReading.Shorten(subjectType)}' does not map to a Cedar entity type (e.g. user → User; see AuthZen:SubjectTypes)");
            return type;
        }

        private static string SubjectId(Fields subject, string prefix)
        {
            var id = subject.String("id", required: true, maxLength: EntityLimits.MaxIdLength)!;
            if (RequestReading.HasLoneSurrogate(id)) throw new BadRequestException($"{prefix}subject.id must not contain unpaired surrogates");
            return id;
        }

        /// <summary>
        /// The item's object, or the default's when the item has none; an item's object missing a required
        /// field (<c>type</c>, <c>id</c>, <c>name</c>) takes it from the default's (entity-level replacement otherwise).
        /// </summary>
        private static Fields Part(JsonObject item, JsonObject? defaults, string name, string path, string[] fallbackFields)
        {
            var fallback = defaults is not null && defaults.ContainsKey(name) ? new Fields(defaults).Object(name) : null;
            if (!item.ContainsKey(name))
            {
                if (fallback is not null) return new Fields(fallback, name);
                return new Fields(item, path).Nested(name, required: true)!;
            }
            var own = new Fields(item, path).Object(name, required: true)!;
            if (fallback is null || fallbackFields.All(own.ContainsKey)) return new Fields(own, path.Length > 0 ? $"{path}.{name}" : name);
            var merged = (JsonObject)own.DeepClone();
            foreach (var field in fallbackFields)
                if (!merged.ContainsKey(field) && fallback[field] is { } value) merged[field] = value.DeepClone();
            return new Fields(merged, path.Length > 0 ? $"{path}.{name}" : name);
        }

        /// <summary>
        /// A search: candidates of the searched type from the entity store (actions: the store's <c>Action</c> entities
        /// and the catalog), each checked session-less with the current policy, in id order, a page at a time.
        /// The fixed subject of a resource or action search must be in the store, or the answer is empty.
        /// </summary>
        public async Task<JsonObject> SearchAsync(string kind, JsonObject body, CancellationToken ct)
        {
            var fields = new Fields(body);
            var subject = fields.Nested("subject", required: true)!;
            var resource = fields.Nested("resource", required: true)!;
            var action = kind == "action" ? null : fields.Nested("action", required: true)!;
            var subjectType = subject.RequiredString("type");
            var resourceType = resource.RequiredString("type");
            if (!RequestReading.EntityTypeShape().IsMatch(resourceType)) throw new BadRequestException($"resource.type '{RequestReading.Shorten(resourceType)}' is not a Cedar entity type");
            var subjectId = kind == "subject" ? null : SubjectId(subject, "");
            var resourceId = kind == "resource" ? null : resource.String("id", required: true, maxLength: DecisionInput.MaxIdLength)!;
            var actionName = action?.RequiredString("name");
            var page = fields.Nested("page");
            var limit = (int)(page?.Long("limit", min: 1, max: EntityLimits.MaxPageSize) ?? DefaultSearchPage);
            var token = page?.String("token", maxLength: 2048, allowEmpty: true) ?? page?.String("next_token", maxLength: 2048, allowEmpty: true);
            var after = token is { Length: > 0 } ? ReadToken(kind, token) : null;
            var callContext = fields.Object("context") is { } c ? (JsonObject)c.DeepClone() : new JsonObject();
            if (action?.Object("properties") is { } actionProperties) callContext[ActionPropertiesKey] = actionProperties.DeepClone();
            callContext.Remove(SessionIdKey);
            var subjectProperties = options.Trusts(Caller, AuthZenOptions.TrustSubject) ? subject.Object("properties") : null;
            var resourceProperties = options.Trusts(Caller, AuthZenOptions.TrustResource) ? resource.Object("properties")?.ToJsonString() : null;

            var results = new JsonArray();
            var policy = await Services.GetRequiredService<PolicyCache>().GetAsync(ct);
            var stored = Services.GetRequiredService<EntityCache>().Current;
            // Agents are decided through their grants and sessions, not by search; unknown types have no candidates.
            var isAgent = string.Equals(subjectType, SubjectType, StringComparison.OrdinalIgnoreCase);
            if (policy is null || isAgent || !RequestReading.EntityTypeShape().IsMatch(options.CedarTypeOf(subjectType))) return Page(results, null);
            var principalType = options.CedarTypeOf(subjectType);
            if (subjectId is not null && stored.Find(EntityKey.Of(principalType, subjectId)) is null) return Page(results, null);

            IReadOnlyList<string> candidates = kind switch
            {
                "subject" => stored.OfType(principalType).Select(k => k.Id).ToArray(),
                "resource" => stored.OfType(resourceType).Select(k => k.Id).ToArray(),
                _ => EntitySearch.ActionNames(policy, stored),
            };
            var now = Services.GetRequiredService<AuthzClock>().UtcNow;
            var contextJson = callContext.ToJsonString();
            string? last = null;
            var more = false;
            foreach (var candidate in candidates.Where(c => after is null || string.CompareOrdinal(c, after) > 0))
            {
                if (results.Count == limit)
                {
                    more = true;
                    break;
                }
                ct.ThrowIfCancellationRequested();
                var probe = kind switch
                {
                    "subject" => new EntitySearch.Probe(EntityKey.Of(principalType, candidate), null, actionName!, EntityKey.Of(resourceType, resourceId!), resourceProperties, contextJson),
                    "resource" => new EntitySearch.Probe(EntityKey.Of(principalType, subjectId!), subjectProperties, actionName!, EntityKey.Of(resourceType, candidate), null, contextJson),
                    _ => new EntitySearch.Probe(EntityKey.Of(principalType, subjectId!), subjectProperties, candidate, EntityKey.Of(resourceType, resourceId!), resourceProperties, contextJson),
                };
                last = candidate;
                if (!EntitySearch.Permits(policy, stored, probe, now)) continue;
                results.Add(kind switch
                {
                    "subject" => new JsonObject { ["type"] = subjectType, ["id"] = candidate },
                    "resource" => new JsonObject { ["type"] = resourceType, ["id"] = candidate },
                    _ => new JsonObject { ["name"] = candidate },
                });
            }
            return Page(results, more ? WriteToken(kind, last!) : null);
        }

        private static JsonObject Page(JsonArray results, string? next) => new()
        {
            ["results"] = results,
            ["page"] = new JsonObject { ["next_token"] = next ?? "", ["count"] = results.Count },
        };

        private static string WriteToken(string kind, string after) =>
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"s1\n{kind}\n{after}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        private static string ReadToken(string kind, string token)
        {
            try
            {
                var text = token.Replace('-', '+').Replace('_', '/');
                var parts = Encoding.UTF8.GetString(Convert.FromBase64String(text.PadRight(text.Length + (4 - text.Length % 4) % 4, '='))).Split('\n', 3);
                if (parts is ["s1", var k, var after] && k == kind) return after;
            }
            catch (FormatException)
            {
                // reported below
            }
            throw new BadRequestException($"page.token is not a token of a previous {kind} search page");
        }
    }

    private static JsonObject Response(AuthzDecision decision, string baseUrl)
    {
        var context = new JsonObject
        {
            ["decision_id"] = decision.DecisionId.ToString(),
            ["outcome"] = decision.Outcome.ToString(),
            ["policy_version"] = decision.PolicyVersion,
            ["entity_store_version"] = decision.EntityStoreVersion,
            ["reasons"] = new JsonArray(decision.Reasons.Select(r => (JsonNode?)JsonValue.Create(r)).ToArray()),
        };
        if (decision.SessionId.Length > 0)
        {
            context["session_id"] = decision.SessionId;
            context["risk_added"] = decision.RiskAdded;
            context["cumulative_risk"] = decision.CumulativeRisk;
        }
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
