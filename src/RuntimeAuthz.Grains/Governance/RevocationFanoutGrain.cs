using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Sessions;

namespace RuntimeAuthz.Grains.Governance;

/// <summary>
/// Sends revocation notices to the agent's sessions, read page by page from the session index, so the
/// revoking agent grain sends one message instead of one per session. Sessions opened longer ago
/// than the longest session lifetime have ended and are skipped.
/// </summary>
[StatelessWorker]
public sealed class RevocationFanoutGrain(SessionIndex sessionIndex, ILogger<RevocationFanoutGrain> logger) : Grain, IRevocationFanoutGrain
{
    public async Task Notify(RevocationNotice notice)
    {
        try
        {
            await foreach (var sessionId in sessionIndex.AgentSessionsOpenedSinceAsync(notice.AgentId, notice.At - SessionLimits.MaxLifetime))
            {
                try
                {
                    _ = GrainFactory.GetGrain<IRevocationObserverGrain>(sessionId).NoteRevocation(notice);
                }
                catch (Exception ex)
                {
                    logger.LogWarning(ex, "Could not notify session {SessionId} of a revocation", sessionId);
                }
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not read the sessions of agent {AgentId} to notify them of a revocation", notice.AgentId);
        }
    }
}
