using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Silo.Http;

public static class PolicyEndpoints
{
    public static void MapPolicyEndpoints(this IEndpointRouteBuilder app)
    {
        var policies = app.MapGroup("/v1/policies");
        const int maxText = Grains.PolicyGrain.MaxPolicyTextLength;

        policies.MapPost("", async (HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
        {
            var body = new Fields(await RequestReading.ReadObjectAsync(request, ct));
            var publish = new PolicyPublishRequest
            {
                Policies = body.String("policies", required: true, maxLength: maxText, allowEmpty: true)!,
                Schema = body.String("schema", maxLength: maxText, allowEmpty: true),
                Author = body.RequiredString("author"),
                Note = body.String("note", maxLength: 1024, allowEmpty: true),
            };
            var result = await grains.GetGrain<IPolicyGrain>(0).Publish(publish);
            return result.IsSuccess
                ? Results.Created($"/v1/policies/{result.Value!.Version}", PolicyVersionDto.From(result.Value))
                : Problems.FromCommand(result);
        });

        policies.MapGet("", async (IGrainFactory grains) =>
            Results.Ok((await grains.GetGrain<IPolicyGrain>(0).List()).Select(PolicyVersionSummaryDto.From).ToArray()));

        policies.MapGet("/current", async (IGrainFactory grains) =>
            await grains.GetGrain<IPolicyGrain>(0).Current() is { } current
                ? Results.Ok(PolicyVersionDto.From(current))
                : Problems.NotFound("no policy has been published yet"));

        policies.MapGet("/{version}", async (string version, IGrainFactory grains) =>
        {
            if (!long.TryParse(version, out var number) || number < 1)
                throw new BadRequestException($"policy version '{RequestReading.Shorten(version)}' must be a positive integer or 'current'");
            return await grains.GetGrain<IPolicyGrain>(0).Get(number) is { } found
                ? Results.Ok(PolicyVersionDto.From(found))
                : Problems.NotFound($"policy version {number} not found");
        });

        policies.MapPost("/rollback", async (HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
        {
            var body = new Fields(await RequestReading.ReadObjectAsync(request, ct));
            var version = body.Long("version", required: true, min: 1)!.Value;
            var author = body.RequiredString("author");
            var note = body.String("note", maxLength: 1024, allowEmpty: true);
            var result = await grains.GetGrain<IPolicyGrain>(0).Rollback(version, author, note);
            return result.IsSuccess
                ? Results.Created($"/v1/policies/{result.Value!.Version}", PolicyVersionDto.From(result.Value))
                : Problems.FromCommand(result);
        });
    }
}
