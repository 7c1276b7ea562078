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

    private Process process;

    private AzuriteServer(Process process, int port, string dataDirectory, bool inMemory)
    {
        this.process = process;
        Port = port;
        DataDirectory = dataDirectory;
        InMemory = inMemory;
    }

    public int Port { get; }
    public string DataDirectory { get; }

    /// <summary>Started with <c>--inMemoryPersistence</c>: nothing is written to disk, and a stop loses every table.</summary>
    public bool InMemory { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};TableEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;";

    /// <summary>The CPU time Azurite has used so far (the benchmarks report it).</summary>
    public TimeSpan ProcessorTime
    {
        get { process.Refresh(); return process.TotalProcessorTime; }
    }

    /// <summary>Starts Azurite and returns once it accepts connections.</summary>
    /// <param name="inMemory">
    /// Keep the tables in memory only (<c>--inMemoryPersistence</c>). On disk, Azurite rewrites its whole data file every
    /// few seconds while anything changed, which at millions of rows costs more than the requests themselves (the fleet
    /// benchmarks); tests that stop and restart Azurite need the default.
    /// </param>
    public static async Task<AzuriteServer> StartAsync(bool inMemory = false)
    {
        var port = FreePorts.Next();
        var data = Directory.CreateTempSubdirectory("authz-azurite-").FullName;
        var server = new AzuriteServer(Launch(port, data, inMemory), port, data, inMemory);
        try
        {
            await server.WaitUntilAcceptingAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static Process Launch(int port, string data, bool inMemory)
    {
        var executable = Path.Combine(RepoPaths.Root, "node_modules", ".bin", "azurite-table");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed ({executable} is missing). Run `npm ci` in {RepoPaths.Root} first (package.json pins azurite; ./test does it).");
        }
        var start = new ProcessStartInfo(executable)
        {
            ArgumentList = { "--tableHost", "127.0.0.1", "--tablePort", port.ToString(CultureInfo.InvariantCulture), "--silent", "--skipApiVersionCheck", "--disableTelemetry" },
            // Azurite refuses a location with --inMemoryPersistence; its working directory then holds nothing of ours.
            WorkingDirectory = data,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (inMemory) start.ArgumentList.Add("--inMemoryPersistence");
        else
        {
            start.ArgumentList.Add("--location");
            start.ArgumentList.Add(data);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start azurite-table");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private Task WaitUntilAcceptingAsync() =>
        Eventually.TrueAsync($"azurite-table to accept connections on 127.0.0.1:{Port}", () => AcceptsConnectionsAsync(), StartTimeout, TimeSpan.FromMilliseconds(100));

    /// <summary>SIGSTOP: the process stays, its connections stay open, and nothing is answered (a storage stall).</summary>
    public Task SuspendAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT after <see cref="SuspendAsync"/>.</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    /// <summary>Stops Azurite gracefully (it saves its data) and returns once the port refuses connections.</summary>
    public async Task StopAsync()
    {
        await ResumeAsync();
        if (!await StopWithAsync("INT", CloseGrace) && !await StopWithAsync("TERM", TerminateGrace))
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Starts Azurite again on the same port and data directory after <see cref="StopAsync"/> (empty when <see cref="InMemory"/>).</summary>
    public async Task StartAgainAsync()
    {
        if (!process.HasExited) throw new InvalidOperationException("azurite-table is still running: StopAsync first");
        process.Dispose();
        process = Launch(Port, DataDirectory, InMemory);
        await WaitUntilAcceptingAsync();
    }

    private async Task SignalAsync(string signal)
    {
        if (process.HasExited) return;
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
        if (kill is not null) await kill.WaitForExitAsync();
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
        // A suspended Azurite would not see SIGINT: continue it first.
        await StopAsync();
        process.Dispose();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Sends the signal and waits up to <paramref name="grace"/>; true once the process has exited.</summary>
    private async Task<bool> StopWithAsync(string signal, TimeSpan grace)
    {
        if (process.HasExited) return true;
        await SignalAsync(signal);
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
