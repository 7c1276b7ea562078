using System.Text.Json;

namespace RuntimeAuthz.Client;

/// <summary><c>GET /v1/catalog</c>: the current version's action catalog and every action it knows as policies see it (<c>context.action</c>).</summary>
public sealed record ActionCatalogView(long PolicyVersion, JsonElement? Catalog, IReadOnlyList<JsonElement> Actions, string UnknownActions);

/// <summary>Body of <c>POST /v1/catalog</c>: a new catalog published with the current policy texts.</summary>
public sealed record PublishCatalogRequest(JsonElement Catalog, string? Note = null);

public sealed partial class AuthzClient
{
    public Task<ActionCatalogView> GetCatalogAsync(CancellationToken cancellationToken = default) =>
        SendAsync<ActionCatalogView>(HttpMethod.Get, "v1/catalog", null, cancellationToken);

    public Task<ActionCatalogView> PublishCatalogAsync(PublishCatalogRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<ActionCatalogView>(HttpMethod.Post, "v1/catalog", request, cancellationToken);
}
