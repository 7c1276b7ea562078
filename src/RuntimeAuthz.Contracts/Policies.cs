using Orleans.Concurrency;

namespace RuntimeAuthz.Contracts;

[GenerateSerializer, Immutable, Alias("authz.PolicyPublishRequest")]
public sealed record PolicyPublishRequest
{
    [Id(0)] public string Policies { get; init; } = "";
    [Id(1)] public string? Schema { get; init; }
    /// <summary>The authenticated subject publishing (never a name the caller typed).</summary>
    [Id(2)] public string Author { get; init; } = "";
    [Id(3)] public string? Note { get; init; }
    /// <summary>The issuer of the author's token.</summary>
    [Id(4)] public string? AuthorIssuer { get; init; }
    /// <summary>JSON: the action catalog published with this version (null = none; every action then counts as irreversible).</summary>
    [Id(5)] public string? Catalog { get; init; }
    /// <summary>Publish as a shadow version: pushed to every silo and evaluated beside each decision, never deciding (see docs/policies-shadow.md).</summary>
    [Id(6)] public bool Shadow { get; init; }
}

/// <summary>One published policy version with its full texts.</summary>
[GenerateSerializer, Immutable, Alias("authz.PolicyVersionRecord")]
public sealed record PolicyVersionRecord
{
    [Id(0)] public long Version { get; init; }
    [Id(1)] public string Policies { get; init; } = "";
    [Id(2)] public string? Schema { get; init; }
    [Id(3)] public string Author { get; init; } = "";
    [Id(4)] public string? Note { get; init; }
    [Id(5)] public DateTimeOffset PublishedAt { get; init; }
    [Id(6)] public int PolicyCount { get; init; }
    [Id(7)] public long? RolledBackFrom { get; init; }
    [Id(8)] public string? AuthorIssuer { get; init; }
    /// <summary>JSON: the action catalog of this version.</summary>
    [Id(9)] public string? Catalog { get; init; }
    /// <summary>Published as a shadow version: it never decided (unless promoted, which publishes its texts as a new live version).</summary>
    [Id(10)] public bool Shadow { get; init; }
    /// <summary>The shadow version whose texts this live version published (promote).</summary>
    [Id(11)] public long? PromotedFrom { get; init; }

    public PolicyVersionSummary ToSummary() => new()
    {
        Version = Version, Author = Author, Note = Note, PublishedAt = PublishedAt,
        PolicyCount = PolicyCount, RolledBackFrom = RolledBackFrom, HasSchema = Schema is not null, Shadow = Shadow, PromotedFrom = PromotedFrom,
    };
}

/// <summary>A policy version without its texts.</summary>
[GenerateSerializer, Immutable, Alias("authz.PolicyVersionSummary")]
public sealed record PolicyVersionSummary
{
    [Id(0)] public long Version { get; init; }
    [Id(1)] public string Author { get; init; } = "";
    [Id(2)] public string? Note { get; init; }
    [Id(3)] public DateTimeOffset PublishedAt { get; init; }
    [Id(4)] public int PolicyCount { get; init; }
    [Id(5)] public long? RolledBackFrom { get; init; }
    [Id(6)] public bool HasSchema { get; init; }
    [Id(7)] public bool Shadow { get; init; }
    [Id(8)] public long? PromotedFrom { get; init; }
}

/// <summary>Receives publish notifications; one per silo (its policy cache).</summary>
[Alias("authz.IPolicyObserver")]
public interface IPolicyObserver : IGrainObserver
{
    [Alias("PolicyPublished"), OneWay] Task PolicyPublished(long version);
}

/// <summary>
/// The versioned rule set (singleton, key 0). It keeps summaries only; each version's texts
/// live in their own <see cref="IPolicyVersionGrain"/> so no storage row grows without bound.
/// Every publish (and rollback) creates a new, higher version, which becomes current.
/// </summary>
[Alias("authz.IPolicyGrain")]
public interface IPolicyGrain : IGrainWithIntegerKey
{
    /// <summary>Validates and publishes; Invalid with located issues when the text does not parse or validate.</summary>
    [Alias("Publish")] Task<CommandResult<PolicyVersionRecord>> Publish(PolicyPublishRequest request);

    /// <summary>Republishes an old version's texts as a new version.</summary>
    [Alias("Rollback")] Task<CommandResult<PolicyVersionRecord>> Rollback(long version, string author, string? note, string? authorIssuer = null);

    /// <summary>Publishes the current texts with a new action catalog as a new version (Invalid with located issues for a bad catalog).</summary>
    [Alias("PublishCatalog")] Task<CommandResult<PolicyVersionRecord>> PublishCatalog(string catalog, string author, string? note, string? authorIssuer = null);

    /// <summary>Summaries, newest first (the most recent versions; see PolicyLimits).</summary>
    [Alias("List")] Task<IReadOnlyList<PolicyVersionSummary>> List();

    [Alias("Get")] Task<PolicyVersionRecord?> Get(long version);

    [Alias("Current")] Task<PolicyVersionRecord?> Current();

    /// <summary>The current version number, 0 when nothing was published.</summary>
    [Alias("CurrentVersion")] Task<long> CurrentVersion();

    /// <summary>The shadow versions being evaluated beside every decision, lowest first.</summary>
    [Alias("ActiveShadows")] Task<IReadOnlyList<long>> ActiveShadows();

    /// <summary>Publishes an active shadow version's texts as a new live version (the normal publish path); NotFound / Conflict when it is not an active shadow.</summary>
    [Alias("PromoteShadow")] Task<CommandResult<PolicyVersionRecord>> PromoteShadow(long version, string author, string? note, string? authorIssuer = null);

    /// <summary>Stops evaluating an active shadow version (its report stays readable); NotFound / Conflict when it is not an active shadow.</summary>
    [Alias("DiscardShadow")] Task<CommandResult<PolicyVersionRecord>> DiscardShadow(long version, string author, string? note, string? authorIssuer = null);

    [Alias("Subscribe")] Task Subscribe(IPolicyObserver observer);

    [Alias("Unsubscribe")] Task Unsubscribe(IPolicyObserver observer);
}

/// <summary>The texts of one policy version; key = version number. Written once.</summary>
[Alias("authz.IPolicyVersionGrain")]
public interface IPolicyVersionGrain : IGrainWithIntegerKey
{
    /// <summary>Stores the record (written only by the policy grain, for a version it has not committed yet).</summary>
    [Alias("Store")] Task<CommandResult<PolicyVersionRecord>> Store(PolicyVersionRecord record);

    [Alias("Get")] Task<PolicyVersionRecord?> Get();
}
