namespace RuntimeAuthz;

/// <summary>
/// The filters of a session search (<c>GET /v1/sessions</c>), one definition for the service's query and the SDK's request.
/// Every one is optional and they combine with "and"; time bounds are inclusive below (<c>...After</c>) and exclusive above
/// (<c>...Before</c>). The status filter and paging stand in each side's record (each has its own status type).
/// </summary>
public abstract record SessionSearchFilters
{
    public string? AgentId { get; init; }
    public string? Fleet { get; init; }
    public DateTimeOffset? OpenedAfter { get; init; }
    public DateTimeOffset? OpenedBefore { get; init; }
    public DateTimeOffset? ActiveAfter { get; init; }
    public DateTimeOffset? ActiveBefore { get; init; }
    public long? MinRisk { get; init; }
    public bool? HasDenies { get; init; }
    public long? PolicyVersion { get; init; }
}
