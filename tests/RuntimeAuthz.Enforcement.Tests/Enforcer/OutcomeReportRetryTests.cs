using System.Text.Json;
using RuntimeAuthz.Client;
using RuntimeAuthz.Enforcement.Tests.Infrastructure;

namespace RuntimeAuthz.Enforcement.Tests.Enforcer;

/// <summary>
/// The enforcer reports an allowed call's outcome to the real silo through a backend that loses or refuses chosen
/// reports the way a network or a busy cluster does. Answers that say "again later" are retried within the outcome
/// timeout; a retry of a report whose answer was lost is answered by the silo's own 409 of type
/// <see cref="ProblemTypes.OutcomeAlreadyReported"/>, which counts as recorded; anything else is not retried. The session's timeline says how many outcomes the silo holds.
/// </summary>
[Collection(EnforcementCollection.Name)]
public sealed class OutcomeReportRetryTests(EnforcementEnvironment environment)
{
    private static readonly GuardedCall Weather = new("get_weather", new ResourceRef("Tool", "get_weather"), JsonSerializer.SerializeToElement(new { city = "Oslo" }));

    private static AuthzApiException Problem(int status, string detail, string? type = null) => new(status, "refused", detail, type, [], requestId: null);

    private static AuthzUnavailableException NoConnection() => new(new Uri("http://127.0.0.1:1"), "connection refused", "the service could not be reached");

    [Fact]
    public async Task A_report_answered_503_twice_is_sent_again_and_recorded_once()
    {
        var (result, backend) = await EnforceAsync("enf-503", (attempt, send) => attempt <= 2 ? throw Problem(503, "the outcome could not be recorded; report again shortly") : send());

        Assert.True(result.OutcomeReported);
        Assert.Equal(3, backend.Reports);
        Assert.Equal(1, await OutcomesInSessionAsync(backend));
    }

    [Fact]
    public async Task A_report_whose_answer_was_lost_after_it_landed_counts_as_recorded_when_the_silo_says_already_reported()
    {
        // The first report reaches the silo; its answer is lost. The second is the silo's real 409.
        var (result, backend) = await EnforceAsync("enf-lost", async (attempt, send) =>
        {
            await send();
            if (attempt == 1) throw NoConnection();
        });

        Assert.True(result.OutcomeReported);
        Assert.Equal(2, backend.Reports);
        Assert.Equal(1, await OutcomesInSessionAsync(backend));
    }

    [Theory]
    [InlineData(400)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(409)]
    public async Task A_report_refused_for_good_is_not_sent_again_and_is_not_counted_as_recorded(int status)
    {
        var (result, backend) = await EnforceAsync($"enf-refused-{status}", (_, _) => throw Problem(status, status == 409 ? "the outcome of decision 'x' was already reported" : "refused"));

        Assert.True(result.IsForwarded);
        Assert.False(result.OutcomeReported);
        Assert.Equal(1, backend.Reports);
        Assert.Equal(0, await OutcomesInSessionAsync(backend));
    }

    [Fact]
    public async Task A_retry_answered_by_another_conflict_is_not_counted_as_recorded_even_when_its_text_says_already_reported()
    {
        // What counts is the problem type, not the wording: a 409 without the type is a refusal like any other.
        var (result, backend) = await EnforceAsync("enf-other-409", (attempt, _) =>
            throw (attempt == 1 ? Problem(503, "try again shortly") : Problem(409, "the outcome of decision 'x' was already reported")));

        Assert.False(result.OutcomeReported);
        Assert.Equal(2, backend.Reports);
        Assert.Equal(0, await OutcomesInSessionAsync(backend));
    }

    [Fact]
    public async Task A_retry_answered_already_reported_by_type_counts_as_recorded_without_reading_the_detail()
    {
        var (result, backend) = await EnforceAsync("enf-typed-409", (attempt, _) =>
            throw (attempt == 1 ? Problem(503, "try again shortly") : Problem(409, "reworded", ProblemTypes.OutcomeAlreadyReported)));

        Assert.True(result.OutcomeReported);
        Assert.Equal(2, backend.Reports);
    }

    [Fact]
    public async Task A_cluster_that_stays_unavailable_is_asked_again_only_until_the_outcome_timeout()
    {
        var options = new EnforcementOptions { ApprovalWait = TimeSpan.Zero, OutcomeTimeout = TimeSpan.FromSeconds(1) };
        var (result, backend) = await EnforceAsync("enf-down", (_, _) => throw NoConnection(), options);

        Assert.True(result.IsForwarded);
        Assert.False(result.OutcomeReported);
        // Pauses of 200 ms, then 400 ms, fit in 1 s; the next (800 ms) does not.
        Assert.InRange(backend.Reports, 2, 3);
        Assert.Equal(0, await OutcomesInSessionAsync(backend));
    }

    private async Task<(EnforcementResult<string> Result, FlakyReports Backend)> EnforceAsync(
        string agentId, Func<int, Func<Task>, Task> report, EnforcementOptions? options = null)
    {
        await environment.RegisterAgentAsync(agentId, ["get_weather"], ["Tool"]);
        var backend = new FlakyReports(new AuthzClientBackend(environment.ClientAs(EnforcementEnvironment.EnforcementPoint)), report);
        var enforcer = new AuthorizationEnforcer(backend, options ?? new EnforcementOptions { ApprovalWait = TimeSpan.Zero });
        var session = enforcer.CreateSession(agentId);
        var result = await enforcer.EnforceAsync(session, Weather, _ => Task.FromResult("sunny"),
            value => CallOutcome.Response(JsonSerializer.SerializeToElement(new { forecast = value })));
        Assert.True(result.IsForwarded, result.Refusal?.Message);
        backend.SessionId = session.SessionId!;
        return (result, backend);
    }

    private async Task<int> OutcomesInSessionAsync(FlakyReports backend)
    {
        var session = await environment.AdminClient.GetSessionAsync(backend.SessionId);
        return session.Events!.Count(e => e.Kind == SessionEventKind.Response);
    }

    /// <summary>The real backend, with outcome reports passed through <c>report</c> (attempt number, the real send).</summary>
    private sealed class FlakyReports(IAuthorizationBackend inner, Func<int, Func<Task>, Task> report) : IAuthorizationBackend
    {
        private int reports;

        public int Reports => Volatile.Read(ref reports);

        public string SessionId { get; set; } = "";

        public Task ReportOutcomeAsync(string sessionId, Guid decisionId, CallOutcome outcome, CancellationToken cancellationToken) =>
            report(Interlocked.Increment(ref reports), () => inner.ReportOutcomeAsync(sessionId, decisionId, outcome, cancellationToken));

        public Task<string> OpenSessionAsync(string agentId, CancellationToken cancellationToken) => inner.OpenSessionAsync(agentId, cancellationToken);

        public Task CloseSessionAsync(string sessionId, string? reason, CancellationToken cancellationToken) => inner.CloseSessionAsync(sessionId, reason, cancellationToken);

        public Task<BackendDecision> DecideAsync(string sessionId, string agentId, GuardedCall call, string? approvalId, CancellationToken cancellationToken) =>
            inner.DecideAsync(sessionId, agentId, call, approvalId, cancellationToken);

        public Task<ApprovalStatus> GetApprovalAsync(string approvalId, CancellationToken cancellationToken) => inner.GetApprovalAsync(approvalId, cancellationToken);

        public Task<ApprovalStatus> WaitForApprovalAsync(string approvalId, TimeSpan timeout, CancellationToken cancellationToken) =>
            inner.WaitForApprovalAsync(approvalId, timeout, cancellationToken);
    }
}
