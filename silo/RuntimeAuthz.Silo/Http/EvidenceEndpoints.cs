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
            return await ChainReply(recorder, EvidenceChains.ForSession(id), session.DecisionCount, ct);
        });

        evidence.MapGet("/governance", (EvidenceRecorder recorder, CancellationToken ct) => ChainReply(recorder, EvidenceChains.Governance, 0, ct));

        evidence.MapGet("/chains", async (EvidenceRecorder recorder, CancellationToken ct) =>
        {
            try { return Results.Ok(new { chains = await recorder.Store.ListChainsAsync(ct) }); }
            catch (Exception ex) when (ex is not OperationCanceledException) { return Unavailable(ex); }
        });

        evidence.MapGet("/checkpoints", async (EvidenceCheckpointer checkpointer, CancellationToken ct) =>
        {
            if (!checkpointer.Enabled) return Results.Ok(new { configured = false, checkpoints = Array.Empty<object>() });
            try
            {
                var stored = await checkpointer.ReadAllAsync(ct);
                return Results.Ok(new
                {
                    configured = true,
                    checkpoints = stored.Select(c => new { writer = c.Writer, seq = c.Sequence, body = c.Body, hash = c.Hash, signature = c.Signature, keyId = c.KeyId }).ToArray(),
                });
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return Problems.Create(StatusCodes.Status503ServiceUnavailable, $"the evidence checkpoint store is unavailable: {ex.GetType().Name}");
            }
        });

        evidence.MapGet("/keys", async (EvidenceRecorder recorder, CancellationToken ct) =>
        {
            try
            {
                var keys = await recorder.PublicKeysAsync(ct);
                return Results.Ok(new { keys = keys.Select(k => new { keyId = k.Key, publicKeyPem = k.Value }).ToArray() });
            }
            catch (Exception ex) when (ex is not OperationCanceledException) { return Unavailable(ex); }
        });
    }

    private static async Task<IResult> ChainReply(EvidenceRecorder recorder, string chain, long minimumRecords, CancellationToken ct)
    {
        try
        {
            var entries = await recorder.Store.ReadChainAsync(chain, ct);
            return Results.Ok(new
            {
                chain,
                minimumRecords,
                records = entries.Select(e => new { seq = e.Sequence, body = e.Body, hash = e.Hash, signature = e.Signature, keyId = e.KeyId }).ToArray(),
            });
        }
        catch (Exception ex) when (ex is not OperationCanceledException) { return Unavailable(ex); }
    }

    private static IResult Unavailable(Exception ex) =>
        Problems.Create(StatusCodes.Status503ServiceUnavailable, $"the evidence store is unavailable: {ex.GetType().Name}");
}
