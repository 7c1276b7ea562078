using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Shadow;

/// <summary>Persisted state of <see cref="ShadowReportGrain"/> (one Azure Table row per version).</summary>
public sealed record ShadowReportState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public long Evaluated { get; init; }
    public long Failures { get; init; }
    public long Skipped { get; init; }
    public IReadOnlyList<ShadowDirection> Directions { get; init; } = [];
    /// <summary>The newest disagreements, oldest first (at most <see cref="ShadowReportGrain.MaxExamples"/>).</summary>
    public IReadOnlyList<ShadowDisagreement> Examples { get; init; } = [];
    public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>
/// The one writer of a version's report: every silo's batches are added here, so the counts are
/// exact; only the newest <see cref="MaxExamples"/> disagreements are kept.
/// </summary>
public sealed class ShadowReportGrain(
    [PersistentState("shadowReport", AuthzStorage.ProviderName)] IPersistentState<ShadowReportState> state,
    AuthzClock clock) : Grain, IShadowReportGrain
{
    /// <summary>Examples kept per version; each is at most a few hundred bytes, well inside one table row.</summary>
    public const int MaxExamples = 100;
    /// <summary>Policy ids kept per side of an example.</summary>
    public const int MaxPoliciesPerExample = 16;

    public async Task Add(ShadowBatch batch)
    {
        var directions = state.State.Directions.ToDictionary(d => (d.Live, d.Shadow), d => d.Count);
        foreach (var d in batch.Directions) directions[(d.Live, d.Shadow)] = directions.GetValueOrDefault((d.Live, d.Shadow)) + d.Count;
        state.State = state.State with
        {
            Evaluated = state.State.Evaluated + batch.Evaluated,
            Failures = state.State.Failures + batch.Failures,
            Skipped = state.State.Skipped + batch.Skipped,
            Directions = [.. directions.OrderBy(d => d.Key.Live).ThenBy(d => d.Key.Shadow).Select(d => new ShadowDirection { Live = d.Key.Live, Shadow = d.Key.Shadow, Count = d.Value })],
            Examples = [.. state.State.Examples.Concat(batch.Examples.Select(Bounded)).OrderBy(e => e.At).TakeLast(MaxExamples)],
            UpdatedAt = clock.UtcNow,
        };
        await state.WriteStateAsync();
    }

    public Task<ShadowReport> Get() => Task.FromResult(new ShadowReport
    {
        Version = this.GetPrimaryKeyLong(), Evaluated = state.State.Evaluated, Failures = state.State.Failures, Skipped = state.State.Skipped,
        Disagreements = state.State.Directions.Sum(d => d.Count), Directions = state.State.Directions,
        Examples = [.. state.State.Examples.Reverse()], UpdatedAt = state.State.UpdatedAt,
    });

    private static ShadowDisagreement Bounded(ShadowDisagreement e) => e with
    {
        Action = Cut(e.Action), Resource = Cut(e.Resource), AgentId = Cut(e.AgentId), SessionId = Cut(e.SessionId),
        LivePolicies = [.. e.LivePolicies.Take(MaxPoliciesPerExample).Select(Cut)], ShadowPolicies = [.. e.ShadowPolicies.Take(MaxPoliciesPerExample).Select(Cut)],
    };

    private static string Cut(string text) => text.Length <= 200 ? text : text[..200];
}
