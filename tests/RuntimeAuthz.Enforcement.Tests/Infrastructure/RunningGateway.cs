using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using RuntimeAuthz.HttpGateway;

namespace RuntimeAuthz.Enforcement.Tests.Infrastructure;

/// <summary>The real HTTP gateway host (GatewayHost.Build, Kestrel on 127.0.0.1:0) in front of the recording API, trusting the test issuer.</summary>
public sealed class RunningGateway : IAsyncDisposable
{
    /// <summary>The routes the tests use: method + path → action and resource type, route value → resource id.</summary>
    public static readonly IReadOnlyList<(string Name, string Method, string Path, string Action, string ResourceType, string ResourceId)> Routes =
    [
        ("read-document", "GET", "/documents/{id}", "read_file", "Document", "{id}"),
        ("broken-document", "GET", "/broken/{id}", "read_file", "Document", "{id}"),
        ("pay", "POST", "/accounts/{account}/payments", "send_payment", "Account", "{account}"),
        ("drop-database", "DELETE", "/databases/{name}", "delete_database", "Database", "{name}"),
    ];

    private readonly WebApplication app;
    private readonly string secretFile;
    private readonly List<HttpClient> clients = [];

    private RunningGateway(WebApplication app, string secretFile, Uri address)
    {
        this.app = app;
        this.secretFile = secretFile;
        BaseAddress = address;
    }

    public Uri BaseAddress { get; }

    /// <summary>The configuration a gateway in front of the recording API needs, as command-line arguments.</summary>
    public static string[] Arguments(EnforcementEnvironment environment, Uri clusterUrl, string secretFile, params string[] extra)
    {
        var args = new List<string>
        {
            "--urls", "http://127.0.0.1:0",
            $"--{GatewayOptions.Section}:Cluster:Url={clusterUrl}",
            $"--{GatewayOptions.Section}:Cluster:Issuer={environment.Issuer.Authority}",
            $"--{GatewayOptions.Section}:Cluster:ClientId={EnforcementEnvironment.EnforcementPoint.ClientId}",
            $"--{GatewayOptions.Section}:Cluster:ClientSecretFile={secretFile}",
            $"--{GatewayOptions.Section}:Cluster:TimeoutSeconds=5",
            $"--{GatewayOptions.Section}:Authentication:Authority={environment.Issuer.Authority}",
            $"--{GatewayOptions.Section}:Authentication:RequireHttpsMetadata=false",
            $"--{GatewayOptions.Section}:Upstreams:api={environment.Api.BaseAddress}",
        };
        for (var i = 0; i < Routes.Count; i++)
        {
            var route = Routes[i];
            var at = $"--{GatewayOptions.Section}:Routes:{i}";
            args.AddRange([$"{at}:Name={route.Name}", $"{at}:Method={route.Method}", $"{at}:Path={route.Path}", $"{at}:Upstream=api",
                $"{at}:Action={route.Action}", $"{at}:ResourceType={route.ResourceType}", $"{at}:ResourceId={route.ResourceId}"]);
        }
        return [.. args, .. extra];
    }

    /// <summary>The gateway's client secret in a file, as the gateway reads it.</summary>
    public static string WriteSecretFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"authz-gateway-secret-{Guid.NewGuid():N}");
        File.WriteAllText(path, EnforcementEnvironment.EnforcementPoint.Secret);
        return path;
    }

    /// <summary>Starts a gateway for the environment's silo (or <paramref name="clusterUrl"/>) with further settings.</summary>
    public static async Task<RunningGateway> StartAsync(EnforcementEnvironment environment, Uri? clusterUrl = null, params string[] extra)
    {
        var secretFile = WriteSecretFile();
        var app = GatewayHost.Build(Arguments(environment, clusterUrl ?? environment.SiloAddress, secretFile, extra),
            builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        return environment.Own(new RunningGateway(app, secretFile, await app.StartOnLoopbackAsync()));
    }

    /// <summary>A client calling through the gateway with this bearer token (null: none).</summary>
    public HttpClient ClientWith(string? token, string? sessionLabel = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(90) };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (sessionLabel is not null) client.DefaultRequestHeaders.Add(GatewayHeaders.Session, sessionLabel);
        lock (clients) clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        lock (clients) clients.ForEach(c => c.Dispose());
        await app.StopAsync();
        await app.DisposeAsync();
        File.Delete(secretFile);
    }
}
