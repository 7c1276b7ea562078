using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace RuntimeAuthz.Bench.Http;

/// <summary>
/// A loopback relay between the silo and Azurite that counts the HTTP requests going through it (a
/// batch transaction is one request), so a benchmark can report storage requests per operation, a
/// figure that does not depend on the machine's load. Requests are read head by head (a head, then
/// Content-Length bytes of body; the Azure SDK sends no chunked bodies); responses are copied as they come.
/// </summary>
public sealed partial class StorageRequestCounter : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly int target;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task accepting;
    private readonly Dictionary<string, StorageTraffic> byKind = new(StringComparer.Ordinal);

    private StorageRequestCounter(int targetPort)
    {
        target = targetPort;
        listener.Start();
        accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>Requests and bytes sent (head and body) so far by method and table (a batch by the table its first operation names).</summary>
    public IReadOnlyDictionary<string, StorageTraffic> ByKind()
    {
        lock (byKind) return new Dictionary<string, StorageTraffic>(byKind, StringComparer.Ordinal);
    }

    /// <summary>
    /// Prints the requests (and bytes) sent since <paramref name="before"/> per <paramref name="unit"/>, in total and by kind:
    /// every request the silo sent Azurite, background work included.
    /// </summary>
    public void Print(IReadOnlyDictionary<string, StorageTraffic> before, long units, string unit)
    {
        var delta = ByKind().Select(k => (Kind: k.Key, Traffic: k.Value - before.GetValueOrDefault(k.Key))).Where(k => k.Traffic.Requests > 0).ToArray();
        var per = (double)Math.Max(1, units);
        var (requests, bytes) = (delta.Sum(k => k.Traffic.Requests), delta.Sum(k => k.Traffic.Bytes));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"storage requests during the run: {requests} for {units} {unit}s, {requests / per:0.000} per {unit}, {bytes / per:0} bytes sent per {unit} (every request the silo sent Azurite, background work included)"));
        foreach (var (kind, traffic) in delta.OrderByDescending(k => k.Traffic.Requests))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {kind}: {traffic.Requests / per:0.000} per {unit}, {traffic.Bytes / (double)traffic.Requests:0} bytes per request"));
    }

    /// <summary>A relay to Azurite's table port; <see cref="ConnectionString"/> points through it.</summary>
    public static StorageRequestCounter For(RuntimeAuthz.Testing.AzuriteServer azurite) => new(azurite.Port);

    /// <summary><paramref name="connectionString"/> with its table endpoint moved to the relay (shared-key signatures do not cover the port).</summary>
    public string ConnectionString(string connectionString) =>
        connectionString.Replace($"127.0.0.1:{target}/", $"127.0.0.1:{Port}/", StringComparison.Ordinal);

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopping.Token);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var upstream = new TcpClient { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, target, stopping.Token);
            var (fromSilo, toAzurite) = (client.GetStream(), upstream.GetStream());
            await Task.WhenAny(CountRequestsAsync(fromSilo, toAzurite), toAzurite.CopyToAsync(fromSilo, stopping.Token));
        }
        catch (Exception)
        {
            // A connection closed or the relay stopping: the silo's client reconnects.
        }
    }

    private async Task CountRequestsAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[64 * 1024];
        var (filled, bodyLeft) = (0, 0L);
        while (true)
        {
            var read = await from.ReadAsync(buffer.AsMemory(filled), stopping.Token);
            if (read == 0) return;
            filled += read;
            var consumed = 0;
            while (consumed < filled)
            {
                if (bodyLeft > 0)
                {
                    var take = (int)Math.Min(bodyLeft, filled - consumed);
                    (consumed, bodyLeft) = (consumed + take, bodyLeft - take);
                    continue;
                }
                var end = buffer.AsSpan(consumed, filled - consumed).IndexOf("\r\n\r\n"u8);
                if (end < 0) break; // the rest of the head is still coming
                var head = Encoding.ASCII.GetString(buffer, consumed, end);
                bodyLeft = ContentLength().Match(head) is { Success: true } length ? long.Parse(length.Groups[1].ValueSpan, provider: null) : 0;
                consumed += end + 4;
                Count(head, Encoding.ASCII.GetString(buffer, consumed, (int)Math.Min(bodyLeft, Math.Min(filled - consumed, 4096))), end + 4 + bodyLeft);
            }
            if (consumed > 0) await to.WriteAsync(buffer.AsMemory(0, consumed), stopping.Token);
            Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
            filled -= consumed;
            if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
        }
    }

    private void Count(string head, string bodyStart, long bytes)
    {
        var line = RequestLine().Match(head);
        var kind = !line.Success ? "?" : line.Groups[2].Value == "$batch"
            ? "batch " + (BatchTable().Match(bodyStart) is { Success: true } table ? table.Groups[1].Value : "?")
            : line.Groups[1].Value + " " + line.Groups[2].Value;
        lock (byKind) byKind[kind] = byKind.GetValueOrDefault(kind) + new StorageTraffic(1, bytes);
    }

    [GeneratedRegex(@"\r\nContent-Length:\s*(\d+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ContentLength();

    [GeneratedRegex(@"^(\S+) /[^/]+/([^/(?\s]+)", RegexOptions.CultureInvariant)]
    private static partial Regex RequestLine();

    [GeneratedRegex(@"(?:PUT|MERGE|POST|DELETE|PATCH) \S+?/devstoreaccount1/([^/(?\s]+)", RegexOptions.CultureInvariant)]
    private static partial Regex BatchTable();

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        await accepting;
        stopping.Dispose();
    }
}

/// <summary>Requests and the bytes they sent (request heads and bodies).</summary>
public readonly record struct StorageTraffic(long Requests, long Bytes)
{
    public static StorageTraffic operator +(StorageTraffic a, StorageTraffic b) => new(a.Requests + b.Requests, a.Bytes + b.Bytes);
    public static StorageTraffic operator -(StorageTraffic a, StorageTraffic b) => new(a.Requests - b.Requests, a.Bytes - b.Bytes);
}
