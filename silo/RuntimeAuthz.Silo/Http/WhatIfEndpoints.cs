using System.Globalization;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Replay.PolicyTests;
using RuntimeAuthz.Replay.WhatIf;
using RuntimeAuthz.Silo.Security;

namespace RuntimeAuthz.Silo.Http;

/// <summary>The body of <c>POST /v1/policies/what-if</c>.</summary>
public sealed record WhatIfRequestDto(
    string Policies, string? Schema, object? Catalog, string? Since, string? Agent, string? Fleet, int? MaxDecisions, int? TimeoutSeconds);

/// <summary>
/// What-if over recorded traffic: the candidate texts re-decide the decisions in the evidence chains
/// (<see cref="WhatIfReplayer"/>), on the silo that takes the request, bounded in decisions and time and
/// cancelled with the request.
/// </summary>
public static class WhatIfEndpoints
{
    public const int DefaultTimeoutSeconds = 120;
    public const int MaxTimeoutSeconds = 600;

    public static void MapWhatIfEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/policies/what-if", async (HttpContext context, IGrainFactory grains, EvidenceRecorder evidence, AuthzClock clock, CancellationToken ct) =>
        {
            var body = new Fields(await RequestReading.ReadObjectAsync(context.Request, ct));
            var policies = body.String("policies", required: true, maxLength: PolicyGrain.MaxPolicyTextLength, allowEmpty: true)!;
            var schema = body.String("schema", maxLength: PolicyGrain.MaxPolicyTextLength, allowEmpty: true);
            var catalog = body.Object("catalog")?.ToJsonString();
            var options = new WhatIfOptions
            {
                Since = Since(body.String("since", maxLength: 64), clock.UtcNow),
                AgentId = body.String("agent"),
                Fleet = body.String("fleet"),
                MaxDecisions = (int)(body.Long("maxDecisions", min: 1, max: WhatIfOptions.MaxMaxDecisions) ?? WhatIfOptions.DefaultMaxDecisions),
            };
            var timeoutSeconds = (int)(body.Long("timeoutSeconds", min: 1, max: MaxTimeoutSeconds) ?? DefaultTimeoutSeconds);
            CompiledPolicy candidate;
            try
            {
                candidate = PolicySuiteRunner.Compile(policies, schema, catalog, source => source);
            }
            catch (PolicySuiteException ex)
            {
                throw new BadRequestException(ex.Message, errors: new[] { new { line = ex.Location.Line, column = ex.Location.Column, message = ex.Problem, source = ex.Location.File } });
            }
            if (!evidence.Enabled) return Problems.Create(StatusCodes.Status409Conflict, "evidence is off on this cluster (Evidence:Enabled=false): there is no recorded traffic");

            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bounded.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
            try
            {
                var sessions = await LoadSessionsAsync(grains, evidence.Store, options, bounded.Token);
                return Results.Ok(WhatIfReplayer.Run(candidate, sessions, options, bounded.Token));
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return Problems.Create(StatusCodes.Status503ServiceUnavailable,
                    $"what-if did not finish within {timeoutSeconds} seconds; narrow it (since, agent, fleet, maxDecisions) or allow more time (timeoutSeconds, at most {MaxTimeoutSeconds})");
            }
        })
        .RequirePermission(Permissions.PoliciesWhatIf)
        .WithName("PolicyWhatIf")
        .Accepts<WhatIfRequestDto>("application/json")
        .Produces<WhatIfReport>(StatusCodes.Status200OK)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status409Conflict)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary><c>since</c>: an ISO 8601 time, or a duration back from now (<c>90m</c>, <c>24h</c>, <c>7d</c>).</summary>
    private static DateTimeOffset? Since(string? text, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var unit = text[^1];
        if (unit is 's' or 'm' or 'h' or 'd' && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount) && amount <= 3650L * 86400)
        {
            return now - unit switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                _ => TimeSpan.FromDays(Math.Min(amount, 3650)),
            };
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : throw new BadRequestException($"since must be an ISO 8601 time or a duration such as 7d, 24h or 90m, not '{RequestReading.Shorten(text)}'");
    }

    /// <summary>
    /// The session chains of the evidence store with what replaying them needs beyond their records: the
    /// session's opening time (its <c>ageSeconds</c>) and its agent as it is now (attributes and grants).
    /// Reading stops once the chains read hold <see cref="WhatIfOptions.MaxDecisions"/> decisions.
    /// </summary>
    public static async Task<IReadOnlyList<RecordedSession>> LoadSessionsAsync(IGrainFactory grains, IEvidenceStore store, WhatIfOptions options, CancellationToken cancellationToken)
    {
        var agents = new Dictionary<string, AgentInfo?>(StringComparer.Ordinal);
        var sessions = new List<RecordedSession>();
        var decisions = 0;
        foreach (var chain in await store.ListChainsAsync(cancellationToken))
        {
            if (EvidenceChains.SessionOf(chain) is not { } sessionId) continue;
            var entries = await store.ReadChainAsync(chain, cancellationToken);
            var records = entries.Select(e => EvidenceSealer.ParseBody(e.Body)).ToList();
            if (records.FirstOrDefault(r => r.AgentId is not null)?.AgentId is not { } agentId) continue;
            if (options.AgentId is { } wanted && !string.Equals(agentId, wanted, StringComparison.Ordinal)) continue;
            if (options.Since is { } since && records.Count > 0 && Grains.Sessions.SessionLedger.ParseTime(records[^1].Time) < since) continue;
            if (!agents.TryGetValue(agentId, out var agent)) agents[agentId] = agent = await grains.GetGrain<IAgentGrain>(agentId).Get().WaitAsync(cancellationToken);
            if (options.Fleet is { } fleet && !string.Equals(agent?.Fleet, fleet, StringComparison.Ordinal)) continue;
            var session = await grains.GetGrain<IAgentSessionGrain>(sessionId).Get().WaitAsync(cancellationToken);
            // Loading the session settles a decision whose record was not confirmed in time (its caller was told Deny): a
            // record of Allow that landed after all is superseded now, after the read above, so the chain's tail is read again.
            if (entries.Count > 0)
                records.AddRange((await store.ReadRangeAsync(chain, entries[^1].Sequence, int.MaxValue, cancellationToken)).Select(e => EvidenceSealer.ParseBody(e.Body)));
            // Without its session row the opening time (and so ageSeconds) is unknown: not replayable, never guessed.
            sessions.Add(new RecordedSession(sessionId, session is null ? null : agent, session?.OpenedAt ?? default, records));
            decisions += records.Count(r => r.Kind == EvidenceKinds.Decision);
            if (decisions >= options.MaxDecisions) break;
        }
        return sessions;
    }
}
