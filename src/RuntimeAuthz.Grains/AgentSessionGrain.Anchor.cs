using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Evidence.Checkpoints;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Grains.Evidence;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Grains;

/// <summary>
/// A rebuilt session is compared with what was recorded before: the head this activation already
/// had, the record its snapshot includes, and the highest head a checkpoint sealed. A state row
/// behind its chain needs nothing here (the chain's tail is replayed, so nothing moves backwards);
/// a chain behind any of them lost records, and the session then refuses to decide
/// (<see cref="EvidenceDenyReasons.EvidenceRollback"/>) instead of continuing the shortened chain.
/// </summary>
public sealed partial class AgentSessionGrain
{
    /// <summary>Why this session refuses to decide (its chain is behind what was recorded), or null.</summary>
    private string? rollback;
    /// <summary>The checkpoints could not be asked yet (their store was unavailable): asked again before the next decision.</summary>
    private bool anchorPending;
    private EvidenceCheckpointer? checkpointer;

    private EvidenceCheckpointer Checkpointer => checkpointer ??= ServiceProvider.GetRequiredService<EvidenceCheckpointer>();

    /// <summary>
    /// The state to adopt after a rebuild: <paramref name="rebuilt"/>, unless this activation already
    /// knew more (<paramref name="known"/>), which is kept so risk and counts never go backwards.
    /// </summary>
    private async Task<SessionLedger> AnchorAsync(SessionLedger rebuilt, SessionLedger? known, long snapshotSequence)
    {
        if (!evidence.Enabled) return rebuilt;
        var head = rebuilt.Head;
        if (rollback is not null) return known is not null && known.Head.Sequence > head.Sequence ? known : rebuilt;
        // A record this activation saw durable must still be there as it was (records are never rewritten).
        if (known is { Head.Sequence: > 0 } && known.Head != head
            && (head.Sequence < known.Head.Sequence || !await IsStoredAsync(known.Head.Sequence, known.Head.Hash)))
        {
            // Sealed as well, so that every later activation, on any silo, refuses too.
            Checkpointer.Remember(Chain, known.Head);
            Refuse(head.Sequence < known.Head.Sequence
                ? $"records {head.Sequence + 1}..{known.Head.Sequence} were durable in this activation but are no longer stored"
                : $"record {known.Head.Sequence} was durable in this activation but is no longer stored as it was");
            return known;
        }
        if (head.Sequence > 0 && head.Sequence == snapshotSequence && !await IsStoredAsync(head.Sequence, head.Hash))
        {
            Refuse($"its snapshot includes record {head.Sequence}, which is no longer stored");
            return rebuilt;
        }
        await CheckSealedHeadAsync(rebuilt, warn: true);
        return rebuilt;
    }

    /// <summary>The denial of a session whose chain is behind (asking the checkpoints first if that could not be done yet), or null.</summary>
    private async Task<Verdict?> RollbackRefusalAsync(SessionLedger current)
    {
        if (anchorPending && rollback is null && Checkpointer.Failure is null) await CheckSealedHeadAsync(current, warn: false);
        return rollback is null ? null : Denials.Deny(EvidenceDenyReasons.EvidenceRollback, policyCache.Version, rollback) with { CountsAsActivity = false };
    }

    private async Task CheckSealedHeadAsync(SessionLedger current, bool warn)
    {
        anchorPending = false;
        if (!Checkpointer.Enabled) return;
        SealedHead? sealedHead;
        try
        {
            sealedHead = await Checkpointer.SealedHeadAsync(Chain);
        }
        catch (CheckpointStoreUnavailableException ex)
        {
            // The evidence table is still durable: decisions go on, and the comparison is made once the checkpoints answer.
            anchorPending = true;
            if (warn) LogAnchorUnchecked(SessionId, ex.Message);
            return;
        }
        if (sealedHead is null) return;
        var head = current.Head;
        if (head.Sequence < sealedHead.Sequence)
            Refuse($"records {head.Sequence + 1}..{sealedHead.Sequence} sealed in {sealedHead.CheckpointName} are missing");
        else if (sealedHead.Sequence == head.Sequence ? sealedHead.Hash != head.Hash : !await IsStoredAsync(sealedHead.Sequence, sealedHead.Hash))
            Refuse($"record {sealedHead.Sequence} is not the record sealed in {sealedHead.CheckpointName}");
    }

    private async Task<bool> IsStoredAsync(long sequence, string hash) =>
        (await ReadChainAsync(sequence - 1, 1)).FirstOrDefault() is { } entry && entry.Sequence == sequence && entry.Hash == hash;

    private void Refuse(string why)
    {
        rollback = $"the session's evidence chain is behind what was recorded: {why}";
        ServiceProvider.GetRequiredService<EvidenceCheckpointHeads>().Refuse(Chain, why);
        LogRollback(SessionId, Chain, why, EvidenceDenyReasons.EvidenceRollback);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId}: evidence chain {Chain} is behind what was recorded ({Why}); it refuses to decide ({DenyReason}) and is not continued")]
    private partial void LogRollback(string sessionId, string chain, string why, string denyReason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: not yet compared with the evidence checkpoints ({Reason}); deciding on the evidence table, compared once the checkpoints answer")]
    private partial void LogAnchorUnchecked(string sessionId, string reason);
}
