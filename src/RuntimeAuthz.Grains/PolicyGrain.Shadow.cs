using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains;

/// <summary>
/// Shadow versions: numbered from the same sequence as live ones and pushed to every silo the same
/// way, but never current. Promote publishes the texts again as a new live version (validated and
/// recorded like any publish); discard only stops the evaluation.
/// </summary>
public sealed partial class PolicyGrain
{
    /// <summary>Shadow versions evaluated at once; each costs every decision one more (off-answer) evaluation.</summary>
    public const int MaxActiveShadows = 4;

    public Task<IReadOnlyList<long>> ActiveShadows() => Task.FromResult(state.State.ActiveShadows);

    private async Task<CommandResult<PolicyVersionRecord>> CommitShadow(PolicyPublishRequest request, int policyCount)
    {
        if (state.State.ActiveShadows.Count >= MaxActiveShadows)
            return CommandResult<PolicyVersionRecord>.Fail(CommandError.Conflict,
                $"{MaxActiveShadows} shadow versions are active already ({string.Join(", ", state.State.ActiveShadows)}): promote or discard one first");
        var version = LastVersion + 1;
        var record = new PolicyVersionRecord
        {
            Version = version, Policies = request.Policies, Schema = request.Schema, Catalog = request.Catalog, Author = request.Author,
            AuthorIssuer = request.AuthorIssuer, Note = request.Note, PublishedAt = clock.UtcNow, PolicyCount = policyCount, Shadow = true,
        };
        await GrainFactory.GetGrain<IPolicyVersionGrain>(version).Store(record);
        state.State = state.State with
        {
            LastVersion = version,
            Summaries = state.State.Summaries.Append(record.ToSummary()).TakeLast(MaxSummaries).ToArray(),
            ActiveShadows = [.. state.State.ActiveShadows, version],
        };
        await state.WriteStateAsync();
        logger.LogInformation("Shadow policy version {Version} published by {Author} ({PolicyCount} policies)", version, request.Author, policyCount);
        await observers.Notify(o => o.PolicyPublished(version));
        await RecordPublishEvidence(record);
        return CommandResult<PolicyVersionRecord>.Ok(record);
    }

    public async Task<CommandResult<PolicyVersionRecord>> PromoteShadow(long version, string author, string? note, string? authorIssuer = null)
    {
        if (await ActiveShadowRecord(version, "promoted") is { Error: not CommandError.None } refused) return refused;
        var shadow = (await Get(version))!;
        // The normal publish path: the texts are checked again, and the new version is current on every silo like any publish.
        var published = await Publish(new PolicyPublishRequest
        {
            Policies = shadow.Policies, Schema = shadow.Schema, Catalog = shadow.Catalog, Author = author, AuthorIssuer = authorIssuer,
            Note = note ?? $"promoted from shadow version {version}",
        }, promotedFrom: version);
        if (published.IsSuccess)
            logger.LogInformation("Shadow policy version {Shadow} promoted by {Author} as live version {Version}", version, author, published.Value!.Version);
        return published;
    }

    public async Task<CommandResult<PolicyVersionRecord>> DiscardShadow(long version, string author, string? note, string? authorIssuer = null)
    {
        if (await ActiveShadowRecord(version, "discarded") is { Error: not CommandError.None } refused) return refused;
        var shadow = (await Get(version))!;
        state.State = state.State with { ActiveShadows = [.. state.State.ActiveShadows.Where(v => v != version)] };
        await state.WriteStateAsync();
        logger.LogInformation("Shadow policy version {Version} discarded by {Author}", version, author);
        await observers.Notify(o => o.PolicyPublished(state.State.CurrentVersion));
        await RecordShadowDiscardEvidence(version, author, authorIssuer, note);
        return CommandResult<PolicyVersionRecord>.Ok(shadow);
    }

    /// <summary>Refusal unless <paramref name="version"/> is an active shadow version (Ok with no value when it is).</summary>
    private async Task<CommandResult<PolicyVersionRecord>?> ActiveShadowRecord(long version, string verb)
    {
        if (state.State.ActiveShadows.Contains(version)) return null;
        return await Get(version) switch
        {
            null => CommandResult<PolicyVersionRecord>.Fail(CommandError.NotFound, $"policy version {version} not found"),
            { Shadow: false } => CommandResult<PolicyVersionRecord>.Fail(CommandError.Conflict, $"policy version {version} is not a shadow version: only an active shadow version can be {verb}"),
            _ => CommandResult<PolicyVersionRecord>.Fail(CommandError.Conflict, $"shadow version {version} is no longer active (promoted or discarded): only an active shadow version can be {verb}"),
        };
    }

    private async Task RecordShadowDiscardEvidence(long version, string author, string? authorIssuer, string? note)
    {
        try
        {
            var input = new System.Text.Json.Nodes.JsonObject { ["actorIssuer"] = authorIssuer, ["note"] = note };
            var recorded = await GrainFactory.GetGrain<IGovernanceEvidenceGrain>(0).Record(new GovernanceRecord
            {
                Kind = RuntimeAuthz.Evidence.EvidenceKinds.PolicyPublish, Action = "discard-shadow", Actor = author, At = clock.UtcNow,
                Resource = $"policy version {version}", PolicyVersion = state.State.CurrentVersion,
                Detail = $"shadow version {version} discarded (no longer evaluated)", InputJson = input.ToJsonString(),
            });
            if (!recorded) logger.LogError("Discard of shadow version {Version} has no evidence record", version);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Discard of shadow version {Version} has no evidence record", version);
        }
    }
}
