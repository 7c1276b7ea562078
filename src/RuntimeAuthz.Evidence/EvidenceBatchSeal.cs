using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace RuntimeAuthz.Evidence;

/// <summary>
/// One signature for a batch of records that still proves each record on its own: the records'
/// hashes are the leaves of a Merkle tree (RFC 9162 §2.1: leaf <c>SHA-256(0x00 || hash)</c>, node
/// <c>SHA-256(0x01 || left || right)</c>), the root is signed once, and every record keeps the
/// signature and its audit path (<see cref="EvidenceEntry.Proof"/>). A verifier recomputes the root
/// from the record's hash and path and checks the signature: no other record of the batch is needed,
/// so a removed or changed neighbour does not affect it, and a changed path or signature fails.
/// </summary>
public static class EvidenceBatchSeal
{
    private const string SignedPrefix = "runtimeauthz-evidence-batch/1:";
    private const int HashBytes = 32;

    /// <summary>
    /// Signs <paramref name="entries"/> (sealed without a signature, see <see cref="EvidenceSealer.SealUnsigned"/>) with one signature:
    /// a single record gets a signature over its body as always, two or more share the signed root and get their paths.
    /// </summary>
    public static EvidenceEntry[] Sign(IReadOnlyList<EvidenceEntry> entries, EvidenceSigningKey key)
    {
        if (entries.Count == 1) return [entries[0] with { Signature = key.Sign(entries[0].Body), Proof = null }];
        var tree = new Tree(entries.Count);
        for (var i = 0; i < entries.Count; i++) tree.Leaves[i] = Leaf(entries[i].Hash);
        var signature = key.Sign(SignedText(entries.Count, tree.Root(0, entries.Count)));
        var signed = new EvidenceEntry[entries.Count];
        for (var i = 0; i < signed.Length; i++)
        {
            var path = new List<byte[]>();
            tree.Path(0, entries.Count, i, path);
            signed[i] = entries[i] with { Signature = signature, Proof = FormatProof(i, entries.Count, path) };
        }
        return signed;
    }

    /// <summary>Checks a batch-signed record's path and the signature over the root; null when it holds, else the problem.</summary>
    public static string? Verify(EvidenceEntry entry, EvidencePublicKeys keys, string keyId)
    {
        if (!TryParseProof(entry.Proof!, out var index, out var count, out var path))
            return "its batch proof is not an audit path (index/count:hash:...)";
        byte[] leaf;
        try { leaf = Leaf(entry.Hash); }
        catch (FormatException) { return "its hash is not 64 hex digits"; }
        if (RootFromPath(leaf, index, count, path, path.Count) is not { } root)
            return $"its batch proof has the wrong number of hashes for record {index + 1} of {count}";
        return keys.Verify(keyId, SignedText(count, root), entry.Signature)
            ? null
            : $"batch signature does not verify with key '{keyId}' (the record's hash, its batch proof or the signature was changed)";
    }

    private static string SignedText(int count, byte[] root) =>
        SignedPrefix + count.ToString(CultureInfo.InvariantCulture) + ":" + Convert.ToHexStringLower(root);

    private static byte[] Leaf(string recordHash)
    {
        var bytes = Convert.FromHexString(recordHash);
        if (bytes.Length != HashBytes) throw new FormatException("not a SHA-256 hash");
        Span<byte> input = stackalloc byte[HashBytes + 1];
        input[0] = 0;
        bytes.CopyTo(input[1..]);
        return SHA256.HashData(input);
    }

    private static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> input = stackalloc byte[2 * HashBytes + 1];
        input[0] = 1;
        left.CopyTo(input[1..]);
        right.CopyTo(input[(1 + HashBytes)..]);
        return SHA256.HashData(input);
    }

    /// <summary>The largest power of two below <paramref name="n"/> (n ≥ 2): where RFC 9162 splits a tree.</summary>
    private static int Split(int n) => 1 << (31 - int.LeadingZeroCount(n - 1));

    /// <summary>The leaves and every subtree root computed once (a path reuses the roots of its siblings).</summary>
    private sealed class Tree(int count)
    {
        private readonly Dictionary<(int Start, int Count), byte[]> roots = [];

        public byte[][] Leaves { get; } = new byte[count][];

        public byte[] Root(int start, int count)
        {
            if (count == 1) return Leaves[start];
            if (roots.TryGetValue((start, count), out var known)) return known;
            var k = Split(count);
            return roots[(start, count)] = Node(Root(start, k), Root(start + k, count - k));
        }

        /// <summary>The audit path of leaf <paramref name="index"/> in the subtree Leaves[start..start+count], deepest sibling first.</summary>
        public void Path(int start, int count, int index, List<byte[]> path)
        {
            if (count == 1) return;
            var k = Split(count);
            if (index < k)
            {
                Path(start, k, index, path);
                path.Add(Root(start + k, count - k));
            }
            else
            {
                Path(start + k, count - k, index - k, path);
                path.Add(Root(start, k));
            }
        }
    }

    /// <summary>The root from a leaf and the first <paramref name="used"/> hashes of its path; null when the path's length does not fit.</summary>
    private static byte[]? RootFromPath(byte[] leaf, int index, int count, IReadOnlyList<byte[]> path, int used)
    {
        if (count == 1) return used == 0 ? leaf : null;
        if (used == 0) return null;
        var k = Split(count);
        var sibling = path[used - 1];
        if (index < k)
            return RootFromPath(leaf, index, k, path, used - 1) is { } left ? Node(left, sibling) : null;
        return RootFromPath(leaf, index - k, count - k, path, used - 1) is { } right ? Node(sibling, right) : null;
    }

    private static string FormatProof(int index, int count, List<byte[]> path)
    {
        var text = new StringBuilder(16 + path.Count * (2 * HashBytes + 1));
        text.Append(CultureInfo.InvariantCulture, $"{index}/{count}");
        foreach (var hash in path) text.Append(':').Append(Convert.ToHexStringLower(hash));
        return text.ToString();
    }

    private static bool TryParseProof(string proof, out int index, out int count, out List<byte[]> path)
    {
        path = [];
        index = count = 0;
        var parts = proof.Split(':');
        var position = parts[0].Split('/');
        if (position.Length != 2
            || !int.TryParse(position[0], NumberStyles.None, CultureInfo.InvariantCulture, out index)
            || !int.TryParse(position[1], NumberStyles.None, CultureInfo.InvariantCulture, out count)
            || count < 2 || index >= count)
            return false;
        foreach (var part in parts.AsSpan(1))
        {
            if (part.Length != 2 * HashBytes) return false;
            try { path.Add(Convert.FromHexString(part)); }
            catch (FormatException) { return false; }
        }
        return true;
    }
}
