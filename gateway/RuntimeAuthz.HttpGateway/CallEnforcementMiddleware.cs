using System.Globalization;
using System.Net.Mime;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Client;
using RuntimeAuthz.Enforcement;
using Yarp.ReverseProxy.Forwarder;

namespace RuntimeAuthz.HttpGateway;

/// <summary>
/// The step in YARP's pipeline before forwarding: describes the request as a call (route → action, route values → resource,
/// JSON body → tool input), has the shared enforcer decide it, lets YARP forward it only on Allow, and reports the upstream's
/// answer (its JSON body, or the failure) as the decision's outcome. Every refusal is a problem saying why.
/// </summary>
public sealed class CallEnforcementMiddleware(
    RequestDelegate next, AuthorizationEnforcer enforcer, GatewaySessions sessions, RouteTable routes, IOptions<GatewayOptions> options)
{
    private static readonly HashSet<string> EndedSessions = new(StringComparer.Ordinal) { DenyReasons.SessionExpired, DenyReasons.SessionClosed };

    private readonly GatewayOptions settings = options.Value;

    public async Task InvokeAsync(HttpContext context)
    {
        if (routes.For(context) is not { } route)
        {
            await GatewayProblems.NotRouted(context);
            return;
        }
        if (AgentCaller.Read(context.User, settings.Authentication, out var notAnAgent) is not { } agent)
        {
            await GatewayProblems.WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", notAnAgent);
            return;
        }
        var label = context.Request.Headers[GatewayHeaders.Session].ToString();
        if (label.Length > 0 && GatewaySessions.Invalid(label) is { } badLabel)
        {
            await GatewayProblems.WriteAsync(context, StatusCodes.Status400BadRequest, "Bad request", badLabel);
            return;
        }
        var resourceId = ResourceIdTemplate.Expand(route.ResourceId!, context.Request.RouteValues);
        if (string.IsNullOrEmpty(resourceId))
        {
            await GatewayProblems.WriteAsync(context, StatusCodes.Status400BadRequest, "Bad request", $"the path gives no value for the resource id {route.ResourceId}");
            return;
        }
        var (input, badBody) = await RequestBody.ReadInputAsync(context.Request, settings.MaxBodyBytes, context.RequestAborted);
        if (badBody is not null)
        {
            await GatewayProblems.WriteAsync(context, badBody.Value.Status, badBody.Value.Title, badBody.Value.Detail);
            return;
        }

        var call = new GuardedCall(route.Action!, new ResourceRef(route.ResourceType!, resourceId), input);
        var session = sessions.For(agent.AgentId, label);
        if (session is null)
        {
            await GatewayProblems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too many sessions",
                $"agent '{agent.AgentId}' already uses {GatewaySessions.MaxLabelsPerAgent} {GatewayHeaders.Session} labels");
            return;
        }
        var result = await enforcer.EnforceAsync(session, call, ForwardAsync(context), Describe, context.RequestAborted);
        if (result.Refusal is { DenyReason: { } reason } && EndedSessions.Contains(reason))
        {
            // The cluster session ran out (lifetime or idle timeout): the call is decided again in a new one, once.
            session = sessions.Renew(agent.AgentId, label, session);
            result = await enforcer.EnforceAsync(session, call, ForwardAsync(context), Describe, context.RequestAborted);
        }
        if (result.Refusal is { } refusal) await WriteRefusalAsync(context, route, refusal);
    }

    /// <summary>Lets YARP forward the request, keeping a bounded copy of the answer body for the outcome.</summary>
    private Func<CancellationToken, Task<UpstreamAnswer>> ForwardAsync(HttpContext context) => async _ =>
    {
        var original = context.Response.Body;
        await using var copy = new CopyingStream(original, settings.MaxOutcomeBytes);
        context.Response.Body = copy;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }
        var failure = context.Features.Get<IForwarderErrorFeature>();
        return new UpstreamAnswer(context.Response.StatusCode, context.Response.ContentType, copy.Copied, failure?.Error);
    };

    private static CallOutcome Describe(UpstreamAnswer answer)
    {
        if (answer.ForwarderError is { } error && error != ForwarderError.None)
            return CallOutcome.Failure($"the upstream was not reached or did not answer ({error})");
        if (answer.Status >= 400) return CallOutcome.Failure($"the upstream answered {answer.Status}");
        return CallOutcome.Response(answer.JsonBody());
    }

    private Task WriteRefusalAsync(HttpContext context, GatewayRoute route, Refusal refusal)
    {
        var extensions = new Dictionary<string, object?>
        {
            ["route"] = route.Name,
            ["action"] = route.Action,
            ["denyReason"] = refusal.DenyReason,
        };
        if (refusal.PolicyIds is { Count: > 0 } policies) extensions["policyIds"] = policies;
        if (refusal.DecisionId is { } decision) extensions["decisionId"] = decision;
        if (refusal.ApprovalId is { } approval) extensions["approvalId"] = approval;
        if (refusal.ApprovalExpiresAt is { } expires) extensions["approvalExpiresAt"] = expires;
        switch (refusal.Kind)
        {
            case RefusalKind.ApprovalPending:
                // Not 2xx: a client that treats any success as "done" must not take a held call for a performed one.
                context.Response.Headers.RetryAfter = Math.Max(1, settings.ApprovalWaitSeconds).ToString(CultureInfo.InvariantCulture);
                return GatewayProblems.WriteAsync(context, StatusCodes.Status409Conflict, "Approval pending", refusal.Message, extensions);
            case RefusalKind.Unavailable:
                return GatewayProblems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "Authorization unavailable", refusal.Message, extensions);
            case RefusalKind.ApprovalExpired:
                return GatewayProblems.WriteAsync(context, StatusCodes.Status403Forbidden, "Approval expired", refusal.Message, extensions);
            case RefusalKind.ApprovalRejected:
                return GatewayProblems.WriteAsync(context, StatusCodes.Status403Forbidden, "Approval rejected", refusal.Message, extensions);
            default:
                return GatewayProblems.WriteAsync(context, StatusCodes.Status403Forbidden, "Denied", refusal.Message, extensions);
        }
    }

    private sealed record UpstreamAnswer(int Status, string? ContentType, byte[]? Body, ForwarderError? ForwarderError)
    {
        /// <summary>The body as JSON when it is JSON and was copied whole; otherwise no output (the outcome still says it answered).</summary>
        public JsonElement? JsonBody()
        {
            if (Body is not { Length: > 0 } || ContentType is null) return null;
            var mediaType = ContentType.Split(';')[0].Trim();
            if (!mediaType.Equals(MediaTypeNames.Application.Json, StringComparison.OrdinalIgnoreCase) && !mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)) return null;
            try
            {
                using var document = JsonDocument.Parse(Body);
                return document.RootElement.Clone();
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}
