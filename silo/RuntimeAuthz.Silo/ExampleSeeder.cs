using System.Text.Json;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;

namespace RuntimeAuthz.Silo;

/// <summary>The shape of <c>examples/seed.json</c>.</summary>
public sealed record SeedFile(IReadOnlyList<SeedAgent> Agents);

public sealed record SeedAgent(string Id, string Name, string Owner, string Fleet, IReadOnlyDictionary<string, string>? Labels, IReadOnlyList<SeedDelegation>? Delegations);

public sealed record SeedDelegation(IReadOnlyList<string> Actions, IReadOnlyList<string> Resources, string GrantedBy, string? Purpose, int ValidForDays);

/// <summary>
/// With <c>Seed:Example=true</c>: publishes the example policy and schema if no policy version
/// exists, and registers the example agents (with their delegations) that do not exist yet.
/// Runs after the silo has started (it is registered after Orleans) and before the host
/// reports started, so a started host is a seeded host.
/// </summary>
public sealed class ExampleSeeder(
    IConfiguration configuration,
    IHostEnvironment environment,
    IGrainFactory grains,
    AuthzClock clock,
    ILogger<ExampleSeeder> logger) : IHostedService
{
    public const string PoliciesFile = "policies.cedar";
    public const string SchemaFile = "schema.cedarschema";
    /// <summary>The action catalog beside the policy (optional), published with it.</summary>
    public const string CatalogFile = "catalog.json";
    public const string SeedFileName = "seed.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { ReadCommentHandling = JsonCommentHandling.Skip };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!configuration.GetValue<bool>("Seed:Example")) return;
        var directory = FindDirectory(configuration["Seed:Directory"], environment.ContentRootPath);
        logger.LogInformation("Seeding the example from {Directory}", directory);

        var policyGrain = grains.GetGrain<IPolicyGrain>(0);
        if (await policyGrain.CurrentVersion() == 0)
        {
            var policies = await File.ReadAllTextAsync(Path.Combine(directory, PoliciesFile), cancellationToken);
            var schemaPath = Path.Combine(directory, SchemaFile);
            var schema = File.Exists(schemaPath) ? await File.ReadAllTextAsync(schemaPath, cancellationToken) : null;
            var catalogPath = Path.Combine(directory, CatalogFile);
            var catalog = File.Exists(catalogPath) ? await File.ReadAllTextAsync(catalogPath, cancellationToken) : null;
            var published = await policyGrain.Publish(new PolicyPublishRequest { Policies = policies, Schema = schema, Catalog = catalog, Author = "seed", Note = "example policy" });
            if (!published.IsSuccess)
                throw new InvalidOperationException($"The example policy in {directory} does not publish: {published.Message}");
            logger.LogInformation("Seeded policy version {Version}", published.Value!.Version);
        }

        var seed = JsonSerializer.Deserialize<SeedFile>(await File.ReadAllTextAsync(Path.Combine(directory, SeedFileName), cancellationToken), Json)
            ?? throw new InvalidOperationException($"{SeedFileName} in {directory} is empty");
        foreach (var agent in seed.Agents)
        {
            var grain = grains.GetGrain<IAgentGrain>(agent.Id);
            if (await grain.Get() is not null) continue;
            var registered = await grain.Register(new AgentRegistration
            {
                Name = agent.Name, Owner = agent.Owner, Fleet = agent.Fleet,
                Labels = agent.Labels ?? new Dictionary<string, string>(),
            });
            if (!registered.IsSuccess) throw new InvalidOperationException($"Seeding agent '{agent.Id}' failed: {registered.Message}");
            foreach (var delegation in agent.Delegations ?? [])
            {
                var granted = await grain.AddDelegation(new DelegationGrant
                {
                    Actions = delegation.Actions, Resources = delegation.Resources, GrantedBy = delegation.GrantedBy,
                    Purpose = delegation.Purpose, ExpiresAt = clock.UtcNow.AddDays(delegation.ValidForDays),
                });
                if (!granted.IsSuccess) throw new InvalidOperationException($"Seeding a delegation for '{agent.Id}' failed: {granted.Message}");
            }
            logger.LogInformation("Seeded agent {AgentId}", agent.Id);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Seed:Directory if set, else the first <c>examples</c> folder holding seed.json at or above the content root.</summary>
    private static string FindDirectory(string? configured, string contentRoot)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var full = Path.GetFullPath(configured, contentRoot);
            return File.Exists(Path.Combine(full, SeedFileName))
                ? full
                : throw new InvalidOperationException($"Seed:Directory '{full}' has no {SeedFileName}");
        }
        for (var dir = new DirectoryInfo(contentRoot); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "examples");
            if (File.Exists(Path.Combine(candidate, SeedFileName))) return candidate;
        }
        throw new InvalidOperationException($"Seed:Example is true but no examples/{SeedFileName} was found at or above {contentRoot}; set Seed:Directory");
    }
}
