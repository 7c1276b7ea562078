using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Approvals;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Grains;

/// <summary>
/// A session owns its approval requests: they are opened, decided, cancelled, expired and used in
/// its single-threaded turn, each step a record of its chain (approvers' acts also in the governance
/// chain). So an approval is used at most once however many silos re-submit the call at once.
/// </summary>
public sealed partial class AgentSessionGrain : ISessionApprovalsGrain
{
    private ApprovalOptions ApprovalSettings => field ??= ServiceProvider.GetRequiredService<IOptions<ApprovalOptions>>().Value;
    private ApprovalWebhooks Webhooks => field ??= ServiceProvider.GetRequiredService<ApprovalWebhooks>();

    /// <summary>Decision path hook (after evaluation, before recording): opens or uses an approval.</summary>
    private async Task<Verdict> ResolveApprovalAsync(SessionLedger current, DecisionCall call, Verdict verdict)
    {
        await CloseExpiredApprovalsAsync(current);
        return ApprovalStage.Resolve(verdict, call, current, ApprovalSettings);
    }

    /// <summary>After the decision's record: keeps the approvers' list current (best effort; the chain is the truth).</summary>
    private async Task PublishApprovalOfAsync(SessionLedger current, AuthzDecision answer)
    {
        if (answer.Approval is not { Act: ApprovalActs.Requested or ApprovalActs.Consumed } ticket) return;
        if (current.Approvals.Find(ticket.Id) is { } approval) await PublishAsync(approval, ticket.Act);
    }

    public async Task<ApprovalInfo?> GetApproval(string approvalId)
    {
        if (await LoadAsync() is not { } current) return null;
        await CloseExpiredApprovalsAsync(current);
        return current.Approvals.Find(approvalId);
    }

    public Task<CommandResult<ApprovalInfo>> Approve(string approvalId, ApprovalAct act) => ActAsync(approvalId, act, ApprovalActs.Approved);

    public Task<CommandResult<ApprovalInfo>> Reject(string approvalId, ApprovalAct act) =>
        string.IsNullOrWhiteSpace(act.Reason)
            ? Task.FromResult(CommandResult<ApprovalInfo>.Fail(CommandError.Invalid, "a rejection needs a reason"))
            : ActAsync(approvalId, act, ApprovalActs.Rejected);

    public Task<CommandResult<ApprovalInfo>> Cancel(string approvalId, ApprovalAct act) => ActAsync(approvalId, act, ApprovalActs.Cancelled);

    private async Task<CommandResult<ApprovalInfo>> ActAsync(string approvalId, ApprovalAct act, string step)
    {
        if (await LoadAsync() is not { } current || current.Approvals.Find(approvalId) is null)
            return CommandResult<ApprovalInfo>.Fail(CommandError.NotFound, $"approval '{approvalId}' not found");
        if (unconfirmed is not null)
            return CommandResult<ApprovalInfo>.Fail(CommandError.Unavailable, "the session's evidence chain is being repaired; try again shortly");
        await CloseExpiredApprovalsAsync(current);
        var approval = current.Approvals.Find(approvalId)!;
        if (step != ApprovalActs.Cancelled && await RefusalOfApproverAsync(approval, act) is { } why)
        {
            await RecordApprovalStepAsync(current, approval, ApprovalActs.Refused, act, why);
            logger.LogWarning("Approval {ApprovalId}: {Step} by {Subject} refused: {Why}", approvalId, step, act.Subject, why);
            return CommandResult<ApprovalInfo>.Fail(CommandError.Forbidden, $"{why}; another approver must decide approval '{approvalId}'");
        }
        var conflict = approval switch
        {
            { IsOpen: false } => $"approval '{approvalId}' is {Word(approval.Status)}",
            { Status: ApprovalStatus.Approved } when step != ApprovalActs.Cancelled => $"approval '{approvalId}' is already approved",
            _ when step == ApprovalActs.Approved && approval.Approvals.Any(v => v.Approver == act.Subject) =>
                $"{act.Subject} already approved '{approvalId}'; it needs {approval.RequiredApprovals} distinct approvers",
            _ => null,
        };
        if (conflict is not null) return CommandResult<ApprovalInfo>.Fail(CommandError.Conflict, conflict);
        if (!await RecordApprovalStepAsync(current, approval, step, act, act.Reason))
            return CommandResult<ApprovalInfo>.Fail(CommandError.Unavailable, $"the {step} step could not be recorded; try again shortly");
        var updated = current.Approvals.Find(approvalId)!;
        await PublishAsync(updated, step);
        logger.LogInformation("Approval {ApprovalId} {Step} by {Subject}: now {Status}", approvalId, step, act.Subject, updated.Status);
        return CommandResult<ApprovalInfo>.Ok(updated);
    }

    /// <summary>Why this caller may not decide the request: agents, the requester and (unless configured) the agent's owner never do.</summary>
    private async Task<string?> RefusalOfApproverAsync(ApprovalInfo approval, ApprovalAct act)
    {
        if (act.CallerAgentId is { } agentId) return $"{act.Subject} holds an agent token (agent '{agentId}'): agents never approve";
        if (string.Equals(act.Subject, approval.Requester, StringComparison.Ordinal)) return $"{act.Subject} requested the call";
        if (string.Equals(act.Subject, approval.AgentId, StringComparison.Ordinal)) return $"{act.Subject} is the agent";
        if (!ApprovalSettings.OwnerMayApprove
            && await GrainFactory.GetGrain<IAgentGrain>(approval.AgentId).Get().WaitAsync(DecisionDependencyTimeout) is { } agent
            && string.Equals(agent.Owner, act.Subject, StringComparison.Ordinal))
        {
            return $"{act.Subject} owns agent '{approval.AgentId}'";
        }
        return null;
    }

    /// <summary>Closes open requests whose time is up, each with an expired record.</summary>
    private async Task CloseExpiredApprovalsAsync(SessionLedger current)
    {
        if (unconfirmed is not null) return;
        foreach (var due in current.Approvals.DueToExpire(clock.UtcNow))
        {
            if (!await RecordApprovalStepAsync(current, due, ApprovalActs.Expired, new ApprovalAct { Subject = "runtimeauthz" }, null)) return;
            if (current.Approvals.Find(due.Id) is { } expired) await PublishAsync(expired, ApprovalActs.Expired);
        }
    }

    /// <summary>Seals one step into the session's chain (and an approver's act into the governance chain); false when it is not durable.</summary>
    private async Task<bool> RecordApprovalStepAsync(SessionLedger current, ApprovalInfo approval, string step, ApprovalAct act, string? reason)
    {
        var now = clock.UtcNow;
        var body = new EvidenceBody
        {
            Chain = Chain, Time = EvidenceSealer.FormatTime(now), Kind = EvidenceKinds.Approval, AgentId = approval.AgentId, SessionId = SessionId,
            Action = approval.Action, Resource = approval.Resource, ApprovalIds = [approval.Id], Actor = SessionLimits.Truncate(act.Subject),
            Approval = new ApprovalEvidence { Id = approval.Id, Act = step, BindingDigest = approval.BindingDigest, Reason = SessionLimits.Truncate(reason) },
            Detail = SessionLimits.Truncate(act.Via),
        };
        var granted = step == ApprovalActs.Approved && approval.Approvals.Count + 1 >= approval.RequiredApprovals
            ? ApprovalStage.ApproveEvent(approval, now) : null;
        var replay = granted is null ? null : new SessionReplay { Temporal = granted };
        var result = await evidence.TryAppendAsync(body, current.Head, replay?.ToJson());
        if (result.Status != AppendStatus.Durable)
        {
            stale = true;
            return false;
        }
        var policy = granted is null ? null : await policyCache.GetAsync().WaitAsync(DecisionDependencyTimeout);
        current.Apply(body, replay, result.Head, policy, replayTemporal: true);
        RecordForShadow(replay?.Temporal);
        if (step is ApprovalActs.Approved or ApprovalActs.Rejected or ApprovalActs.Refused) await RecordGovernanceStepAsync(approval, step, act, reason, now);
        return true;
    }

    private async Task RecordGovernanceStepAsync(ApprovalInfo approval, string step, ApprovalAct act, string? reason, DateTimeOffset at)
    {
        try
        {
            var input = new JsonObject
            {
                ["actorIssuer"] = act.Issuer, ["bindingDigest"] = approval.BindingDigest, ["via"] = act.Via, ["callerAgentId"] = act.CallerAgentId,
            };
            var recorded = await GrainFactory.GetGrain<IGovernanceEvidenceGrain>(0).Record(new GovernanceRecord
            {
                Kind = EvidenceKinds.Approval, Action = $"approval-{step}", Actor = act.Subject, At = at, AgentId = approval.AgentId, SessionId = SessionId,
                Resource = $"approval {approval.Id}", ApprovalIds = [approval.Id], Detail = SessionLimits.Truncate(reason), InputJson = input.ToJsonString(),
            });
            if (!recorded) logger.LogError("Approval {ApprovalId} {Step} by {Subject} has no governance record", approval.Id, step, act.Subject);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Approval {ApprovalId} {Step} by {Subject} has no governance record", approval.Id, step, act.Subject);
        }
    }

    /// <summary>Tells the listing and the webhook receivers (neither can hold the session up).</summary>
    private async Task PublishAsync(ApprovalInfo approval, string step)
    {
        try
        {
            Webhooks.Enqueue(step, approval, clock.UtcNow);
            await GrainFactory.GetGrain<IApprovalDirectoryGrain>(0).Upsert(ApprovalSummary.Of(approval));
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Approval {ApprovalId} not listed in the directory", approval.Id);
        }
    }

    private async Task MaintainApprovalsAsync()
    {
        try
        {
            if (ledger is { } current && !stale) await CloseExpiredApprovalsAsync(current);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Session {SessionId}: expired approvals not closed yet", SessionId);
        }
    }

    private static string Word(ApprovalStatus status) => status.ToString().ToLowerInvariant();
}
