using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Grains;

public sealed partial class AgentSessionGrain
{
    /// <summary>
    /// An outcome is a fact about an allowed decision of this session, reported once, soon after it:
    /// sealed into the chain with its reporter, then seen by temporal policies as a response/error
    /// event. Every refused report leaves a record of the attempt.
    /// </summary>
    public async Task<CommandResult<SessionEvent>> ReportOutcome(OutcomeReport report)
    {
        if (report.Kind is not (SessionEventKind.Response or SessionEventKind.Error))
            return CommandResult<SessionEvent>.Fail(CommandError.Invalid, "kind must be response or error");
        var now = clock.UtcNow;
        if (await LoadAsync() is not { } current)
        {
            await RecordRefusalOfUnknownSessionAsync(report, now);
            return CommandResult<SessionEvent>.Fail(CommandError.NotFound, $"session '{SessionId}' not found");
        }
        var decision = current.FindDecision(report.DecisionId);
        var refusal = decision switch
        {
            null => (CommandError.NotFound, $"decision '{report.DecisionId}' not found in session '{SessionId}'", null),
            { Outcome: not DecisionOutcome.Allow } => (CommandError.Conflict, $"decision '{report.DecisionId}' was {decision.Outcome}: only an allowed decision has an outcome", null),
            { Reported: true } => (CommandError.Conflict, $"the outcome of decision '{report.DecisionId}' was already reported", ProblemTypes.OutcomeAlreadyReported),
            _ when now - decision.At > SessionLimits.OutcomeWindow =>
                (CommandError.Conflict, $"outcomes are accepted for {SessionLimits.OutcomeWindow.TotalMinutes:0} minutes after the decision; decision '{report.DecisionId}' is older", null),
            _ => ((CommandError, string, string?)?)null,
        };
        TemporalEvent? request = null;
        if (decision is not null)
        {
            try
            {
                (decision, request) = await WithRecordAsync(decision);
            }
            catch (Exception ex) when (refusal is null)
            {
                logger.LogWarning(ex, "Session {SessionId}: record {Sequence} of decision {DecisionId} could not be read for its outcome", SessionId, decision.Sequence, report.DecisionId);
                return CommandResult<SessionEvent>.Fail(CommandError.Unavailable, "the decision's record could not be read; report again shortly");
            }
            catch (Exception ex)
            {
                // The refusal is recorded all the same, without the decision's action and resource.
                logger.LogWarning(ex, "Session {SessionId}: record {Sequence} of decision {DecisionId} could not be read", SessionId, decision.Sequence, report.DecisionId);
            }
        }
        if (refusal is var (error, message, problemType))
        {
            await RecordRefusalAsync(current, report, decision, now, message);
            logger.LogWarning("Session {SessionId}: outcome report for decision {DecisionId} by {Reporter} refused: {Reason}", SessionId, report.DecisionId, report.ReportedBy, message);
            return CommandResult<SessionEvent>.Fail(error, message, problemType: problemType);
        }
        if (unconfirmed is not null)
            return CommandResult<SessionEvent>.Fail(CommandError.Unavailable, "the session's evidence chain is being repaired; report again shortly");

        var body = DecisionEvidence.Outcome(evidence.Redactor, SessionId, report, decision, now);
        var replay = new SessionReplay
        {
            Temporal = request is not null
                ? request with
                {
                    Kind = report.Kind == SessionEventKind.Error ? TemporalEvent.ErrorKind : TemporalEvent.ResponseKind, At = now,
                    OutputJson = report.Kind == SessionEventKind.Response ? report.OutputJson : null, Reporter = ReporterKinds.Of(report.ReporterKind),
                }
                : null,
        };
        var result = await evidence.TryAppendAsync(body, current.Head, replay.ToJson());
        if (result.Status != AppendStatus.Durable)
        {
            // Not accepted; if it lands after all, a repeated report is then refused as already reported.
            stale = true;
            return CommandResult<SessionEvent>.Fail(CommandError.Unavailable, "the outcome could not be recorded; report again shortly");
        }
        var policy = await policyCache.GetAsync().WaitAsync(DecisionDependencyTimeout);
        current.Apply(body, replay, result.Head, policy, replayTemporal: true);
        RecordForShadow(replay?.Temporal);
        if (current.UnsnapshottedRecords >= SnapshotEvery) StartSnapshot();
        var recorded = result.Entry is { } entry ? SessionLedger.TimelineEvent(entry) : null;
        return CommandResult<SessionEvent>.Ok(recorded ?? new SessionEvent
        {
            Seq = result.Head.Sequence, Kind = report.Kind, At = now, DecisionId = report.DecisionId, Action = decision!.Action, Resource = decision.Resource,
        });
    }

    /// <summary>
    /// The session remembers a decision's id, record and outcome; its action, resource and temporal request
    /// event are in the record, read here. Without evidence there is no record: the decision as remembered.
    /// </summary>
    private async Task<(RecentDecision Decision, TemporalEvent? Request)> WithRecordAsync(RecentDecision decision)
    {
        if (!evidence.Enabled || decision.Sequence <= 0) return (decision, null);
        var record = (await ReadChainAsync(decision.Sequence - 1, 1)).FirstOrDefault()
            ?? throw new InvalidOperationException($"record {decision.Sequence} of session {SessionId} is not stored");
        return SessionLedger.WithRecord(decision, record);
    }

    private async Task RecordRefusalAsync(SessionLedger current, OutcomeReport report, RecentDecision? decision, DateTimeOffset now, string reason)
    {
        if (unconfirmed is not null) return;
        var body = DecisionEvidence.Outcome(evidence.Redactor, SessionId, report, decision, now, refusal: reason);
        var result = await evidence.TryAppendAsync(body, current.Head);
        if (result.Status == AppendStatus.Durable) current.Apply(body, null, result.Head, null, replayTemporal: false);
        else stale = true;
    }

    /// <summary>A session that does not exist has no chain: the attempt goes to the governance chain.</summary>
    private async Task RecordRefusalOfUnknownSessionAsync(OutcomeReport report, DateTimeOffset now)
    {
        try
        {
            await GrainFactory.GetGrain<IGovernanceEvidenceGrain>(0).Record(new GovernanceRecord
            {
                Kind = EvidenceKinds.OutcomeRefused, Action = "report-outcome", Actor = report.ReportedBy, At = now, SessionId = SessionId,
                DecisionId = report.DecisionId.ToString(), Resource = $"session {SessionId}",
                Detail = $"outcome reported by {ReporterKinds.Of(report.ReporterKind)} for a session that does not exist",
            });
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Refused outcome report for unknown session {SessionId} has no evidence record", SessionId);
        }
    }
}
