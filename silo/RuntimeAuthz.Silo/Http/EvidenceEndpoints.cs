using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Silo.Security;
using RuntimeAuthz.Grains.Evidence;

namespace RuntimeAuthz.Silo.Http;

/// <summary>
/// Read-only access to evidence as stored (canonical bodies, hashes, signatures) and to the public
/// keys, so that verification runs anywhere with public keys only.
/// </summary>
public static class EvidenceEndpoints
{
    public static void MapEvidenceEndpoints(this IEndpointRouteBuilder app)
    {
        var evidence = app.MapGroup("/v1/evidence").RequirePermission(Permissions.EvidenceRead);

        evidence.MapGet("/sessions/{id}", async (string id, IGrainFactory grains, EvidenceRecorder recorder, CancellationToken ct) =>
        {
            RequestReading.CheckId(id, "session id");
            var session = await grains.GetGrain<IAgentSessionGrain>(id).Get();
            if (session is null) return Problems.NotFound($"session '{id}' not found");
            return await ChainReply(recorder, EvidenceChains.ForSession(id), session.DecisionCount, ct, sessionChain: true);
        }).Describe<EvidenceChainDto>("GetSessionEvidence", "A session's evidence chain as stored", problems: [400, 404, 503]);

        evidence.MapGet("/governance", (EvidenceRecorder recorder, CancellationToken ct) => ChainReply(recorder, EvidenceChains.Governance, 0, ct))
            .Describe<EvidenceChainDto>("GetGovernanceEvidence", "The governance evidence chain as stored", problems: 503);

        evidence.MapGet("/chains", async (EvidenceRecorder recorder, CancellationToken ct) =>
        {
            try { return Results.Ok(new EvidenceChainListDto(await recorder.Store.ListChainsAsync(ct))); }
            catch (Exception ex) when (ex is not OperationCanceledException) { return Unavailable(ex); }
        }).Describe<EvidenceChainListDto>("ListEvidenceChains", "Every evidence chain's id", problems: 503);

        evidence.MapGet("/checkpoints", async (EvidenceCheckpointer checkpointer, CancellationToken ct) =>
        {
            if (!checkpointer.Enabled) return Results.Ok(new EvidenceCheckpointListDto(false, []));
            try
            {
                var stored = await checkpointer.ReadAllAsync(ct);
                return Results.Ok(new EvidenceCheckpointListDto(true,
                    stored.Select(c => new EvidenceCheckpointDto(c.Writer, c.Sequence, c.Body, c.Hash, c.Signature, c.KeyId)).ToArray()));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return Problems.Unavailable($"the evidence checkpoint store is unavailable: {ex.GetType().Name}");
            }
        }).Describe<EvidenceCheckpointListDto>("ListEvidenceCheckpoints", "The signed checkpoints of the chains' heads (if configured)", problems: 503);

        evidence.MapGet("/keys", async (EvidenceRecorder recorder, CancellationToken ct) =>
        {
            try
            {
                var keys = await recorder.PublicKeysAsync(ct);
                return Results.Ok(new EvidenceKeyListDto(keys.Select(k => new EvidenceKeyDto(k.Key, k.Value)).ToArray()));
            }
            catch (Exception ex) when (ex is not OperationCanceledException) { return Unavailable(ex); }
        }).Describe<EvidenceKeyListDto>("ListEvidenceKeys", "The public keys evidence is verified with", problems: 503);
    }

    /// <param name="sessionChain">A session's chain: its open record (sessions opened before it existed have none) comes on top of its decisions.</param>
    private static async Task<IResult> ChainReply(EvidenceRecorder recorder, string chain, long minimumRecords, CancellationToken ct, bool sessionChain = false)
    {
        try
        {
            var entries = await recorder.Store.ReadChainAsync(chain, ct);
            if (sessionChain && entries is [{ Sequence: 1 } first, ..] && EvidenceSealer.ParseBody(first.Body).Kind == EvidenceKinds.SessionOpen) minimumRecords++;
            return Results.Ok(new EvidenceChainDto(chain, minimumRecords,
                entries.Select(e => new EvidenceRecordDto(e.Sequence, e.Body, e.Hash, e.Signature, e.KeyId, e.Proof)).ToArray()));
        }
        catch (Exception ex) when (ex is not OperationCanceledException) { return Unavailable(ex); }
    }

    private static IResult Unavailable(Exception ex) =>
        Problems.Unavailable($"the evidence store is unavailable: {ex.GetType().Name}");
}
