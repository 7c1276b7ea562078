using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Sessions;

/// <summary>What the session index knows about one session: the columns search filters on and returns.</summary>
public sealed record SessionIndexEntry
{
    public string SessionId { get; init; } = "";
    public string AgentId { get; init; } = "";
    public string Fleet { get; init; } = "";
    /// <summary>The status the session grain last wrote; see <see cref="StatusAt"/> for the status at a given time.</summary>
    public SessionStatus Status { get; init; }
    public DateTimeOffset OpenedAt { get; init; }
    public DateTimeOffset LastActivityAt { get; init; }
    /// <summary>The earlier of the lifetime's end and the idle deadline: an open session is expired from then on, written or not.</summary>
    public DateTimeOffset UsableUntil { get; init; }
    public long CumulativeRisk { get; init; }
    public long Decisions { get; init; }
    public long Denies { get; init; }
    /// <summary>The policy version of the session's most recent decision (0: none yet).</summary>
    public long LastPolicyVersion { get; init; }

    public static SessionIndexEntry Of(SessionInfo session, string fleet) => new()
    {
        SessionId = session.Id, AgentId = session.AgentId, Fleet = fleet, Status = session.Status,
        OpenedAt = session.OpenedAt, LastActivityAt = session.LastActivityAt,
        UsableUntil = Min(session.ExpiresAt, session.LastActivityAt + session.IdleTimeout),
        CumulativeRisk = session.CumulativeRisk, Decisions = session.DecisionCount, Denies = session.DenyCount,
        LastPolicyVersion = session.LastPolicyVersion,
    };

    /// <summary>An open session past <see cref="UsableUntil"/> is expired even if no decision has said so yet.</summary>
    public SessionStatus StatusAt(DateTimeOffset now) =>
        Status == SessionStatus.Open && now >= UsableUntil ? SessionStatus.Expired : Status;

    /// <summary>
    /// Whether the index must hear of this change at once: the session is new to it, its status
    /// changed, or it has its first deny. Everything else may wait for the next paced write.
    /// </summary>
    public bool IsUrgentChangeFrom(SessionIndexEntry? indexed) =>
        indexed is null || Status != indexed.Status || (Denies > 0 && indexed.Denies == 0);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a <= b ? a : b;
}

/// <summary>A search over the session index: the shared filters, a status filter and paging.</summary>
public sealed record SessionSearchQuery : SessionSearchFilters
{
    public SessionStatus? Status { get; init; }
    public int Limit { get; init; } = SessionIndex.DefaultPageSize;
    public string? Continuation { get; init; }
}

/// <summary>One page of a search, newest activity first; <see cref="Continuation"/> is null on the last page.</summary>
public sealed record SessionSearchPage(IReadOnlyList<SessionIndexEntry> Items, string? Continuation);
