using System.Net;
using System.Net.Sockets;

namespace RuntimeAuthz.Testing;

/// <summary>
/// A loopback TCP proxy to <c>127.0.0.1:targetPort</c> that holds every chunk of data for <see cref="Latency"/> before
/// passing it on, in both directions (a slow network between a silo and its storage). The latency can change while
/// connections are open; each direction keeps its bytes in order.
/// </summary>
public sealed class LatencyProxy : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly int targetPort;
    private readonly CancellationTokenSource stopping = new();
    private readonly List<TcpClient> open = [];
    private readonly Task accepting;
    private long latencyTicks;

    public LatencyProxy(int targetPort)
    {
        this.targetPort = targetPort;
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Added to every chunk in each direction (so a request/response pays about twice this).</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref latencyTicks));
        set => Interlocked.Exchange(ref latencyTicks, value.Ticks);
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient inbound;
            try { inbound = await listener.AcceptTcpClientAsync(stopping.Token); }
            catch (OperationCanceledException) { return; }
            catch (SocketException) { return; }
            _ = RelayAsync(inbound);
        }
    }

    private async Task RelayAsync(TcpClient inbound)
    {
        var outbound = new TcpClient { NoDelay = true };
        inbound.NoDelay = true;
        lock (open) { open.Add(inbound); open.Add(outbound); }
        try
        {
            await outbound.ConnectAsync(IPAddress.Loopback, targetPort, stopping.Token);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
            var up = PumpAsync(inbound.GetStream(), outbound.GetStream(), either.Token);
            var down = PumpAsync(outbound.GetStream(), inbound.GetStream(), either.Token);
            await Task.WhenAny(up, down);
            await either.CancelAsync();
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            // The target refused or a side closed: the caller sees the connection drop, as with a real network.
        }
        finally
        {
            lock (open) { open.Remove(inbound); open.Remove(outbound); }
            inbound.Dispose();
            outbound.Dispose();
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (Latency is { Ticks: > 0 } delay) await Task.Delay(delay, cancellationToken);
                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed from either side.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        await accepting;
        lock (open)
        {
            foreach (var client in open) client.Dispose();
            open.Clear();
        }
        stopping.Dispose();
    }
}
