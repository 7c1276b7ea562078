using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace RuntimeAuthz.Testing;

/// <summary>Loopback ports that were free when asked for, never the same one twice in a process.</summary>
public static class FreePorts
{
    // The OS may hand a just-released ephemeral port out again at once: two calls in a row could
    // name one port for the silo and the gateway of the same host.
    private static readonly ConcurrentDictionary<int, bool> HandedOut = new();

    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (HandedOut.TryAdd(port, true)) return port;
        }
    }
}
