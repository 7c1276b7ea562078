using System.Net;
using System.Net.Sockets;

namespace RuntimeAuthz.Cluster.Tests.Evidence;

/// <summary>
/// A loopback TCP forwarder on a fixed port that can be switched off (listener closed, live
/// connections reset: the target becomes unreachable) and on again, to take storage away from a
/// client without touching the storage itself.
/// </summary>
public sealed class TcpSwitch : IAsyncDisposable
{
    private readonly int targetPort;
    private readonly List<TcpClient> connections = [];
    private TcpListener? listener;
    private CancellationTokenSource? running;

    public TcpSwitch(int targetPort)
    {
        this.targetPort = targetPort;
        Port = FreePorts.Next();
    }

    public int Port { get; }

    public void On()
    {
        if (listener is not null) return;
        running = new CancellationTokenSource();
        listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _ = AcceptAsync(listener, running.Token);
    }

    public void Off()
    {
        running?.Cancel();
        listener?.Stop();
        listener = null;
        lock (connections)
        {
            foreach (var c in connections)
            {
                try { c.Client.LingerState = new LingerOption(true, 0); c.Close(); } catch (Exception) { /* already gone */ }
            }
            connections.Clear();
        }
    }

    private async Task AcceptAsync(TcpListener server, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            TcpClient inbound;
            try { inbound = await server.AcceptTcpClientAsync(token); }
            catch (Exception) { return; }
            var outbound = new TcpClient();
            try { await outbound.ConnectAsync(IPAddress.Loopback, targetPort, token); }
            catch (Exception) { inbound.Close(); outbound.Close(); continue; }
            lock (connections) { connections.Add(inbound); connections.Add(outbound); }
            _ = PumpAsync(inbound, outbound, token);
            _ = PumpAsync(outbound, inbound, token);
        }
    }

    private static async Task PumpAsync(TcpClient from, TcpClient to, CancellationToken token)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream(), token);
        }
        catch (Exception) { /* closed by either side or switched off */ }
        finally
        {
            from.Close();
            to.Close();
        }
    }

    public ValueTask DisposeAsync()
    {
        Off();
        return ValueTask.CompletedTask;
    }
}
