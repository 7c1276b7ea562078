using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace RuntimeAuthz.Cluster.Tests.Infrastructure;

/// <summary>A client registered with the test issuer; the token's claims come from here (see tests/RuntimeAuthz.TestIssuer).</summary>
public sealed record IssuerClient(
    string ClientId,
    string Secret,
    string? Subject = null,
    IReadOnlyList<string>? Roles = null,
    string? AgentId = null,
    IReadOnlyList<string>? AuthzAgents = null,
    string? Audience = null,
    int? TokenLifetimeSeconds = null,
    IReadOnlyList<string>? MayAct = null);

/// <summary>The token endpoint's answer: an access token, or an OAuth error.</summary>
public sealed record TokenReply(HttpStatusCode Status, string? AccessToken, string? Error, string? ErrorDescription);

/// <summary>The issuer's answer to a key rotation.</summary>
public sealed record RotatedKeys(string KeyId, IReadOnlyList<string> PublishedKeyIds, IReadOnlyList<string> RetiredKeyIds);

/// <summary>
/// The OpenIddict test issuer running as a separate process (dotnet RuntimeAuthz.TestIssuer.dll) on a free loopback
/// port: a real OIDC authority the silo reaches through discovery and JWKS. Killed (with its process tree) on dispose;
/// it also stops by itself when the test process exits.
/// </summary>
public sealed class OidcIssuerProcess : IAsyncDisposable
{
    public const string DefaultAudience = "runtimeauthz";

    private static readonly JsonSerializerOptions ClientsFormat = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly Process process;
    private readonly StringBuilder errors;
    private readonly string clientsFile;
    private readonly HttpClient http;

    private OidcIssuerProcess(Process process, StringBuilder errors, string clientsFile, Uri authority)
    {
        this.process = process;
        this.errors = errors;
        this.clientsFile = clientsFile;
        Authority = authority;
        http = new HttpClient { BaseAddress = authority, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The issuer URL, exactly as it appears in discovery and in the tokens' <c>iss</c>.</summary>
    public Uri Authority { get; }

    /// <summary>The silo's command-line arguments that make it trust this issuer.</summary>
    public IReadOnlyList<string> SiloArguments =>
    [
        $"--Authentication:Authority={Authority}",
        "--Authentication:RequireHttpsMetadata=false",
        $"--Authentication:Audience={DefaultAudience}",
    ];

    /// <summary>The built issuer assembly, recorded by the test project's build (see its RecordTestIssuerAssembly target).</summary>
    public static string IssuerAssembly { get; } = typeof(OidcIssuerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .SingleOrDefault(attribute => attribute.Key == "TestIssuerAssembly")?.Value
        ?? throw new InvalidOperationException("the test assembly does not record TestIssuerAssembly; build it with the test project");

    public static async Task<OidcIssuerProcess> StartAsync(IReadOnlyList<IssuerClient> clients, CancellationToken cancellation = default)
    {
        var clientsFile = Path.Combine(Path.GetTempPath(), $"authz-issuer-clients-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(clientsFile, JsonSerializer.Serialize(new { clients }, ClientsFormat), cancellation);
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePorts.Next();
            var (process, errors) = Launch(["--port", port.ToString(), "--clients", clientsFile, "--parent-pid", Environment.ProcessId.ToString()]);
            var issuer = new OidcIssuerProcess(process, errors, clientsFile, new Uri($"http://127.0.0.1:{port}/"));
            try
            {
                await issuer.WaitForDiscoveryAsync(cancellation);
                return issuer;
            }
            catch (IssuerExitedException) when (attempt < 3)
            {
                // Most likely another process took the free port before the issuer bound it: try another port.
                await issuer.StopProcessAsync();
            }
            catch
            {
                await issuer.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Runs the issuer with arguments it must refuse; returns its exit code and what it wrote on stderr.</summary>
    public static async Task<(int ExitCode, string Error)> RunToExitAsync(IReadOnlyList<string> args)
    {
        var (process, errors) = Launch(args);
        using (process)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try { await process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"the issuer did not exit with arguments: {string.Join(' ', args)}");
            }
            lock (errors) return (process.ExitCode, errors.ToString());
        }
    }

    /// <summary>A client-credentials token request (secret in the form body); an error comes back as the reply, not an exception.</summary>
    public async Task<TokenReply> RequestTokenAsync(string clientId, string secret, CancellationToken cancellation = default)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = secret,
        });
        using var response = await http.PostAsync("connect/token", form, cancellation);
        var text = await response.Content.ReadAsStringAsync(cancellation);
        var body = text.Length > 0 ? JsonNode.Parse(text) : null;
        return new TokenReply(
            response.StatusCode,
            body?["access_token"]?.GetValue<string>(),
            body?["error"]?.GetValue<string>(),
            body?["error_description"]?.GetValue<string>());
    }

    /// <summary>
    /// An RFC 8693 token exchange by <paramref name="actor"/> (an agent client) for <paramref name="subjectToken"/> (a user's
    /// access token): the reply's token has the user as <c>sub</c> and the agent as <c>act</c>; an error comes back as the reply.
    /// </summary>
    public async Task<TokenReply> ExchangeTokenAsync(IssuerClient actor, string subjectToken, CancellationToken cancellation = default)
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
            ["client_id"] = actor.ClientId,
            ["client_secret"] = actor.Secret,
            ["subject_token"] = subjectToken,
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:access_token",
        });
        using var response = await http.PostAsync("connect/token", form, cancellation);
        var text = await response.Content.ReadAsStringAsync(cancellation);
        var body = text.Length > 0 ? JsonNode.Parse(text) : null;
        return new TokenReply(
            response.StatusCode,
            body?["access_token"]?.GetValue<string>(),
            body?["error"]?.GetValue<string>(),
            body?["error_description"]?.GetValue<string>());
    }

    /// <summary>An access token for this client; fails the test when the issuer refuses.</summary>
    public async Task<string> GetTokenAsync(IssuerClient client, CancellationToken cancellation = default)
    {
        var reply = await RequestTokenAsync(client.ClientId, client.Secret, cancellation);
        return reply.AccessToken ?? throw new InvalidOperationException(
            $"the issuer refused a token to '{client.ClientId}': {(int)reply.Status} {reply.Error} {reply.ErrorDescription}");
    }

    /// <summary>Makes a new signing key current; with <paramref name="retirePrevious"/>, the older keys leave JWKS.</summary>
    public async Task<RotatedKeys> RotateKeyAsync(bool retirePrevious, CancellationToken cancellation = default)
    {
        using var response = await http.PostAsync($"test/rotate-key?retire={(retirePrevious ? "true" : "false")}", content: null, cancellation);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<RotatedKeys>(JsonSerializerOptions.Web, cancellation)
            ?? throw new InvalidOperationException("the issuer answered a rotation with an empty body");
    }

    /// <summary>The keys currently in the issuer's JWKS (found through discovery, as the silo finds them).</summary>
    public async Task<IReadOnlyList<JsonNode>> GetSigningKeysAsync(CancellationToken cancellation = default)
    {
        var jwksUri = (await GetDiscoveryAsync(cancellation))["jwks_uri"]!.GetValue<string>();
        var jwks = JsonNode.Parse(await http.GetStringAsync(jwksUri, cancellation))!;
        return [.. jwks["keys"]!.AsArray().Select(key => key!)];
    }

    public async Task<JsonNode> GetDiscoveryAsync(CancellationToken cancellation = default) =>
        JsonNode.Parse(await http.GetStringAsync(".well-known/openid-configuration", cancellation))!;

    /// <summary>A client on the issuer's base address, for requests the helpers above do not make.</summary>
    public HttpClient Http => http;

    public async ValueTask DisposeAsync()
    {
        await StopProcessAsync();
        try { File.Delete(clientsFile); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private async Task StopProcessAsync()
    {
        http.Dispose();
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await process.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) { /* killed; the OS reaps it */ }
        }
        process.Dispose();
    }

    // Generous: it starts in about a second, but the tests share two cores with other test runs.
    private Task WaitForDiscoveryAsync(CancellationToken cancellation) =>
        Eventually.TrueAsync($"the test issuer at {Authority} to serve discovery", () => ServesDiscoveryAsync(cancellation), TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(100));

    private async Task<bool> ServesDiscoveryAsync(CancellationToken cancellation)
    {
        if (process.HasExited)
        {
            string output;
            lock (errors) output = errors.ToString();
            throw new IssuerExitedException($"the test issuer exited with code {process.ExitCode} while starting: {output}");
        }
        // Short attempts: a port taken by another process may accept the connection and never answer.
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        attempt.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var response = await http.GetAsync(".well-known/openid-configuration", attempt.Token);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false; // Not listening yet.
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return false; // No answer yet (a slow start under load, or someone else's listener): look again.
        }
    }

    private sealed class IssuerExitedException(string message) : Exception(message);

    private static (Process Process, StringBuilder Errors) Launch(IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(IssuerAssembly);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the test issuer");
        var errors = new StringBuilder();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is null) return;
            lock (errors) errors.AppendLine(line.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, errors);
    }

    /// <summary>The dotnet host running these tests (the SDK sets DOTNET_HOST_PATH for its child processes).</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        return "dotnet";
    }
}

/// <summary>Reads a compact JWS without validating it (the tests check what the issuer wrote and verify signatures themselves).</summary>
public static class JwtParts
{
    public static (JsonNode Header, JsonNode Payload) Read(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) throw new FormatException($"a JWS has 3 parts, this token has {parts.Length}");
        return (JsonNode.Parse(Base64Url.DecodeFromChars(parts[0]))!, JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!);
    }

    /// <summary>A claim that may be one string or an array of strings, as a list.</summary>
    public static IReadOnlyList<string> Strings(JsonNode? claim) => claim switch
    {
        null => [],
        JsonArray array => [.. array.Select(item => item!.GetValue<string>())],
        _ => [claim.GetValue<string>()],
    };

    /// <summary>True when an ES256 JWK (from JWKS) verifies the token's signature.</summary>
    public static bool VerifiesEs256(string token, JsonNode jwk)
    {
        var parts = token.Split('.');
        using var key = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new() { X = Base64Url.DecodeFromChars(jwk["x"]!.GetValue<string>()), Y = Base64Url.DecodeFromChars(jwk["y"]!.GetValue<string>()) },
        });
        // JWS ES256 signatures are r||s (IEEE P1363), the .NET default format.
        return key.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), Base64Url.DecodeFromChars(parts[2]), HashAlgorithmName.SHA256);
    }

}
