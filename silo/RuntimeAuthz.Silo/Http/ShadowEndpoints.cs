using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary>
/// Shadow versions and log-only policies (docs/policies-shadow.md): a version's comparison report,
/// and promoting or discarding a shadow version. Publishing one is <c>POST /v1/policies</c> with
/// <c>"mode": "shadow"</c>.
/// </summary>
public static class ShadowEndpoints
{
    public static void MapShadowEndpoints(this IEndpointRouteBuilder app)
    {
        var policies = app.MapGroup("/v1/policies");

        policies.MapGet("/{version}/shadow-report", async (string version, IGrainFactory grains) =>
        {
            var number = VersionNumber(version);
            var policyGrain = grains.GetGrain<IPolicyGrain>(0);
            if (await policyGrain.Get(number) is not { } record) return Problems.NotFound($"policy version {number} not found");
            var logOnly = record.Shadow ? [] : Grains.CompiledPolicy.FromRecord(record).LogOnlyPolicies.Order(StringComparer.Ordinal).ToArray();
            if (!record.Shadow && logOnly.Length == 0)
                return Problems.NotFound($"policy version {number} is live and has no log-only policies, so it has no shadow report (publish with \"mode\": \"shadow\", or mark policies @mode(\"log-only\"))");
            var status = await StatusOf(policyGrain, record);
            var report = await grains.GetGrain<IShadowReportGrain>(number).Get();
            return Results.Ok(ShadowReportDto.From(report, record.Shadow ? "shadow" : "log-only", status, logOnly));
        })
        .RequirePermission(Permissions.PoliciesRead)
        .WithName("GetShadowReport")
        .Produces<ShadowReportDto>(StatusCodes.Status200OK)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status404NotFound);

        policies.MapPost("/{version}/promote", async (string version, HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            var number = VersionNumber(version);
            var note = await NoteAsync(context, ct);
            var caller = access.CallerOf(context);
            var result = await grains.GetGrain<IPolicyGrain>(0).PromoteShadow(number, caller.Subject, note, caller.Issuer);
            return result.IsSuccess
                ? Results.Created($"/v1/policies/{result.Value!.Version}", PolicyVersionDto.From(result.Value))
                : Problems.FromCommand(result);
        })
        .RequirePermission(Permissions.PoliciesPublish)
        .WithName("PromoteShadowVersion")
        .Accepts<ShadowActionRequestDto>("application/json")
        .Produces<PolicyVersionDto>(StatusCodes.Status201Created)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status409Conflict);

        policies.MapPost("/{version}/discard", async (string version, HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            var number = VersionNumber(version);
            var note = await NoteAsync(context, ct);
            var caller = access.CallerOf(context);
            var result = await grains.GetGrain<IPolicyGrain>(0).DiscardShadow(number, caller.Subject, note, caller.Issuer);
            return result.IsSuccess ? Results.Ok(PolicyVersionDto.From(result.Value!)) : Problems.FromCommand(result);
        })
        .RequirePermission(Permissions.PoliciesPublish)
        .WithName("DiscardShadowVersion")
        .Accepts<ShadowActionRequestDto>("application/json")
        .Produces<PolicyVersionDto>(StatusCodes.Status200OK)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status409Conflict);
    }

    /// <summary>The publish body's <c>mode</c>: true for <c>"shadow"</c>, false for <c>"live"</c> or none.</summary>
    public static bool IsShadowMode(Fields body) => body.String("mode", maxLength: 16) switch
    {
        null or "live" => false,
        "shadow" => true,
        var other => throw new BadRequestException($"mode must be \"live\" or \"shadow\", not \"{RequestReading.Shorten(other)}\""),
    };

    private static long VersionNumber(string version) =>
        long.TryParse(version, out var number) && number >= 1
            ? number
            : throw new BadRequestException($"policy version '{RequestReading.Shorten(version)}' must be a positive integer");

    private static async Task<string?> NoteAsync(HttpContext context, CancellationToken ct)
    {
        var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
        body.RefuseActorFields("author");
        return body.String("note", maxLength: 1024, allowEmpty: true);
    }

    /// <summary>Shadow: active, promoted (a later live version has its texts) or discarded. Live: current or superseded.</summary>
    private static async Task<string> StatusOf(IPolicyGrain policyGrain, PolicyVersionRecord record)
    {
        if (!record.Shadow) return await policyGrain.CurrentVersion() == record.Version ? "current" : "superseded";
        if ((await policyGrain.ActiveShadows()).Contains(record.Version)) return "active";
        return (await policyGrain.List()).Any(s => s.PromotedFrom == record.Version) ? "promoted" : "discarded";
    }
}

/// <summary>The optional body of promote and discard.</summary>
public sealed record ShadowActionRequestDto(string? Note);

public sealed record ShadowDirectionDto(string Live, string Shadow, long Count);

public sealed record ShadowDisagreementDto(Guid DecisionId, string SessionId, string AgentId, string Action, string Resource, long LiveVersion,
    string LiveOutcome, string ShadowOutcome, IReadOnlyList<string> LivePolicies, IReadOnlyList<string> ShadowPolicies, DateTimeOffset At);

/// <param name="Mode"><c>shadow</c> (a shadow version against the live one) or <c>log-only</c> (a live version's log-only policies, enforced, against the version as it decides).</param>
/// <param name="Status">shadow: <c>active</c>, <c>promoted</c>, <c>discarded</c>; log-only: <c>current</c>, <c>superseded</c>.</param>
public sealed record ShadowReportDto(long Version, string Mode, string Status, IReadOnlyList<string> LogOnlyPolicies, long Evaluated, long Disagreements,
    long Failures, long Skipped, IReadOnlyList<ShadowDirectionDto> Directions, IReadOnlyList<ShadowDisagreementDto> Examples, DateTimeOffset? UpdatedAt)
{
    public static ShadowReportDto From(ShadowReport r, string mode, string status, IReadOnlyList<string> logOnly) => new(
        r.Version, mode, status, logOnly, r.Evaluated, r.Disagreements, r.Failures, r.Skipped,
        [.. r.Directions.Select(d => new ShadowDirectionDto(d.Live.ToString(), d.Shadow.ToString(), d.Count))],
        [.. r.Examples.Select(e => new ShadowDisagreementDto(e.DecisionId, e.SessionId, e.AgentId, e.Action, e.Resource, e.LiveVersion,
            e.LiveOutcome.ToString(), e.ShadowOutcome.ToString(), e.LivePolicies, e.ShadowPolicies, e.At))],
        r.UpdatedAt);
}
