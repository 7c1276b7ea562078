using Orleans.Storage;

namespace RuntimeAuthz.Grains.Sessions;

/// <summary>
/// The session grain's snapshot row, through the same grain storage provider and state name as
/// <c>[PersistentState("session", ...)]</c> (so rows written either way are the same rows), but read
/// only when the grain first needs it instead of on every activation: a grain activated to open a
/// new session never reads it (the free slot of its open record says the session is new).
/// The ETag is kept as the storage returned it, so writes stay optimistic: a first write of a row
/// never read is an insert, and fails if a row exists.
/// </summary>
internal sealed class SessionSnapshotRow(IGrainStorage storage, GrainId grainId)
{
    public const string StateName = "session";
    private readonly GrainState<SessionState> row = new(new SessionState());
    private Task? firstRead;

    /// <summary>Whether the row was read by this activation (or written by it, or known not to exist).</summary>
    private bool isRead;

    public SessionState State
    {
        get => row.State ??= new SessionState();
        set => row.State = value;
    }

    public async Task ReadStateAsync()
    {
        await storage.ReadStateAsync(StateName, grainId, row);
        row.State ??= new SessionState();
        isRead = true;
    }

    /// <summary>
    /// Reads the row unless this activation already did; calls that interleave (read-only ones) share
    /// one read. Snapshot writes run only once the session is known, so none can race with it.
    /// </summary>
    public Task EnsureReadAsync()
    {
        if (isRead) return Task.CompletedTask;
        if (firstRead is null || firstRead.IsFaulted || firstRead.IsCanceled) firstRead = ReadStateAsync();
        return firstRead;
    }

    public async Task WriteStateAsync()
    {
        await storage.WriteStateAsync(StateName, grainId, row);
        isRead = true;
    }
}
