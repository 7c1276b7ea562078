using System.CommandLine;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Infrastructure;

/// <summary>Everything one command invocation needs: the parsed line, the client, where to write.</summary>
public sealed class Invocation(ParseResult parseResult, CliEnvironment environment, Uri serviceAddress, bool json, HttpClient http, Credentials credentials, ProfileStore profiles)
{
    private AuthzClient? _client;

    public ParseResult ParseResult { get; } = parseResult;
    public CliEnvironment Environment => environment;
    public TextWriter Output => environment.Output;
    public TextWriter Error => environment.Error;
    public bool Json { get; } = json;
    public Uri ServiceAddress { get; } = serviceAddress;
    public DateTimeOffset Now => environment.Time.GetUtcNow();

    /// <summary>The run's HTTP client (base address: the service); issuers are called with absolute addresses.</summary>
    public HttpClient Http { get; } = http;
    public Credentials Credentials { get; } = credentials;
    public ProfileStore Profiles { get; } = profiles;
    public AuthzClient Client => _client ??= new AuthzClient(Http, Credentials);

    public T? Get<T>(Option<T> option) => ParseResult.GetValue(option);
    public T? Get<T>(Argument<T> argument) => ParseResult.GetValue(argument);
    public T Required<T>(Argument<T> argument) => ParseResult.GetRequiredValue(argument);
}

/// <summary>
/// Runs command actions with the global options resolved and turns every failure into a
/// one-line message on stderr and exit code 1 (never a stack trace).
/// </summary>
public sealed class CommandRunner(CliEnvironment environment)
{
    public const string UrlVariable = "AUTHZ_URL";

    public Option<string?> UrlOption { get; } = new("--url")
    {
        Description = $"Address of the authorization service (default: ${UrlVariable}, else the address saved by authz login, else {AuthzClient.Display(AuthzClient.DefaultBaseAddress)})",
        Recursive = true,
    };

    public Option<bool> JsonOption { get; } = new("--json")
    {
        Description = "Print the service's JSON instead of tables",
        Recursive = true,
    };

    public Option<string?> TokenOption { get; } = new("--token")
    {
        HelpName = "jwt",
        Description = $"Bearer token to send (default: ${Credentials.TokenVariable}, else the profile saved by authz login, else the development issuer)",
        Recursive = true,
    };

    public Option<string?> AsOption { get; } = new("--as")
    {
        HelpName = "who",
        Description = $"Development silos only: who to be (default: ${Credentials.AsVariable}, else admin): admin, governance, approver, responder, auditor, agent:<id>, pep:<id,...|*>",
        Recursive = true,
    };

    public CliEnvironment Environment => environment;

    /// <summary>Attaches an action that talks to the service (or only uses local input).</summary>
    public void SetAction(Command command, Func<Invocation, CancellationToken, Task<int>> action) =>
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, action, cancellationToken));

    private async Task<int> RunAsync(ParseResult parseResult, Func<Invocation, CancellationToken, Task<int>> action, CancellationToken cancellationToken)
    {
        HttpClient? http = null;
        Credentials? credentials = null;
        try
        {
            var profiles = ProfileStore.From(environment.GetVariable);
            var address = ResolveAddress(parseResult.GetValue(UrlOption), profiles);
            http = environment.CreateHttpClient();
            http.BaseAddress = new Uri(address.AbsoluteUri.TrimEnd('/') + "/");
            credentials = new Credentials(parseResult.GetValue(TokenOption), parseResult.GetValue(AsOption), address, environment, profiles, http);
            var invocation = new Invocation(parseResult, environment, address, parseResult.GetValue(JsonOption), http, credentials, profiles);
            return await action(invocation, cancellationToken).ConfigureAwait(false);
        }
        catch (UserInputException exception)
        {
            return Fail($"error: {exception.Message}");
        }
        catch (AuthzUnavailableException exception) when (exception.InnerException is HttpRequestException)
        {
            return Fail($"cannot reach the authorization service at {AuthzClient.Display(exception.BaseAddress)}: is it running? start it with ./start ({exception.Reason})");
        }
        catch (AuthzUnavailableException exception)
        {
            return Fail($"error: {exception.Message}");
        }
        catch (AuthzAuthenticationException exception)
        {
            return Fail($"not authenticated: {exception.Message}; {Credentials.LoginHint}");
        }
        catch (AuthzApiException exception) when (exception.IsUnauthorized)
        {
            return Fail($"not authenticated: the service refused the token from {credentials?.Description ?? "nowhere"} ({exception.Detail ?? exception.Title}); {Credentials.LoginHint}");
        }
        catch (AuthzApiException exception) when (exception.IsForbidden)
        {
            return Fail($"forbidden: {exception.Detail ?? exception.Title}");
        }
        catch (AuthzApiException exception)
        {
            environment.Error.WriteLine($"error: {exception.Message}");
            foreach (var item in exception.Errors)
            {
                environment.Error.WriteLine($"  {item}");
            }
            return ExitCodes.Error;
        }
        catch (AuthzException exception)
        {
            return Fail($"error: {exception.Message}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Fail("cancelled");
        }
        catch (IOException exception)
        {
            return Fail($"error: {exception.Message}");
        }
        catch (UnauthorizedAccessException exception)
        {
            return Fail($"error: {exception.Message}");
        }
#pragma warning disable CA1031 // The CLI's contract is a one-line message, never a stack trace.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            return Fail($"error: unexpected failure ({exception.GetType().Name}): {exception.Message}");
        }
        finally
        {
            http?.Dispose();
        }
    }

    /// <summary><c>--url</c>, else <c>AUTHZ_URL</c>, else the service of the saved profile, else the quick-start address.</summary>
    private Uri ResolveAddress(string? fromOption, ProfileStore profiles)
    {
        var text = fromOption;
        var source = "--url";
        if (string.IsNullOrWhiteSpace(text))
        {
            text = environment.GetVariable(UrlVariable);
            source = UrlVariable;
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            text = SavedUrl(profiles);
            source = $"profile {profiles.Path}";
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            return AuthzClient.DefaultBaseAddress;
        }
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new UserInputException($"{source}: '{text}' is not an http(s) address such as http://127.0.0.1:5080");
        }
        return address;
    }

    // A broken profile is reported when a token is needed (Credentials loads it again), not by commands that work offline.
    private static string? SavedUrl(ProfileStore profiles)
    {
        try
        {
            return profiles.Load()?.Url;
        }
        catch (UserInputException)
        {
            return null;
        }
    }

    private int Fail(string message)
    {
        environment.Error.WriteLine(message);
        return ExitCodes.Error;
    }
}
