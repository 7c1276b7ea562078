using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Catalog;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary>
/// The action catalog: published beside the policy and versioned with it (each publish is a new
/// policy version). <c>GET</c> shows the current version's catalog; <c>POST</c> publishes a new
/// catalog with the current policy texts.
/// </summary>
public static class CatalogEndpoints
{
    public static void MapCatalogEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/catalog", async (IGrainFactory grains) =>
        {
            var current = await grains.GetGrain<IPolicyGrain>(0).Current();
            return current is null ? Problems.NotFound("no policy is published yet") : Results.Ok(CatalogDto.From(current));
        }).RequirePermission(Permissions.CatalogRead).Describe<CatalogDto>("GetCatalog", "The current policy version's action catalog", problems: 404);

        app.MapPost("/v1/catalog", async (HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            body.RefuseActorFields("author");
            var catalog = body.Object("catalog", required: true)!;
            var caller = access.CallerOf(context);
            var result = await grains.GetGrain<IPolicyGrain>(0).PublishCatalog(catalog.ToJsonString(), caller.Subject,
                body.String("note", maxLength: 1024, allowEmpty: true), caller.Issuer);
            return result.IsSuccess
                ? Results.Created($"/v1/policies/{result.Value!.Version}", CatalogDto.From(result.Value))
                : Problems.FromCommand(result);
        }).RequirePermission(Permissions.PoliciesPublish).Reads<PublishCatalogRequest>()
            .Describe<CatalogDto>("PublishCatalog", "Publish a new catalog with the current policy texts (a new policy version)", StatusCodes.Status201Created, 400, 404, 409);
    }
}

/// <param name="Actions">Every action the catalog knows, as policies see it in <c>context.action</c>.</param>
public sealed record CatalogDto(long PolicyVersion, JsonNode? Catalog, IReadOnlyList<JsonObject> Actions, string UnknownActions)
{
    public static CatalogDto From(PolicyVersionRecord record)
    {
        var catalog = ActionCatalog.FromText(record.Catalog);
        return new(record.Version, record.Catalog is null ? null : JsonNode.Parse(record.Catalog),
            [.. catalog.Entries.Keys.Order(StringComparer.Ordinal).Select(catalog.Describe)], "irreversible");
    }
}
