using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Approvals;

/// <summary>Persisted state of <see cref="ApprovalDirectoryGrain"/>.</summary>
public sealed record ApprovalDirectoryState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    /// <summary>Oldest first, at most <see cref="ApprovalDirectoryGrain.MaxEntries"/>.</summary>
    public IReadOnlyList<ApprovalSummary> Entries { get; init; } = [];
}

/// <summary>
/// What approvers browse: the most recent requests across sessions. Only a listing: each request
/// is owned (and decided) by its session grain, which the approval id names.
/// </summary>
public sealed class ApprovalDirectoryGrain(
    [PersistentState("approvalDirectory", AuthzStorage.ProviderName)] IPersistentState<ApprovalDirectoryState> state,
    Telemetry.AuthzMetrics metrics) : Grain, IApprovalDirectoryGrain
{
    /// <summary>~400 bytes each: well below Azure Table's 1 MiB row.</summary>
    public const int MaxEntries = 1000;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        metrics.PendingApprovals(state.State.Entries);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // The activation elsewhere reports them now.
        metrics.PendingApprovals([]);
        return Task.CompletedTask;
    }

    public async Task Upsert(ApprovalSummary summary)
    {
        var entries = state.State.Entries.Where(e => e.Id != summary.Id).ToList();
        var previous = state.State.Entries.FirstOrDefault(e => e.Id == summary.Id);
        if (previous is not null && previous.Status == summary.Status && previous.Approvals == summary.Approvals) return;
        entries.Add(summary);
        while (entries.Count > MaxEntries)
        {
            var closed = entries.FindIndex(e => e.Status is not (ApprovalStatus.Pending or ApprovalStatus.Approved));
            entries.RemoveAt(closed >= 0 ? closed : 0);
        }
        state.State = state.State with { Entries = entries };
        await state.WriteStateAsync();
        metrics.PendingApprovals(entries);
    }

    public Task<IReadOnlyList<ApprovalSummary>> List(ApprovalStatus? status, int limit) =>
        Task.FromResult<IReadOnlyList<ApprovalSummary>>(
            [.. state.State.Entries.Reverse().Where(e => status is null || e.Status == status).Take(Math.Clamp(limit, 1, MaxEntries))]);
}
