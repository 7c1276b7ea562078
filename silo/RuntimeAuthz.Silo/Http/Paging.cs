using System.Globalization;

namespace RuntimeAuthz.Silo.Http;

/// <summary>The <c>?limit=&amp;continuation=</c> query of paged listings.</summary>
public static class Paging
{
    public static (int Limit, string? Continuation) Read(IQueryCollection query, int defaultLimit, int maxLimit)
    {
        var limit = defaultLimit;
        if (query.TryGetValue("limit", out var limits))
        {
            if (limits.Count != 1 || !int.TryParse(limits[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > maxLimit)
                throw new BadRequestException($"limit must be one whole number between 1 and {maxLimit}, not '{RequestReading.Shorten(string.Join(",", limits.ToArray()))}'");
        }
        string? continuation = null;
        if (query.TryGetValue("continuation", out var continuations))
        {
            if (continuations.Count != 1 || string.IsNullOrEmpty(continuations[0]))
                throw new BadRequestException("continuation must be given once, as the value of a previous page's continuation");
            continuation = continuations[0];
        }
        return (limit, continuation);
    }
}

/// <summary>A page of <c>GET /v1/agents</c>; <c>continuation</c> is absent on the last page.</summary>
public sealed record AgentPageDto(IReadOnlyList<AgentDto> Agents, string? Continuation);
