using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Entities;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary>The entity store (policy information point): import, list, show and delete entities in Cedar's JSON entity format.</summary>
public static class EntityEndpoints
{
    public static void MapEntityEndpoints(this IEndpointRouteBuilder app)
    {
        var entities = app.MapGroup("/v1/entities");

        entities.MapPost("", async (HttpContext context, IGrainFactory grains, CallerAccess access, CancellationToken ct) =>
        {
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            body.RefuseActorFields("actor");
            var mode = body.String("mode") switch
            {
                null or "merge" => EntityImportMode.Merge,
                "replace" => EntityImportMode.Replace,
                var other => throw new BadRequestException($"mode must be merge or replace, not '{RequestReading.Shorten(other)}'"),
            };
            if (body.Any("entities") is not JsonArray items)
                throw new BadRequestException(body.Json.ContainsKey("entities") ? $"entities must be an array, not {RequestReading.Kind(body.Json["entities"])}" : "entities is required (an array of Cedar JSON entities)");
            if (items.Count > EntityLimits.MaxEntities) throw new BadRequestException($"entities has more than {EntityLimits.MaxEntities} items");
            var documents = new List<EntityDocument>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is not JsonObject item) throw new BadRequestException($"entities[{i}] must be an object, not {RequestReading.Kind(items[i])}");
                try { documents.Add(EntityJson.FromNode(item, $"entities[{i}]")); }
                catch (FormatException ex) { throw new BadRequestException(ex.Message); }
            }
            var caller = access.CallerOf(context);
            var result = await grains.GetGrain<IEntityStoreGrain>(0).Import(new EntityImportRequest
            {
                Mode = mode, Entities = documents, Actor = caller.Subject, ActorIssuer = caller.Issuer,
            });
            return result.IsSuccess ? Results.Ok(EntityImportDto.From(result.Value!)) : Problems.FromCommand(result);
        }).RequirePermission(Permissions.EntitiesWrite).WithName("ImportEntities").Accepts<EntityImportRequestDto>("application/json")
            .Produces<EntityImportDto>(StatusCodes.Status200OK).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);

        entities.MapGet("", async (HttpContext context, IGrainFactory grains) =>
        {
            var (limit, continuation) = Paging.Read(context.Request.Query, EntityLimits.DefaultPageSize, EntityLimits.MaxPageSize);
            string? type = null;
            if (context.Request.Query.TryGetValue("type", out var types))
            {
                if (types.Count != 1 || string.IsNullOrEmpty(types[0])) throw new BadRequestException("type must be given once, as a Cedar entity type");
                type = CheckType(types[0]!);
            }
            var result = await grains.GetGrain<IEntityStoreGrain>(0).List(type, limit, continuation);
            return result.IsSuccess
                ? Results.Ok(new EntityPageDto([.. result.Value!.Entities.Select(EntityDto.From)], result.Value.Continuation, result.Value.Version))
                : Problems.FromCommand(result);
        }).RequirePermission(Permissions.EntitiesRead).WithName("ListEntities")
            .Produces<EntityPageDto>(StatusCodes.Status200OK).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);

        entities.MapGet("/{type}/{id}", async (string type, string id, IGrainFactory grains) =>
        {
            var uid = Uid(type, id);
            return await grains.GetGrain<IEntityStoreGrain>(0).Get(uid) is { } found
                ? Results.Ok(EntityDto.From(found))
                : Problems.NotFound($"entity {uid} not found");
        }).RequirePermission(Permissions.EntitiesRead).WithName("GetEntity")
            .Produces<EntityDto>(StatusCodes.Status200OK).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);

        entities.MapDelete("/{type}/{id}", async (string type, string id, HttpContext context, IGrainFactory grains, CallerAccess access) =>
        {
            var uid = Uid(type, id);
            var caller = access.CallerOf(context);
            var result = await grains.GetGrain<IEntityStoreGrain>(0).Delete(uid, caller.Subject, caller.Issuer);
            return result.IsSuccess ? Results.Ok(new EntityDeletedDto(EntityUidDto.From(uid), result.Value)) : Problems.FromCommand(result);
        }).RequirePermission(Permissions.EntitiesWrite).WithName("DeleteEntity")
            .Produces<EntityDeletedDto>(StatusCodes.Status200OK).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static string CheckType(string type)
    {
        try { return EntityJson.CheckKey(EntityKey.Of(type, "x"), "type").Type; }
        catch (FormatException ex) { throw new BadRequestException(ex.Message); }
    }

    private static EntityKey Uid(string type, string id)
    {
        try { return EntityJson.CheckKey(EntityKey.Of(type, id), "entity"); }
        catch (FormatException ex) { throw new BadRequestException(ex.Message); }
    }
}

public sealed record EntityUidDto(string Type, string Id)
{
    public static EntityUidDto From(EntityKey key) => new(key.Type, key.Id);
}

/// <summary>An entity in Cedar's JSON entity format.</summary>
public sealed record EntityDto(EntityUidDto Uid, JsonObject Attrs, IReadOnlyList<EntityUidDto> Parents)
{
    public static EntityDto From(EntityDocument document) =>
        new(EntityUidDto.From(document.Uid), JsonNode.Parse(document.AttrsJson) as JsonObject ?? [], [.. document.Parents.Select(EntityUidDto.From)]);
}

/// <summary><c>POST /v1/entities</c>: <c>mode</c> merge (default) or replace, and the entities.</summary>
public sealed record EntityImportRequestDto(string? Mode, IReadOnlyList<EntityDto> Entities);

public sealed record EntityImportDto(long Version, int Imported, int Removed, int Total)
{
    public static EntityImportDto From(EntityImportResult result) => new(result.Version, result.Imported, result.Removed, result.Total);
}

/// <summary>A page of <c>GET /v1/entities</c>; <c>continuation</c> is absent on the last page.</summary>
public sealed record EntityPageDto(IReadOnlyList<EntityDto> Entities, string? Continuation, long Version);

public sealed record EntityDeletedDto(EntityUidDto Uid, long Version);
