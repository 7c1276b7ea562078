using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace RuntimeAuthz.Testing;

/// <summary>
/// azurite-table from the repository's node_modules on a free loopback port, its data in a temporary directory,
/// for the test projects and the benchmarks alike. Stopped gracefully: Azurite writes its data file late (on close),
/// and azurite-table 3.37 closes on SIGINT only (SIGTERM would end it without saving), so SIGINT first, SIGTERM if
/// it does not exit, and a kill only as the last resort.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account key (public; not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan TerminateGrace = TimeSpan.FromSeconds(5);

    private readonly Process process;

    private AzuriteServer(Process process, int port, string dataDirectory)
    {
        this.process = process;
        Port = port;
        DataDirectory = dataDirectory;
    }

    public int Port { get; }

    /// <summary>The azurite-table process (tests stop and continue it to simulate stalled storage).</summary>
    public int ProcessId => process.Id;
    public string DataDirectory { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};TableEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;";

    /// <summary>The CPU time Azurite has used so far (the benchmarks report it).</summary>
    public TimeSpan ProcessorTime
    {
        get { process.Refresh(); return process.TotalProcessorTime; }
    }

    /// <summary>Starts Azurite and returns once it accepts connections.</summary>
    public static async Task<AzuriteServer> StartAsync()
    {
        var executable = Path.Combine(RepoPaths.Root, "node_modules", ".bin", "azurite-table");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed ({executable} is missing). Run `npm ci` in {RepoPaths.Root} first (package.json pins azurite; ./test does it).");
        }
        var port = FreePorts.Next();
        var data = Directory.CreateTempSubdirectory("authz-azurite-").FullName;
        var start = new ProcessStartInfo(executable)
        {
            ArgumentList = { "--tableHost", "127.0.0.1", "--tablePort", port.ToString(CultureInfo.InvariantCulture), "--location", data, "--silent", "--skipApiVersionCheck", "--disableTelemetry" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start azurite-table");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new AzuriteServer(process, port, data);
        try
        {
            await Eventually.TrueAsync($"azurite-table to accept connections on 127.0.0.1:{port}", () => server.AcceptsConnectionsAsync(), StartTimeout, TimeSpan.FromMilliseconds(100));
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task<bool> AcceptsConnectionsAsync()
    {
        if (process.HasExited) throw new InvalidOperationException($"azurite-table exited with code {process.ExitCode} while starting");
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!await StopWithAsync("INT", CloseGrace) && !await StopWithAsync("TERM", TerminateGrace))
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Sends the signal and waits up to <paramref name="grace"/>; true once the process has exited.</summary>
    private async Task<bool> StopWithAsync(string signal, TimeSpan grace)
    {
        if (process.HasExited) return true;
        using (var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
        {
            if (kill is not null) await kill.WaitForExitAsync();
        }
        using var wait = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
