using Microsoft.Extensions.Logging;
using Orleans.Utilities;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains;

/// <summary>Persisted state of <see cref="PolicyGrain"/>: summaries only, the texts live in version grains.</summary>
public sealed record PolicyState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public long CurrentVersion { get; init; }
    /// <summary>The most recent summaries, oldest first (at most <see cref="PolicyGrain.MaxSummaries"/>).</summary>
    public IReadOnlyList<PolicyVersionSummary> Summaries { get; init; } = [];
    /// <summary>The highest version number given out, live or shadow (0 in state from before shadow versions: then it is <see cref="CurrentVersion"/>).</summary>
    public long LastVersion { get; init; }
    /// <summary>Shadow versions evaluated beside every decision, lowest first.</summary>
    public IReadOnlyList<long> ActiveShadows { get; init; } = [];
}

public sealed partial class PolicyGrain(
    [PersistentState("policy", AuthzStorage.ProviderName)] IPersistentState<PolicyState> state,
    AuthzClock clock,
    ILogger<PolicyGrain> logger) : Grain, IPolicyGrain
{
    /// <summary>Summaries kept in the row (~300 bytes each); older versions stay readable by number.</summary>
    public const int MaxSummaries = 1000;
    public const int MaxPolicyTextLength = 256 * 1024;
    /// <summary>Upper bound for one version's stored row (texts as escaped JSON), below Azure's 1 MiB entity limit.</summary>
    public const int MaxVersionRecordBytes = 768 * 1024;

    /// <summary>Silo caches re-subscribe well within this period.</summary>
    public static readonly TimeSpan ObserverExpiration = TimeSpan.FromMinutes(2);

    private readonly ObserverManager<IPolicyObserver> observers = new(ObserverExpiration, logger);

    public Task<CommandResult<PolicyVersionRecord>> Publish(PolicyPublishRequest request) => Publish(request, promotedFrom: null);

    private async Task<CommandResult<PolicyVersionRecord>> Publish(PolicyPublishRequest request, long? promotedFrom)
    {
        if (string.IsNullOrWhiteSpace(request.Author))
            return CommandResult<PolicyVersionRecord>.Fail(CommandError.Invalid, "author must not be empty");
        if (request.Policies.Length > MaxPolicyTextLength || request.Schema?.Length > MaxPolicyTextLength || request.Catalog?.Length > MaxPolicyTextLength)
            return CommandResult<PolicyVersionRecord>.Fail(CommandError.Invalid, $"policy and schema texts are limited to {MaxPolicyTextLength} characters each");
        var storedBytes = 512 + JsonSize.EscapedUtf8Bytes(request.Policies) + JsonSize.EscapedUtf8Bytes(request.Schema)
            + JsonSize.EscapedUtf8Bytes(request.Author) + JsonSize.EscapedUtf8Bytes(request.Note) + JsonSize.EscapedUtf8Bytes(request.Catalog);
        if (storedBytes > MaxVersionRecordBytes)
            return CommandResult<PolicyVersionRecord>.Fail(CommandError.Invalid,
                $"policy and schema are too large to store: up to {storedBytes} bytes as JSON, at most {MaxVersionRecordBytes} (Azure Table rows are limited to 1 MiB)");

        IReadOnlyList<SourceIssue> issues;
        int policyCount;
        try
        {
            issues = CompiledPolicy.Check(request.Policies, request.Schema, out policyCount);
            if (issues.Count == 0 && request.Catalog is not null) issues = Catalog.ActionCatalog.Parse(request.Catalog).Issues;
        }
        catch (Exception ex)
        {
            // A checker defect must not turn into an unexplained failure of the publish call.
            logger.LogError(ex, "Policy check failed unexpectedly");
            return CommandResult<PolicyVersionRecord>.Fail(CommandError.Invalid, $"the policy could not be checked: {ex.Message}");
        }
        if (issues.Count > 0)
        {
            var first = issues[0];
            return CommandResult<PolicyVersionRecord>.Fail(CommandError.Invalid,
                $"{first.Source}:{first.Line}:{first.Column}: {first.Message}" + (issues.Count > 1 ? $" (and {issues.Count - 1} more)" : ""),
                issues);
        }
        if (request.Shadow)
            return await CommitShadow(request, policyCount);
        return CommandResult<PolicyVersionRecord>.Ok(await Commit(request.Policies, request.Schema, request.Catalog, (request.Author, request.AuthorIssuer), request.Note, policyCount, rolledBackFrom: null, promotedFrom));
    }

    public async Task<CommandResult<PolicyVersionRecord>> Rollback(long version, string author, string? note, string? authorIssuer = null)
    {
        if (string.IsNullOrWhiteSpace(author))
            return CommandResult<PolicyVersionRecord>.Fail(CommandError.Invalid, "author must not be empty");
        var old = await Get(version);
        if (old is null)
            return CommandResult<PolicyVersionRecord>.Fail(CommandError.NotFound, $"policy version {version} not found");
        if (old.Shadow)
            return CommandResult<PolicyVersionRecord>.Fail(CommandError.Conflict, $"policy version {version} is a shadow version and never decided: promote it instead");
        var record = await Commit(old.Policies, old.Schema, old.Catalog, (author, authorIssuer), note ?? $"rollback to version {version}", old.PolicyCount, rolledBackFrom: version);
        return CommandResult<PolicyVersionRecord>.Ok(record);
    }

    public async Task<CommandResult<PolicyVersionRecord>> PublishCatalog(string catalog, string author, string? note, string? authorIssuer = null)
    {
        if (await Current() is not { } current)
            return CommandResult<PolicyVersionRecord>.Fail(CommandError.Conflict, "no policy is published yet: publish a policy (with its catalog) first");
        return await Publish(new PolicyPublishRequest
        {
            Policies = current.Policies, Schema = current.Schema, Catalog = catalog, Author = author, AuthorIssuer = authorIssuer,
            Note = note ?? $"action catalog for the texts of version {current.Version}",
        });
    }

    public Task<IReadOnlyList<PolicyVersionSummary>> List() =>
        Task.FromResult<IReadOnlyList<PolicyVersionSummary>>(state.State.Summaries.Reverse().ToArray());

    public async Task<PolicyVersionRecord?> Get(long version) =>
        version >= 1 && version <= LastVersion
            ? await GrainFactory.GetGrain<IPolicyVersionGrain>(version).Get()
            : null;

    public Task<PolicyVersionRecord?> Current() => Get(state.State.CurrentVersion);

    public Task<long> CurrentVersion() => Task.FromResult(state.State.CurrentVersion);

    public Task Subscribe(IPolicyObserver observer)
    {
        observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    public Task Unsubscribe(IPolicyObserver observer)
    {
        observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    /// <summary>The highest version number given out so far (live or shadow).</summary>
    private long LastVersion => Math.Max(state.State.CurrentVersion, state.State.LastVersion);

    private async Task<PolicyVersionRecord> Commit(string policies, string? schema, string? catalog, (string Subject, string? Issuer) author, string? note, int policyCount, long? rolledBackFrom, long? promotedFrom = null)
    {
        var version = LastVersion + 1;
        var record = new PolicyVersionRecord
        {
            Version = version, Policies = policies, Schema = schema, Catalog = catalog, Author = author.Subject, AuthorIssuer = author.Issuer, Note = note,
            PublishedAt = clock.UtcNow, PolicyCount = policyCount, RolledBackFrom = rolledBackFrom, PromotedFrom = promotedFrom,
        };
        // Texts first: a version number only becomes current once its texts are durable.
        await GrainFactory.GetGrain<IPolicyVersionGrain>(version).Store(record);
        var summaries = state.State.Summaries.Append(record.ToSummary()).TakeLast(MaxSummaries).ToArray();
        state.State = state.State with
        {
            CurrentVersion = version, LastVersion = version, Summaries = summaries,
            ActiveShadows = [.. state.State.ActiveShadows.Where(v => v != promotedFrom)],
        };
        await state.WriteStateAsync();
        logger.LogInformation("Policy version {Version} published by {Author} ({PolicyCount} policies, rolled back from {RolledBackFrom})",
            version, author.Subject, policyCount, rolledBackFrom);
        await observers.Notify(o => o.PolicyPublished(version));
        await RecordPublishEvidence(record);
        return record;
    }
}

public sealed partial class PolicyGrain
{
    /// <summary>Governance evidence of a publish or rollback: digest over the texts, who, which version. The publish stands either way.</summary>
    private async Task RecordPublishEvidence(PolicyVersionRecord record)
    {
        try
        {
            var input = new System.Text.Json.Nodes.JsonObject
            {
                // The actor's issuer first: a long policy text is cut in the stored copy, not the issuer.
                ["actorIssuer"] = record.AuthorIssuer, ["policies"] = record.Policies, ["schema"] = record.Schema, ["catalog"] = record.Catalog, ["note"] = record.Note,
            };
            var recorded = await GrainFactory.GetGrain<IGovernanceEvidenceGrain>(0).Record(new GovernanceRecord
            {
                Kind = record.RolledBackFrom is null ? RuntimeAuthz.Evidence.EvidenceKinds.PolicyPublish : RuntimeAuthz.Evidence.EvidenceKinds.PolicyRollback,
                Action = record switch { { RolledBackFrom: not null } => "rollback", { Shadow: true } => "publish-shadow", { PromotedFrom: not null } => "promote", _ => "publish" },
                Actor = record.Author, At = record.PublishedAt,
                Resource = $"policy version {record.Version}", PolicyVersion = record.Version,
                Detail = record switch
                {
                    { RolledBackFrom: { } from } => $"rolled back to the texts of version {from}",
                    { Shadow: true } => $"{record.PolicyCount} policies, as a shadow version (evaluated, never enforced)",
                    { PromotedFrom: { } shadow } => $"{record.PolicyCount} policies, promoted from shadow version {shadow}",
                    _ => $"{record.PolicyCount} policies",
                },
                InputJson = input.ToJsonString(),
            });
            if (!recorded) logger.LogError("Policy version {Version} has no evidence record", record.Version);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Policy version {Version} has no evidence record", record.Version);
        }
    }
}

/// <summary>Persisted state of <see cref="PolicyVersionGrain"/>.</summary>
public sealed record PolicyVersionState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public PolicyVersionRecord? Record { get; init; }
}

/// <summary>
/// The texts of one version. Only <see cref="PolicyGrain"/> writes here, and only for a version
/// number it has not committed yet, so a retried publish may overwrite an uncommitted record.
/// </summary>
public sealed class PolicyVersionGrain(
    [PersistentState("policyVersion", AuthzStorage.ProviderName)] IPersistentState<PolicyVersionState> state) : Grain, IPolicyVersionGrain
{
    public async Task<CommandResult<PolicyVersionRecord>> Store(PolicyVersionRecord record)
    {
        if (record.Version != this.GetPrimaryKeyLong())
            return CommandResult<PolicyVersionRecord>.Fail(CommandError.Invalid, $"record version {record.Version} does not match grain {this.GetPrimaryKeyLong()}");
        state.State = state.State with { Record = record };
        await state.WriteStateAsync();
        return CommandResult<PolicyVersionRecord>.Ok(record);
    }

    public Task<PolicyVersionRecord?> Get() => Task.FromResult(state.State.Record);
}
