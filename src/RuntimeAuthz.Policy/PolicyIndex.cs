using System.Collections.Frozen;
using System.Numerics;
using RuntimeAuthz.Policy.Evaluation;

namespace RuntimeAuthz.Policy;

/// <summary>
/// Finds the policies whose scope can match a request without looking at the others.
/// Each scope dimension (principal, action, resource) maps entity uids and entity types to
/// "buckets" of positions of the policies that name them. A request probes each dimension with its
/// uid, its ancestors and its type. When a dimension names few policies, the two most selective
/// dimensions are intersected position by position; otherwise the three dimensions are intersected
/// as bitmaps. The full scope check still runs on each survivor, so the index only has to
/// over-approximate. The cost per request depends on the buckets touched (or the number of
/// policies / 64), not on how many policies exist.
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

    // Per-thread scratch space, so deciding a request allocates nothing here.
    [ThreadStatic] private static ulong[]? scratchA;
    [ThreadStatic] private static ulong[]? scratchB;
    [ThreadStatic] private static List<int>? scratchPositions;
    [ThreadStatic] private static List<Bucket>? principalBuckets;
    [ThreadStatic] private static List<Bucket>? actionBuckets;
    [ThreadStatic] private static List<Bucket>? resourceBuckets;
    [ThreadStatic] private static int[]? stamps;
    [ThreadStatic] private static int stampCounter;

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
        var pb = principalBuckets ??= [];
        var ab = actionBuckets ??= [];
        var rb = resourceBuckets ??= [];
        var p = principal.Probe(env.Principal, env.PrincipalAncestors, pb);
        var a = action.Probe(env.Action, env.ActionAncestors, ab);
        var r = resource.Probe(env.Resource, env.ResourceAncestors, rb);
        try
        {
            if (Math.Min(p, Math.Min(a, r)) <= words)
            {
                // Most selective dimension first, then the runner-up if it is selective too.
                (int Count, List<Bucket> Buckets) first = (p, pb), second = (a, ab), third = (r, rb);
                if (second.Count < first.Count) (first, second) = (second, first);
                if (third.Count < first.Count) (first, third) = (third, first);
                if (third.Count < second.Count) second = third;
                var positions = Intersect(first.Buckets, second.Count <= words ? second.Buckets : null);
                foreach (var position in positions) into.Add(policies[position]);
                return;
            }
            var result = Rent(ref scratchA);
            var dimension = Rent(ref scratchB);
            Fill(pb, result);
            Fill(ab, dimension);
            And(result, dimension);
            Fill(rb, dimension);
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
        finally
        {
            pb.Clear();
            ab.Clear();
            rb.Clear();
        }
    }

    /// <summary>
    /// Positions named by <paramref name="first"/> (and by <paramref name="second"/>, when given), sorted
    /// and without duplicates. Uses per-thread stamps instead of sets: a position is "seen" when its
    /// stamp equals the stamp of the current pass.
    /// </summary>
    private List<int> Intersect(List<Bucket> first, List<Bucket>? second)
    {
        var marks = stamps;
        if (marks is null || marks.Length < policies.Length) stamps = marks = new int[Math.Max(policies.Length, 64)];
        if (stampCounter > int.MaxValue - 4)
        {
            Array.Clear(marks);
            stampCounter = 0;
        }
        var seenInFirst = ++stampCounter;
        var taken = ++stampCounter;
        var result = scratchPositions ??= [];
        result.Clear();
        foreach (var bucket in first)
        {
            foreach (var position in bucket.Positions)
            {
                if (second is null)
                {
                    if (marks[position] == taken) continue;
                    marks[position] = taken;
                    result.Add(position);
                }
                else marks[position] = seenInFirst;
            }
        }
        if (second is not null)
        {
            foreach (var bucket in second)
            {
                foreach (var position in bucket.Positions)
                {
                    if (marks[position] != seenInFirst) continue;
                    marks[position] = taken;
                    result.Add(position);
                }
            }
        }
        if (result.Count > 1) result.Sort();
        return result;
    }

    private static void Fill(List<Bucket> buckets, ulong[] bits)
    {
        Array.Clear(bits);
        foreach (var bucket in buckets) bucket.OrInto(bits);
    }

    private ulong[] Rent(ref ulong[]? scratch)
    {
        if (scratch is null || scratch.Length != words) scratch = new ulong[words];
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
            // Big buckets are kept as bitmaps too: OR-ing words beats setting thousands of bits one by one.
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
        private readonly Bucket? unconstrained;
        private readonly Dictionary<EntityValue, Bucket> byEntity;
        private readonly FrozenDictionary<string, Bucket> byType;
        private readonly bool needsAncestors;

        public Dimension(Policy[] policies, int words, Func<Policy, ScopeConstraint> select)
        {
            var any = new List<int>();
            var entity = new Dictionary<EntityValue, List<int>>(EntityValueComparer.Instance);
            var type = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            for (var i = 0; i < policies.Length; i++)
            {
                var scope = select(policies[i]);
                switch (scope.Kind)
                {
                    case ScopeKind.Any: any.Add(i); break;
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
            unconstrained = any.Count > 0 ? Bucket.Create(any, words) : null;
            byEntity = entity.ToDictionary(pair => pair.Key, pair => Bucket.Create(pair.Value, words), EntityValueComparer.Instance);
            byType = type.ToFrozenDictionary(pair => pair.Key, pair => Bucket.Create(pair.Value, words), StringComparer.Ordinal);
        }

        private static void Add<TKey>(Dictionary<TKey, List<int>> map, TKey key, int position) where TKey : notnull
        {
            if (!map.TryGetValue(key, out var list)) map[key] = list = [];
            list.Add(position);
        }

        /// <summary>Collects the buckets that may match <paramref name="uid"/>; returns how many positions they hold.</summary>
        public int Probe(EntityValue uid, AncestorSet ancestors, List<Bucket> found)
        {
            var count = 0;
            if (unconstrained is not null) { found.Add(unconstrained); count += unconstrained.Count; }
            if (byEntity.TryGetValue(uid, out var direct)) { found.Add(direct); count += direct.Count; }
            if (byType.TryGetValue(uid.Uid.Type, out var typed)) { found.Add(typed); count += typed.Count; }
            if (!needsAncestors) return count;
            foreach (var ancestor in ancestors.Items)
            {
                if (byEntity.TryGetValue(ancestor, out var inherited)) { found.Add(inherited); count += inherited.Count; }
            }
            return count;
        }
    }
}
