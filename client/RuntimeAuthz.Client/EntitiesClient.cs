using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Client;

/// <summary>An entity's uid in Cedar's JSON entity format.</summary>
public sealed record EntityUid(string Type, string Id)
{
    public override string ToString() => $"{Type}::\"{Id}\"";
}

/// <summary>An entity of the entity store in Cedar's JSON entity format (<c>attrs</c> in Cedar's JSON value forms).</summary>
public sealed record StoredEntity(EntityUid Uid, JsonElement? Attrs = null, IReadOnlyList<EntityUid>? Parents = null);

/// <summary>Body of <c>POST /v1/entities</c>; <see cref="Mode"/> is <c>merge</c> (default: each entity replaces the stored one with its uid) or <c>replace</c> (the store becomes exactly these).</summary>
public sealed record ImportEntitiesRequest(IReadOnlyList<StoredEntity> Entities, string? Mode = null);

/// <summary>The store's version after an import, and what changed.</summary>
public sealed record EntityImportResult(long Version, int Imported, int Removed, int Total);

/// <summary>A page of <c>GET /v1/entities</c>; <see cref="Continuation"/> is null on the last page.</summary>
public sealed record EntityPage(IReadOnlyList<StoredEntity> Entities, string? Continuation, long Version);

public sealed record EntityDeleted(EntityUid Uid, long Version);

/// <summary>A subject or resource of an AuthZEN search: the searched one has no <c>id</c>.</summary>
public sealed record AuthZenSearchEntity(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("id")] string? Id = null,
    [property: JsonPropertyName("properties")] JsonElement? Properties = null);

/// <summary>The <c>page</c> of a search request: size and the previous answer's <c>next_token</c>.</summary>
public sealed record AuthZenPageRequest(
    [property: JsonPropertyName("limit")] int? Limit = null,
    [property: JsonPropertyName("token")] string? Token = null);

/// <summary>Body of <c>POST /access/v1/search/{subject|resource|action}</c> (an action search has no <c>action</c>).</summary>
public sealed record AuthZenSearchRequest(
    [property: JsonPropertyName("subject")] AuthZenSearchEntity Subject,
    [property: JsonPropertyName("resource")] AuthZenSearchEntity Resource,
    [property: JsonPropertyName("action")] AuthZenAction? Action = null,
    [property: JsonPropertyName("context")] JsonElement? Context = null,
    [property: JsonPropertyName("page")] AuthZenPageRequest? Page = null);

/// <summary>One search result: <c>type</c> and <c>id</c> (subjects, resources) or <c>name</c> (actions).</summary>
public sealed record AuthZenSearchResult(
    [property: JsonPropertyName("type")] string? Type = null,
    [property: JsonPropertyName("id")] string? Id = null,
    [property: JsonPropertyName("name")] string? Name = null);

/// <summary>The <c>page</c> of a search answer; an empty <see cref="NextToken"/> means the last page.</summary>
public sealed record AuthZenPageResponse(
    [property: JsonPropertyName("next_token")] string NextToken,
    [property: JsonPropertyName("count")] int? Count = null);

public sealed record AuthZenSearchResponse(
    [property: JsonPropertyName("results")] IReadOnlyList<AuthZenSearchResult> Results,
    [property: JsonPropertyName("page")] AuthZenPageResponse? Page = null);

public sealed partial class AuthzClient
{
    /// <summary><c>POST /v1/entities</c> (governance): imports entities, all checked before any is stored.</summary>
    public Task<EntityImportResult> ImportEntitiesAsync(ImportEntitiesRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<EntityImportResult>(HttpMethod.Post, "v1/entities", request, cancellationToken);

    /// <summary><c>GET /v1/entities?type=&amp;limit=&amp;continuation=</c>: one page in (type, id) order.</summary>
    public Task<EntityPage> ListEntitiesPageAsync(string? type = null, int? limit = null, string? continuation = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string>(3);
        if (type is not null) query.Add("type=" + Uri.EscapeDataString(type));
        if (limit is { } size) query.Add("limit=" + size.ToString(CultureInfo.InvariantCulture));
        if (continuation is not null) query.Add("continuation=" + Uri.EscapeDataString(continuation));
        return SendAsync<EntityPage>(HttpMethod.Get, query.Count == 0 ? "v1/entities" : "v1/entities?" + string.Join("&", query), null, cancellationToken);
    }

    /// <summary><c>GET /v1/entities/{type}/{id}</c>. 404 if unknown.</summary>
    public Task<StoredEntity> GetEntityAsync(string type, string id, CancellationToken cancellationToken = default) =>
        SendAsync<StoredEntity>(HttpMethod.Get, $"v1/entities/{Segment(type)}/{Segment(id)}", null, cancellationToken);

    /// <summary><c>DELETE /v1/entities/{type}/{id}</c>: the store's new version. 404 if unknown.</summary>
    public Task<EntityDeleted> DeleteEntityAsync(string type, string id, CancellationToken cancellationToken = default) =>
        SendAsync<EntityDeleted>(HttpMethod.Delete, $"v1/entities/{Segment(type)}/{Segment(id)}", null, cancellationToken);

    /// <summary><c>POST /access/v1/search/{kind}</c>, kind = <c>subject</c>, <c>resource</c> or <c>action</c>: one page of what the policy permits.</summary>
    public Task<AuthZenSearchResponse> SearchAsync(string kind, AuthZenSearchRequest request, string? requestId = null, CancellationToken cancellationToken = default)
    {
        if (kind is not ("subject" or "resource" or "action")) throw new ArgumentException("kind must be subject, resource or action", nameof(kind));
        return SendAsync<AuthZenSearchResponse>(HttpMethod.Post, $"access/v1/search/{kind}", request, cancellationToken, requestId);
    }
}
