using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Evidence;
using RuntimeAuthz.Grains.Governance;

namespace RuntimeAuthz.Grains.Evidence;

/// <summary>Persisted state of <see cref="GovernanceEvidenceGrain"/>: the head of the governance chain.</summary>
public sealed record GovernanceEvidenceState
{
    public const int CurrentSchemaVersion = 1;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public long Sequence { get; init; }
    public string? Hash { get; init; }
}

/// <summary>
/// Single writer of the governance chain (key 0). Records are appended in call order; the head is
/// kept in grain state, and re-read from the evidence table when it is behind (see <see cref="EvidenceRecorder"/>).
/// </summary>
public sealed class GovernanceEvidenceGrain(
    [PersistentState("governanceEvidence", AuthzStorage.ProviderName)] IPersistentState<GovernanceEvidenceState> state,
    EvidenceRecorder recorder,
    ILogger<GovernanceEvidenceGrain> logger) : Grain, IGovernanceEvidenceGrain
{
    public async Task<bool> Record(GovernanceRecord record)
    {
        if (!recorder.Enabled) return true;
        JsonNode? input = null;
        if (record.InputJson is not null)
        {
            try { input = JsonNode.Parse(record.InputJson); }
            catch (JsonException) { input = JsonValue.Create(record.InputJson); }
        }
        var prepared = recorder.Redactor.Prepare(input ?? new JsonObject());
        var body = new EvidenceBody
        {
            Chain = EvidenceChains.Governance,
            Time = EvidenceSealer.FormatTime(record.At),
            Kind = record.Kind,
            DecisionId = record.DecisionId,
            AgentId = record.AgentId,
            SessionId = record.SessionId,
            Action = record.Action,
            Resource = record.Resource,
            InputDigest = prepared.Digest,
            Input = prepared.Stored,
            InputTruncated = prepared.Truncated ? true : null,
            PolicyVersion = record.PolicyVersion,
            ApprovalIds = record.ApprovalIds.Count > 0 ? record.ApprovalIds : null,
            Actor = record.Actor,
            Detail = record.Detail,
        };
        var head = new EvidenceHead(state.State.Sequence, state.State.Hash ?? EvidenceBody.GenesisHash);
        var next = await recorder.AppendAsync(body, head);
        if (next is null) return false;
        state.State = state.State with { Sequence = next.Sequence, Hash = next.Hash };
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            // The record is durable; a stale stored head is repaired from the table on the next append.
            logger.LogWarning(ex, "Governance evidence head {Sequence} could not be saved", next.Sequence);
        }
        return true;
    }
}

/// <summary>Sends governance events (grants, revocations, status changes, suspensions) to the governance evidence chain.</summary>
public sealed class EvidenceGovernanceEventSink(IGrainFactory grains, ILogger<EvidenceGovernanceEventSink> logger) : IGovernanceEventSink
{
    public async Task RecordAsync(GovernanceEvent e)
    {
        logger.LogInformation("Governance {Kind} by {Actor} at {At}: agent {AgentId} grant {GrantId} scope {Scope} ({Reason})",
            e.Kind, e.Actor, e.At, e.AgentId, e.GrantId, e.Scope, e.Reason);
        var kind = e.Kind switch
        {
            var k when k.StartsWith("revoke", StringComparison.OrdinalIgnoreCase) => EvidenceKinds.Revocation,
            "grant" or "elevation" or "sub-delegate" => EvidenceKinds.Grant,
            "agent-status" => EvidenceKinds.AgentStatus,
            "approval" => EvidenceKinds.Approval,
            _ => EvidenceKinds.Governance,
        };
        var input = new JsonObject { ["kind"] = e.Kind, ["reason"] = e.Reason, ["grantId"] = e.GrantId, ["scope"] = e.Scope, ["actorIssuer"] = e.ActorIssuer };
        var recorded = await grains.GetGrain<IGovernanceEvidenceGrain>(0).Record(new GovernanceRecord
        {
            Kind = kind, Action = e.Kind, Actor = e.Actor, At = e.At, AgentId = e.AgentId,
            Resource = e.GrantId is not null ? $"grant {e.GrantId}" : e.Scope, Detail = e.Reason.Length > 0 ? e.Reason : e.Detail,
            InputJson = input.ToJsonString(),
        });
        if (!recorded) logger.LogError("Governance event {Kind} for agent {AgentId} has no evidence record", e.Kind, e.AgentId);
    }
}
