using RuntimeAuthz.Contracts;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

public static class PolicyEndpoints
{
    public static void MapPolicyEndpoints(this IEndpointRouteBuilder app)
    {
        var policies = app.MapGroup("/v1/policies");
        const int maxText = Grains.PolicyGrain.MaxPolicyTextLength;

        policies.MapPost("", async (HttpContext context, IGrainFactory grains, CallerAccess access, Microsoft.Extensions.Options.IOptions<PolicyTestOptions> tests, CancellationToken ct) =>
        {
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            body.RefuseActorFields("author");
            var caller = access.CallerOf(context);
            var publish = new PolicyPublishRequest
            {
                Policies = body.String("policies", required: true, maxLength: maxText, allowEmpty: true)!,
                Schema = body.String("schema", maxLength: maxText, allowEmpty: true),
                Author = caller.Subject,
                AuthorIssuer = caller.Issuer,
                Note = body.String("note", maxLength: 1024, allowEmpty: true),
                Catalog = body.Object("catalog")?.ToJsonString(),
                Shadow = ShadowEndpoints.IsShadowMode(body),
            };
            // A shadow version never decides, so it may fail the suites; promoting it runs them (ShadowEndpoints).
            if (!publish.Shadow && await PolicyTestGate.RefusalAsync(publish, tests.Value, ct) is { } refused) return refused;
            var result = await grains.GetGrain<IPolicyGrain>(0).Publish(publish);
            return result.IsSuccess
                ? Results.Created($"/v1/policies/{result.Value!.Version}", PolicyVersionDto.From(result.Value))
                : Problems.FromCommand(result);
        }).RequirePermission(Permissions.PoliciesPublish).Reads<PublishPolicyRequest>()
            .Describe<PolicyVersionDto>("PublishPolicy", "Publish a new policy version (validated against its schema)", StatusCodes.Status201Created, 400, 409);

        policies.MapGet("", async (IGrainFactory grains) =>
            Results.Ok((await grains.GetGrain<IPolicyGrain>(0).List()).Select(PolicyVersionSummaryDto.From).ToArray()))
            .RequirePermission(Permissions.PoliciesRead).Describe<PolicyVersionSummaryDto[]>("ListPolicyVersions", "Every published policy version");

        policies.MapGet("/current", async (IGrainFactory grains) =>
            await grains.GetGrain<IPolicyGrain>(0).Current() is { } current
                ? Results.Ok(PolicyVersionDto.From(current))
                : Problems.NotFound("no policy has been published yet"))
            .RequirePermission(Permissions.PoliciesRead).Describe<PolicyVersionDto>("GetCurrentPolicy", "The policy version in force", problems: 404);

        policies.MapGet("/{version}", async (string version, IGrainFactory grains) =>
        {
            if (!long.TryParse(version, out var number) || number < 1)
                throw new BadRequestException($"policy version '{RequestReading.Shorten(version)}' must be a positive integer or 'current'");
            return await grains.GetGrain<IPolicyGrain>(0).Get(number) is { } found
                ? Results.Ok(PolicyVersionDto.From(found))
                : Problems.NotFound($"policy version {number} not found");
        }).RequirePermission(Permissions.PoliciesRead).Describe<PolicyVersionDto>("GetPolicyVersion", "One policy version", problems: [400, 404]);

        policies.MapPost("/rollback", async (HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            body.RefuseActorFields("author");
            var version = body.Long("version", required: true, min: 1)!.Value;
            var note = body.String("note", maxLength: 1024, allowEmpty: true);
            var caller = access.CallerOf(context);
            var result = await grains.GetGrain<IPolicyGrain>(0).Rollback(version, caller.Subject, note, caller.Issuer);
            return result.IsSuccess
                ? Results.Created($"/v1/policies/{result.Value!.Version}", PolicyVersionDto.From(result.Value))
                : Problems.FromCommand(result);
        }).RequirePermission(Permissions.PoliciesPublish).Reads<RollbackPolicyRequest>()
            .Describe<PolicyVersionDto>("RollbackPolicy", "Publish an earlier version's texts again as a new version", StatusCodes.Status201Created, 400, 404, 409);
    }
}
