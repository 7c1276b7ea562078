using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Contracts;
using RuntimeAuthz.Grains.Evidence;

namespace RuntimeAuthz.Cluster.Tests.Evidence;

/// <summary>
/// Notes every decision a session grain (or a session-less decision grain) returns in the test silos (with the evidence table it
/// should be in), so a test can count evidence records against all decisions the integration
/// tests received.
/// </summary>
public sealed class DecisionLedger(IOptions<EvidenceOptions> options) : IIncomingGrainCallFilter
{
    /// <param name="Chain">The chain the record belongs in: the session's, or a session-less decision's principal chain.</param>
    public sealed record Entry(string Table, AuthzDecision Decision, string Chain);

    public static ConcurrentQueue<Entry> Returned { get; } = new();

    /// <summary>Sessions (evidence table, session id) whose records a test deleted or rolled back on purpose: not counted.</summary>
    public static ConcurrentDictionary<(string Table, string SessionId), bool> Tampered { get; } = new();

    /// <summary>Decisions an edge reported as answered Deny after losing the grain's answer: their last record must say Deny.</summary>
    public static ConcurrentDictionary<Guid, bool> LostAnswers { get; } = new();

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod.Name == nameof(IAgentSessionGrain.SupersedeLostAnswer) && context.Request.GetArgument(0) is Guid lost)
            LostAnswers[lost] = true;
        await context.Invoke();
        if (context.Result is AuthzDecision decision && context.InterfaceMethod.Name == nameof(IAgentSessionGrain.Decide))
        {
            var chain = context.InterfaceMethod.DeclaringType == typeof(ISessionlessDecisionGrain)
                ? RuntimeAuthz.Evidence.EvidenceChains.ForSessionless(context.TargetId.Key.ToString()!)
                : RuntimeAuthz.Evidence.EvidenceChains.ForSession(decision.SessionId);
            Returned.Enqueue(new Entry(options.Value.Table, decision, chain));
        }
    }
}
