using System.Text.Json;
using System.Text.Json.Nodes;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Decisions;
using RuntimeAuthz.Policy;

namespace RuntimeAuthz.Grains.Entities;

/// <summary>
/// The check behind the AuthZEN search APIs: whether the current policy permits one candidate request,
/// session-less, over the entity store. A search answer is not a decision to enforce: it records no evidence;
/// anything that fails, or needs approval, counts as not permitted.
/// </summary>
public static class EntitySearch
{
    public sealed record Probe(EntityKey Principal, JsonObject? SubjectProperties, string Action, EntityKey Resource, string? ResourcePropertiesJson, string? ContextJson);

    public static bool Permits(CompiledPolicy policy, EntitySnapshot stored, Probe probe, DateTimeOffset now)
    {
        var request = new DecisionRequest
        {
            Action = probe.Action, ResourceType = probe.Resource.Type, ResourceId = probe.Resource.Id,
            ResourcePropertiesJson = probe.ResourcePropertiesJson, ContextJson = probe.ContextJson,
        };
        var call = new DecisionCall("", Guid.NewGuid(), now, request);
        try
        {
            var (cedar, entities) = CedarRequestBuilder.BuildForSubject(new EntityUid(probe.Principal.Type, probe.Principal.Id),
                probe.SubjectProperties is null ? null : CedarJsonRecord.Parse(probe.SubjectProperties.ToJsonString(), "subject.properties", CallerInput.MaxDepth), call, policy.Catalog.DescribeForCedar(probe.Action), stored);
            var response = new TemporalHistoryKeeper(null).Decide(policy, cedar, entities, call.DecisionId, now, "search").Response;
            return EvaluationStage.Judge(policy, response, "search").Outcome == DecisionOutcome.Allow;
        }
        catch (Exception ex) when (ex is CedarSyntaxException or JsonException or ArgumentException or FormatException)
        {
            return false;
        }
    }

    /// <summary>Action search candidates: the store's <c>Action</c> entities and the catalog's actions, in ordinal order.</summary>
    public static IReadOnlyList<string> ActionNames(CompiledPolicy policy, EntitySnapshot stored) =>
        stored.OfType(CedarRequestBuilder.ActionType).Select(k => k.Id).Concat(policy.Catalog.Entries.Keys)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
}
