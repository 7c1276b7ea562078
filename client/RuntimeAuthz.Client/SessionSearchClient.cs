using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Client;

/// <summary>Filters of <c>GET /v1/sessions</c> (see <see cref="SessionSearchFilters"/>), a status filter and the page size.</summary>
public sealed record SessionSearch : SessionSearchFilters
{
    public SessionStatus? Status { get; init; }
    /// <summary>Page size, 1..500 (null: the service's default, 50).</summary>
    public int? Limit { get; init; }
}

/// <summary>One session as search finds it.</summary>
public sealed record SessionSummary(
    string SessionId,
    string AgentId,
    string Fleet,
    SessionStatus Status,
    DateTimeOffset OpenedAt,
    DateTimeOffset LastActivityAt,
    long CumulativeRisk,
    long Decisions,
    long Denies,
    long LastPolicyVersion)
{
    /// <summary>Fields the service sent that this SDK version does not know.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalProperties { get; init; }
}

/// <summary>A page of search results, newest activity first; <see cref="Continuation"/> is null on the last page.</summary>
public sealed record SessionSummaryPage(IReadOnlyList<SessionSummary> Items, string? Continuation);

public sealed partial class AuthzClient
{
    /// <summary><c>GET /v1/sessions?...</c>: one page of sessions matching <paramref name="search"/>; pass <see cref="SessionSummaryPage.Continuation"/> back for the next.</summary>
    public Task<SessionSummaryPage> SearchSessionsAsync(SessionSearch search, string? continuation = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(search);
        var query = new List<string>();
        void Add(string name, string? value)
        {
            if (value is not null) query.Add(name + "=" + Uri.EscapeDataString(value));
        }
        static string? Time(DateTimeOffset? at) => at?.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);
        Add("agent", search.AgentId);
        Add("fleet", search.Fleet);
        Add("status", search.Status?.ToString().ToLowerInvariant());
        Add("openedAfter", Time(search.OpenedAfter));
        Add("openedBefore", Time(search.OpenedBefore));
        Add("activeAfter", Time(search.ActiveAfter));
        Add("activeBefore", Time(search.ActiveBefore));
        Add("minRisk", search.MinRisk?.ToString(CultureInfo.InvariantCulture));
        Add("hasDenies", search.HasDenies is { } denies ? (denies ? "true" : "false") : null);
        Add("policyVersion", search.PolicyVersion?.ToString(CultureInfo.InvariantCulture));
        Add("limit", search.Limit?.ToString(CultureInfo.InvariantCulture));
        Add("continuation", continuation);
        return SendAsync<SessionSummaryPage>(HttpMethod.Get, query.Count == 0 ? "v1/sessions" : "v1/sessions?" + string.Join("&", query), null, cancellationToken);
    }

    /// <summary>Every session matching <paramref name="search"/>, page by page as they are enumerated (newest activity first).</summary>
    public async IAsyncEnumerable<SessionSummary> SearchAllSessionsAsync(SessionSearch search, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? continuation = null;
        do
        {
            var page = await SearchSessionsAsync(search, continuation, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items) yield return item;
            continuation = page.Continuation;
        }
        while (continuation is not null);
    }
}
