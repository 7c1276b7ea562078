using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Governance;

/// <summary>Persisted state of <see cref="DelegatorIndexGrain"/>.</summary>
public sealed record DelegatorIndexState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public IReadOnlyList<IssuedGrant> Grants { get; init; } = [];
}

/// <summary>The grants a delegator issued (bounded row); written before the grant itself so none is missed by a cascade.</summary>
public sealed class DelegatorIndexGrain(
    [PersistentState("delegator", AuthzStorage.ProviderName)] IPersistentState<DelegatorIndexState> state) : Grain, IDelegatorIndexGrain
{
    public const int MaxEntries = 4000;

    public async Task<bool> Add(IssuedGrant grant)
    {
        if (state.State.Grants.Count >= MaxEntries) return false;
        state.State = state.State with { Grants = [.. state.State.Grants, grant] };
        await state.WriteStateAsync();
        return true;
    }

    public Task<IReadOnlyList<IssuedGrant>> List() => Task.FromResult(state.State.Grants);
}
