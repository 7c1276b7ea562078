using System.Collections.Frozen;
using System.Numerics;

namespace RuntimeAuthz.Policy;

/// <summary>
/// Finds the policies whose scope can match a request without looking at the others.
/// Each scope dimension (principal, action, resource) maps entity uids and entity types to the
/// positions of the policies that name them. For a request, each dimension yields a bitmap of
/// candidates (unconstrained policies, plus those naming the uid, one of its ancestors, or its
/// type); the three bitmaps are intersected. The full scope check still runs on each survivor,
/// so the index only has to over-approximate. Cost per request is proportional to the number of
/// policies / 64 plus the sizes of the buckets touched, not to the number of policies evaluated.
/// </summary>
internal sealed class PolicyIndex
{
    // Below this size a linear scan is as fast as probing the index.
    private const int ScanThreshold = 32;

    private readonly Policy[] policies;
    private readonly int words;
    private readonly Dimension principal;
    private readonly Dimension action;
    private readonly Dimension resource;

    [ThreadStatic] private static ulong[]? scratchA;
    [ThreadStatic] private static ulong[]? scratchB;

    public PolicyIndex(IReadOnlyList<Policy> active)
    {
        policies = [.. active];
        words = (policies.Length + 63) / 64;
        principal = new Dimension(policies, words, p => p.Principal);
        action = new Dimension(policies, words, p => p.Action);
        resource = new Dimension(policies, words, p => p.Resource);
    }

    public IReadOnlyList<Policy> Policies => policies;

    /// <summary>Adds the policies that may apply to <paramref name="into"/>, in policy-set order.</summary>
    public void Candidates(EntityUid principalUid, EntityUid actionUid, EntityUid resourceUid, EntityStore entities, List<Policy> into)
    {
        into.Clear();
        if (policies.Length <= ScanThreshold)
        {
            into.AddRange(policies);
            return;
        }
        var result = Rent(ref scratchA);
        var dimension = Rent(ref scratchB);
        principal.Fill(principalUid, entities, result);
        action.Fill(actionUid, entities, dimension);
        And(result, dimension);
        resource.Fill(resourceUid, entities, dimension);
        And(result, dimension);
        for (var w = 0; w < words; w++)
        {
            var bits = result[w];
            while (bits != 0)
            {
                var bit = BitOperations.TrailingZeroCount(bits);
                into.Add(policies[w * 64 + bit]);
                bits &= bits - 1;
            }
        }
    }

    private ulong[] Rent(ref ulong[]? scratch)
    {
        if (scratch is null || scratch.Length < words) scratch = new ulong[Math.Max(words, 16)];
        return scratch;
    }

    private void And(ulong[] target, ulong[] other)
    {
        for (var w = 0; w < words; w++) target[w] &= other[w];
    }

    private sealed class Bucket(int[] positions, ulong[]? dense)
    {
        public void OrInto(ulong[] bits)
        {
            if (dense is not null)
            {
                for (var w = 0; w < dense.Length; w++) bits[w] |= dense[w];
                return;
            }
            foreach (var position in positions) bits[position >> 6] |= 1UL << (position & 63);
        }

        public static Bucket Create(List<int> positions, int words)
        {
            // Big buckets are kept as bitmaps: OR-ing words beats setting thousands of bits one by one.
            ulong[]? dense = null;
            if (positions.Count > words)
            {
                dense = new ulong[words];
                foreach (var p in positions) dense[p >> 6] |= 1UL << (p & 63);
            }
            return new Bucket([.. positions], dense);
        }
    }

    private sealed class Dimension
    {
        private readonly ulong[] unconstrained;
        private readonly FrozenDictionary<EntityUid, Bucket> byEntity;
        private readonly FrozenDictionary<string, Bucket> byType;
        private readonly bool needsAncestors;
        private readonly int words;

        public Dimension(Policy[] policies, int words, Func<Policy, ScopeConstraint> select)
        {
            this.words = words;
            unconstrained = new ulong[words];
            var entity = new Dictionary<EntityUid, List<int>>();
            var type = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            for (var i = 0; i < policies.Length; i++)
            {
                var scope = select(policies[i]);
                switch (scope.Kind)
                {
                    case ScopeKind.Any: unconstrained[i >> 6] |= 1UL << (i & 63); break;
                    case ScopeKind.Equal: Add(entity, scope.Entity!.Value, i); break;
                    case ScopeKind.In:
                    case ScopeKind.IsIn:
                        Add(entity, scope.Entity!.Value, i);
                        needsAncestors = true;
                        break;
                    case ScopeKind.Is: Add(type, scope.EntityType!, i); break;
                    case ScopeKind.InSet:
                        foreach (var target in scope.Entities!.Distinct()) Add(entity, target, i);
                        needsAncestors = true;
                        break;
                }
            }
            byEntity = entity.ToFrozenDictionary(pair => pair.Key, pair => Bucket.Create(pair.Value, words));
            byType = type.ToFrozenDictionary(pair => pair.Key, pair => Bucket.Create(pair.Value, words), StringComparer.Ordinal);
        }

        private static void Add<TKey>(Dictionary<TKey, List<int>> map, TKey key, int position) where TKey : notnull
        {
            if (!map.TryGetValue(key, out var list)) map[key] = list = [];
            list.Add(position);
        }

        public void Fill(EntityUid uid, EntityStore entities, ulong[] bits)
        {
            Array.Copy(unconstrained, bits, words);
            if (byEntity.TryGetValue(uid, out var direct)) direct.OrInto(bits);
            if (byType.TryGetValue(uid.Type, out var typed)) typed.OrInto(bits);
            if (!needsAncestors) return;
            foreach (var ancestor in entities.AncestorsOf(uid))
                if (byEntity.TryGetValue(ancestor, out var inherited)) inherited.OrInto(bits);
        }
    }
}
