using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace RuntimeAuthz.Bench;

/// <summary>Command-line, port and repository lookups shared by the benchmark modes.</summary>
internal static class BenchSupport
{
    public static int ArgValue(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The folder holding RuntimeAuthz.Cluster.sln, searched from the binary, the working directory and this source file.</summary>
    public static string FindRepoRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory, Path.GetDirectoryName(sourceFile) ?? "" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "RuntimeAuthz.Cluster.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("run from inside the repository (RuntimeAuthz.Cluster.sln not found)");
    }
}

/// <summary>azurite-table from node_modules on a free port, data in a temp folder; stopped with SIGTERM so it flushes.</summary>
internal sealed class AzuriteProcess : IDisposable
{
    private readonly Process process;
    private readonly string data;

    private AzuriteProcess(Process process, int port, string data)
    {
        this.process = process;
        Port = port;
        this.data = data;
    }

    public int Port { get; }

    public TimeSpan ProcessorTime
    {
        get { process.Refresh(); return process.TotalProcessorTime; }
    }

    public string ConnectionString =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        $"TableEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;";

    public static AzuriteProcess Start(string root)
    {
        var executable = Path.Combine(root, "node_modules", ".bin", "azurite-table");
        if (!File.Exists(executable)) throw new InvalidOperationException($"{executable} is missing: run npm ci");
        var port = BenchSupport.FreePort();
        var data = Directory.CreateTempSubdirectory("bench-azurite-").FullName;
        var process = Process.Start(new ProcessStartInfo(executable)
        {
            ArgumentList = { "--tableHost", "127.0.0.1", "--tablePort", port.ToString(CultureInfo.InvariantCulture), "--location", data, "--silent", "--skipApiVersionCheck", "--disableTelemetry" },
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        }) ?? throw new InvalidOperationException("could not start azurite-table");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect("127.0.0.1", port);
                return new AzuriteProcess(process, port, data);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                Thread.Sleep(100);
            }
        }
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])) term.WaitForExit();
            if (!process.WaitForExit(10_000)) process.Kill(entireProcessTree: true);
        }
        process.Dispose();
        try { Directory.Delete(data, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
