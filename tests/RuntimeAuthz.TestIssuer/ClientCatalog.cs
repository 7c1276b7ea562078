using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.TestIssuer;

/// <summary>
/// One client the issuer accepts for the client-credentials grant, and the claims its tokens carry.
/// <see cref="Audience"/> and <see cref="TokenLifetimeSeconds"/> override the issuer-wide values (tests use them
/// for wrong-audience and short-lived tokens). <see cref="MayAct"/>: the agent clients that may exchange this client's
/// tokens for tokens acting on its behalf (RFC 8693); they become audiences of its tokens, as a user's token names the
/// agent application it was given to.
/// </summary>
public sealed record IssuerClient(
    string ClientId,
    string Secret,
    string? Subject,
    IReadOnlyList<string>? Roles,
    string? AgentId,
    IReadOnlyList<string>? AuthzAgents,
    string? Audience,
    int? TokenLifetimeSeconds,
    IReadOnlyList<string>? MayAct = null)
{
    /// <summary>The token subject: the configured one, or the client id.</summary>
    public string EffectiveSubject => Subject ?? ClientId;
}

/// <summary>The clients file: <c>{"clients": [{"client_id": "..", "secret": "..", "subject": "..", "roles": [..], "agent_id": "..", "authz_agents": [..], "may_act": [..]}]}</c>.</summary>
public sealed record ClientsFile(IReadOnlyList<IssuerClient>? Clients);

/// <summary>The registered clients, looked up by client id; secrets are compared in constant time.</summary>
public sealed class ClientCatalog
{
    private static readonly JsonSerializerOptions FileFormat = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    private readonly Dictionary<string, IssuerClient> clients;

    private ClientCatalog(Dictionary<string, IssuerClient> clients) => this.clients = clients;

    public static async Task<ClientCatalog> LoadAsync(string path, CancellationToken cancellation)
    {
        if (!File.Exists(path)) throw new IssuerSetupException($"clients file '{path}' does not exist");
        ClientsFile? file;
        try
        {
            await using var stream = File.OpenRead(path);
            file = await JsonSerializer.DeserializeAsync<ClientsFile>(stream, FileFormat, cancellation);
        }
        catch (JsonException e)
        {
            throw new IssuerSetupException($"clients file '{path}' is not valid: {e.Message}");
        }
        return Create(file?.Clients ?? throw new IssuerSetupException($"clients file '{path}' has no \"clients\" array"), path);
    }

    public static ClientCatalog Create(IReadOnlyList<IssuerClient> entries, string source)
    {
        var byId = new Dictionary<string, IssuerClient>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            var client = entries[i] ?? throw new IssuerSetupException($"{source}: clients[{i}] is null");
            string Where(string field) => $"{source}: clients[{i}].{field}";
            if (string.IsNullOrWhiteSpace(client.ClientId)) throw new IssuerSetupException($"{Where("client_id")} is required");
            if (string.IsNullOrEmpty(client.Secret)) throw new IssuerSetupException($"{Where("secret")} is required");
            if (client.Subject is { } subject && string.IsNullOrWhiteSpace(subject)) throw new IssuerSetupException($"{Where("subject")} must not be blank");
            if (client.Roles?.Any(string.IsNullOrWhiteSpace) == true) throw new IssuerSetupException($"{Where("roles")} has a blank role");
            if (client.AgentId is { } agent && string.IsNullOrWhiteSpace(agent)) throw new IssuerSetupException($"{Where("agent_id")} must not be blank");
            if (client.AuthzAgents?.Any(string.IsNullOrWhiteSpace) == true) throw new IssuerSetupException($"{Where("authz_agents")} has a blank agent id");
            if (client.Audience is { } audience && string.IsNullOrWhiteSpace(audience)) throw new IssuerSetupException($"{Where("audience")} must not be blank");
            if (client.MayAct?.Any(string.IsNullOrWhiteSpace) == true) throw new IssuerSetupException($"{Where("may_act")} has a blank client id");
            if (client.TokenLifetimeSeconds is < 1 or > 86400) throw new IssuerSetupException($"{Where("token_lifetime_seconds")} must be from 1 to 86400");
            if (!byId.TryAdd(client.ClientId, client)) throw new IssuerSetupException($"{Where("client_id")} '{client.ClientId}' is registered twice");
        }
        return new ClientCatalog(byId);
    }

    /// <summary>The client with this id and secret, or null when either does not match.</summary>
    public IssuerClient? Authenticate(string? clientId, string? secret)
    {
        if (clientId is null || secret is null || !clients.TryGetValue(clientId, out var client)) return null;
        // Hashing first gives equal-length inputs, so the comparison time says nothing about the secret.
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(client.Secret));
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        return CryptographicOperations.FixedTimeEquals(expected, given) ? client : null;
    }
}
