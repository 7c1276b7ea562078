using System.Collections.Frozen;
using System.Numerics;
using RuntimeAuthz.Policy.Evaluation;

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
    [ThreadStatic] private static List<int>? scratchPositions;
    [ThreadStatic] private static List<int>? scratchOther;

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
    public void Candidates(EvalEnv env, List<Policy> into)
    {
        into.Clear();
        if (policies.Length <= ScanThreshold)
        {
            into.AddRange(policies);
            return;
        }
        // When dimensions name only a few policies each, intersecting their sorted position lists
        // beats bitmap work proportional to the whole set.
        var p = principal.Estimate(env.Principal, env.PrincipalAncestors);
        var a = action.Estimate(env.Action, env.ActionAncestors);
        var r = resource.Estimate(env.Resource, env.ResourceAncestors);
        if (Math.Min(p, Math.Min(a, r)) <= words)
        {
            // Order the dimensions by how few policies they name.
            Span<(int Estimate, int Which)> order = [(p, 0), (a, 1), (r, 2)];
            order.Sort((x, y) => x.Estimate.CompareTo(y.Estimate));
            var first = SortedPositions(order[0].Which, env, scratchPositions ??= []);
            if (order[1].Estimate <= words)
            {
                var second = SortedPositions(order[1].Which, env, scratchOther ??= []);
                IntersectInPlace(first, second);
            }
            foreach (var position in first) into.Add(policies[position]);
            return;
        }
        var result = Rent(ref scratchA);
        var dimension = Rent(ref scratchB);
        principal.Fill(env.Principal, env.PrincipalAncestors, result);
        action.Fill(env.Action, env.ActionAncestors, dimension);
        And(result, dimension);
        resource.Fill(env.Resource, env.ResourceAncestors, dimension);
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

    private List<int> SortedPositions(int which, EvalEnv env, List<int> positions)
    {
        positions.Clear();
        switch (which)
        {
            case 0: principal.Collect(env.Principal, env.PrincipalAncestors, positions); break;
            case 1: action.Collect(env.Action, env.ActionAncestors, positions); break;
            default: resource.Collect(env.Resource, env.ResourceAncestors, positions); break;
        }
        positions.Sort();
        // Remove duplicates (a policy can be reached through several ancestors).
        var kept = 0;
        for (var i = 0; i < positions.Count; i++)
            if (kept == 0 || positions[kept - 1] != positions[i]) positions[kept++] = positions[i];
        positions.RemoveRange(kept, positions.Count - kept);
        return positions;
    }

    private static void IntersectInPlace(List<int> target, List<int> other)
    {
        int i = 0, j = 0, kept = 0;
        while (i < target.Count && j < other.Count)
        {
            var x = target[i];
            var y = other[j];
            if (x == y) { target[kept++] = x; i++; j++; }
            else if (x < y) i++;
            else j++;
        }
        target.RemoveRange(kept, target.Count - kept);
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
        public int Count => positions.Length;
        public int[] Positions => positions;

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
        private readonly int[] unconstrainedPositions;
        private readonly Dictionary<EntityValue, Bucket> byEntity;
        private readonly FrozenDictionary<string, Bucket> byType;
        private readonly bool needsAncestors;
        private readonly int words;

        public Dimension(Policy[] policies, int words, Func<Policy, ScopeConstraint> select)
        {
            this.words = words;
            unconstrained = new ulong[words];
            var any = new List<int>();
            var entity = new Dictionary<EntityValue, List<int>>(EntityValueComparer.Instance);
            var type = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            for (var i = 0; i < policies.Length; i++)
            {
                var scope = select(policies[i]);
                switch (scope.Kind)
                {
                    case ScopeKind.Any: unconstrained[i >> 6] |= 1UL << (i & 63); any.Add(i); break;
                    case ScopeKind.Equal: Add(entity, scope.Target!, i); break;
                    case ScopeKind.In:
                    case ScopeKind.IsIn:
                        Add(entity, scope.Target!, i);
                        needsAncestors = true;
                        break;
                    case ScopeKind.Is: Add(type, scope.EntityType!, i); break;
                    case ScopeKind.InSet:
                        foreach (var target in scope.Targets!.Distinct(EntityValueComparer.Instance)) Add(entity, target, i);
                        needsAncestors = true;
                        break;
                }
            }
            unconstrainedPositions = [.. any];
            byEntity = entity.ToDictionary(pair => pair.Key, pair => Bucket.Create(pair.Value, words), EntityValueComparer.Instance);
            byType = type.ToFrozenDictionary(pair => pair.Key, pair => Bucket.Create(pair.Value, words), StringComparer.Ordinal);
        }

        private static void Add<TKey>(Dictionary<TKey, List<int>> map, TKey key, int position) where TKey : notnull
        {
            if (!map.TryGetValue(key, out var list)) map[key] = list = [];
            list.Add(position);
        }

        public int Estimate(EntityValue uid, AncestorSet ancestors)
        {
            var count = unconstrainedPositions.Length;
            if (byEntity.TryGetValue(uid, out var direct)) count += direct.Count;
            if (byType.TryGetValue(uid.Uid.Type, out var typed)) count += typed.Count;
            if (!needsAncestors) return count;
            foreach (var ancestor in ancestors.Items)
                if (byEntity.TryGetValue(ancestor, out var inherited)) count += inherited.Count;
            return count;
        }

        public void Collect(EntityValue uid, AncestorSet ancestors, List<int> into)
        {
            into.AddRange(unconstrainedPositions);
            if (byEntity.TryGetValue(uid, out var direct)) into.AddRange(direct.Positions);
            if (byType.TryGetValue(uid.Uid.Type, out var typed)) into.AddRange(typed.Positions);
            if (!needsAncestors) return;
            foreach (var ancestor in ancestors.Items)
                if (byEntity.TryGetValue(ancestor, out var inherited)) into.AddRange(inherited.Positions);
        }

        public void Fill(EntityValue uid, AncestorSet ancestors, ulong[] bits)
        {
            Array.Copy(unconstrained, bits, words);
            if (byEntity.TryGetValue(uid, out var direct)) direct.OrInto(bits);
            if (byType.TryGetValue(uid.Uid.Type, out var typed)) typed.OrInto(bits);
            if (!needsAncestors) return;
            foreach (var ancestor in ancestors.Items)
                if (byEntity.TryGetValue(ancestor, out var inherited)) inherited.OrInto(bits);
        }
    }
}
