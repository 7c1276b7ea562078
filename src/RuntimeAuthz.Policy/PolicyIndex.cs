using System.Collections.Frozen;

namespace RuntimeAuthz.Policy;

/// <summary>
/// Finds the policies whose scope can match a request without looking at the others. Each scope
/// dimension (principal, action, resource) maps entity uids and entity types to policy positions;
/// a request probes each dimension with its uid, its ancestors and its type, and the authorizer
/// walks the smallest candidate list. The full scope check still runs on every candidate, so the
/// index only needs to over-approximate.
/// </summary>
internal sealed class PolicyIndex
{
    // Below this size a linear scan is as fast as probing the index.
    private const int ScanThreshold = 24;

    private readonly Policy[] policies;
    private readonly Dimension principal;
    private readonly Dimension action;
    private readonly Dimension resource;

    public PolicyIndex(IReadOnlyList<Policy> active)
    {
        policies = [.. active];
        principal = new Dimension(policies, p => p.Principal);
        action = new Dimension(policies, p => p.Action);
        resource = new Dimension(policies, p => p.Resource);
    }

    public IReadOnlyList<Policy> Policies => policies;

    /// <summary>Policies that may apply, in policy-set order. <paramref name="buffer"/> is reused scratch space.</summary>
    public IReadOnlyList<Policy> Candidates(EntityUid principalUid, EntityUid actionUid, EntityUid resourceUid, EntityStore entities, List<int> buffer)
    {
        if (policies.Length <= ScanThreshold) return policies;
        var p = principal.Estimate(principalUid, entities);
        var a = action.Estimate(actionUid, entities);
        var r = resource.Estimate(resourceUid, entities);
        var best = p <= a && p <= r ? principal : a <= r ? action : resource;
        var uid = ReferenceEquals(best, principal) ? principalUid : ReferenceEquals(best, action) ? actionUid : resourceUid;
        if (Math.Min(p, Math.Min(a, r)) >= policies.Length) return policies;
        buffer.Clear();
        best.Collect(uid, entities, buffer);
        buffer.Sort();
        var result = new List<Policy>(buffer.Count);
        var previous = -1;
        foreach (var position in buffer)
        {
            if (position == previous) continue;
            previous = position;
            result.Add(policies[position]);
        }
        return result;
    }

    private sealed class Dimension
    {
        private readonly int[] unconstrained;
        private readonly FrozenDictionary<EntityUid, int[]> byEntity;
        private readonly FrozenDictionary<string, int[]> byType;
        private readonly bool needsAncestors;

        public Dimension(Policy[] policies, Func<Policy, ScopeConstraint> select)
        {
            var any = new List<int>();
            var entity = new Dictionary<EntityUid, List<int>>();
            var type = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            for (var i = 0; i < policies.Length; i++)
            {
                var scope = select(policies[i]);
                switch (scope.Kind)
                {
                    case ScopeKind.Any: any.Add(i); break;
                    case ScopeKind.Equal: Add(entity, scope.Entity!.Value, i); break;
                    case ScopeKind.In: Add(entity, scope.Entity!.Value, i); needsAncestors = true; break;
                    case ScopeKind.IsIn: Add(entity, scope.Entity!.Value, i); needsAncestors = true; break;
                    case ScopeKind.Is: Add(type, scope.EntityType!, i); break;
                    case ScopeKind.InSet:
                        foreach (var target in scope.Entities!) Add(entity, target, i);
                        needsAncestors = true;
                        break;
                }
            }
            unconstrained = [.. any];
            byEntity = entity.ToFrozenDictionary(pair => pair.Key, pair => pair.Value.ToArray());
            byType = type.ToFrozenDictionary(pair => pair.Key, pair => pair.Value.ToArray(), StringComparer.Ordinal);
        }

        private static void Add<TKey>(Dictionary<TKey, List<int>> map, TKey key, int position) where TKey : notnull
        {
            if (!map.TryGetValue(key, out var list)) map[key] = list = [];
            list.Add(position);
        }

        public int Estimate(EntityUid uid, EntityStore entities)
        {
            var count = unconstrained.Length;
            if (byEntity.TryGetValue(uid, out var direct)) count += direct.Length;
            if (byType.TryGetValue(uid.Type, out var typed)) count += typed.Length;
            if (needsAncestors)
            {
                foreach (var ancestor in entities.AncestorsOf(uid))
                    if (byEntity.TryGetValue(ancestor, out var inherited)) count += inherited.Length;
            }
            return count;
        }

        public void Collect(EntityUid uid, EntityStore entities, List<int> into)
        {
            into.AddRange(unconstrained);
            if (byEntity.TryGetValue(uid, out var direct)) into.AddRange(direct);
            if (byType.TryGetValue(uid.Type, out var typed)) into.AddRange(typed);
            if (needsAncestors)
            {
                foreach (var ancestor in entities.AncestorsOf(uid))
                    if (byEntity.TryGetValue(ancestor, out var inherited)) into.AddRange(inherited);
            }
        }
    }
}
