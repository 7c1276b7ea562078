using System.Globalization;
using System.Text.Json.Serialization;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Sessions;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary><c>GET /v1/sessions</c>: finding sessions through the session index (docs/session-search.md).</summary>
public static class SessionSearchEndpoints
{
    private static readonly string[] Parameters =
        ["agent", "fleet", "status", "openedAfter", "openedBefore", "activeAfter", "activeBefore", "minRisk", "hasDenies", "policyVersion", "limit", "continuation"];
    private const int MaxFleetLength = 256;
    private static readonly DateTimeOffset EarliestTime = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset LatestTime = new(9999, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static void MapSessionSearchEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/sessions", async (HttpContext context, SessionIndex index, CallerAccess access, AuthzClock clock, CancellationToken ct) =>
        {
            var query = ReadQuery(context.Request.Query);
            if (await RefuseAgentBoundCallerAsync(context, access, query.AgentId) is { } refused) return refused;
            var page = await index.SearchAsync(query, clock.UtcNow, ct);
            return page.IsSuccess
                ? Results.Ok(new SessionSearchPageDto([.. page.Value!.Items.Select(SessionSummaryDto.From)], page.Value.Continuation))
                : Problems.FromCommand(page);
        })
        .RequirePermission(Permissions.SessionsSearch)
        .WithName("SearchSessions")
        .WithSummary("Sessions by agent, fleet, status, time range, risk, denies and policy version, newest activity first")
        .Produces<SessionSearchPageDto>(StatusCodes.Status200OK)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden);
    }

    /// <summary>Agents and enforcement points search only sessions of an agent they act for, and must name it.</summary>
    private static async Task<IResult?> RefuseAgentBoundCallerAsync(HttpContext context, CallerAccess access, string? agentId)
    {
        var caller = access.CallerOf(context);
        if (!Permissions.SessionsSearch.Roles.Where(caller.Has).All(Roles.IsAgentBound)) return null;
        if (agentId is not null) return await access.RefuseUnlessActsForAsync(context, Permissions.SessionsSearch, agentId);
        const string detail = "agent and enforcement-point tokens search only the sessions of an agent they act for: give agent=<id>";
        await access.RecordRefusalAsync(context, Permissions.SessionsSearch, detail);
        return Problems.Create(StatusCodes.Status403Forbidden, detail);
    }

    public static SessionSearchQuery ReadQuery(IQueryCollection query)
    {
        if (query.Keys.FirstOrDefault(k => !Parameters.Contains(k, StringComparer.Ordinal)) is { } unknown)
            throw new BadRequestException($"unknown query parameter '{RequestReading.Shorten(unknown)}'; known: {string.Join(", ", Parameters)}");
        var (limit, continuation) = Paging.Read(query, SessionIndex.DefaultPageSize, SessionIndex.MaxPageSize);
        var openedAfter = Time(query, "openedAfter");
        var openedBefore = Time(query, "openedBefore");
        var activeAfter = Time(query, "activeAfter");
        var activeBefore = Time(query, "activeBefore");
        if (openedAfter >= openedBefore) throw new BadRequestException("openedAfter must be earlier than openedBefore");
        if (activeAfter >= activeBefore) throw new BadRequestException("activeAfter must be earlier than activeBefore");
        return new SessionSearchQuery
        {
            AgentId = Single(query, "agent") is { } agent ? RequestReading.CheckId(agent, "agent") : null,
            Fleet = Single(query, "fleet") is { } fleet ? CheckFleet(fleet) : null,
            Status = Single(query, "status") is { } status ? StatusFrom(status) : null,
            OpenedAfter = openedAfter, OpenedBefore = openedBefore, ActiveAfter = activeAfter, ActiveBefore = activeBefore,
            MinRisk = Number(query, "minRisk"),
            HasDenies = Single(query, "hasDenies") switch
            {
                null => null,
                "true" => true,
                "false" => false,
                var other => throw new BadRequestException($"hasDenies must be true or false, not '{RequestReading.Shorten(other)}'"),
            },
            PolicyVersion = Number(query, "policyVersion"),
            Limit = limit, Continuation = continuation,
        };
    }

    private static string? Single(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var values)) return null;
        if (values.Count != 1 || string.IsNullOrEmpty(values[0]))
            throw new BadRequestException($"query parameter '{name}' must be given once, with a value");
        return values[0];
    }

    private static SessionStatus StatusFrom(string text)
    {
        foreach (var status in Enum.GetValues<SessionStatus>())
        {
            if (string.Equals(Words.Of(status), text, StringComparison.OrdinalIgnoreCase)) return status;
        }
        throw new BadRequestException($"status must be one of {string.Join(", ", Enum.GetValues<SessionStatus>().Select(Words.Of))}, not '{RequestReading.Shorten(text)}'");
    }

    private static string CheckFleet(string fleet) =>
        fleet.Length <= MaxFleetLength && !fleet.Any(char.IsControl) && !RequestReading.HasLoneSurrogate(fleet)
            ? fleet
            : throw new BadRequestException($"fleet must be 1-{MaxFleetLength} characters without control characters");

    private static DateTimeOffset? Time(IQueryCollection query, string name)
    {
        if (Single(query, name) is not { } text) return null;
        if (!RequestReading.TimeZoneSuffix().IsMatch(text)
            || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
            || at < EarliestTime || at > LatestTime)
            throw new BadRequestException($"{name} must be an ISO-8601 time with its offset between 1970 and 9999, e.g. 2030-01-01T08:00:00Z, not '{RequestReading.Shorten(text)}'");
        return at;
    }

    private static long? Number(IQueryCollection query, string name)
    {
        if (Single(query, name) is not { } text) return null;
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new BadRequestException($"{name} must be a whole number of 0 or more, not '{RequestReading.Shorten(text)}'");
    }
}

/// <summary>One session as search finds it; <c>status</c> is open, closed or expired (an open session past its lifetime or idle deadline is expired).</summary>
public sealed record SessionSummaryDto(
    string SessionId, string AgentId, string Fleet, string Status, DateTimeOffset OpenedAt, DateTimeOffset LastActivityAt,
    long CumulativeRisk, long Decisions, long Denies, long LastPolicyVersion)
{
    public static SessionSummaryDto From(SessionIndexEntry e) =>
        new(e.SessionId, e.AgentId, e.Fleet, Words.Of(e.Status), e.OpenedAt, e.LastActivityAt, e.CumulativeRisk, e.Decisions, e.Denies, e.LastPolicyVersion);
}

/// <summary>A page of <c>GET /v1/sessions</c>, newest activity first; <c>continuation</c> is null on the last page.</summary>
public sealed record SessionSearchPageDto(
    IReadOnlyList<SessionSummaryDto> Items,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Continuation);
