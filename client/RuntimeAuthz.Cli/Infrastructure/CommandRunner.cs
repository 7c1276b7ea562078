using System.CommandLine;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Infrastructure;

/// <summary>Everything one command invocation needs: the parsed line, the client, where to write.</summary>
public sealed class Invocation(ParseResult parseResult, CliEnvironment environment, Uri serviceAddress, bool json, Func<AuthzClient> clientFactory)
{
    private AuthzClient? _client;

    public ParseResult ParseResult { get; } = parseResult;
    public TextWriter Output => environment.Output;
    public TextWriter Error => environment.Error;
    public bool Json { get; } = json;
    public Uri ServiceAddress { get; } = serviceAddress;
    public DateTimeOffset Now => environment.Time.GetUtcNow();
    public string UserName => environment.UserName;
    public AuthzClient Client => _client ??= clientFactory();

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
        Description = $"Address of the authorization service (default: ${UrlVariable}, else {AuthzClient.Display(AuthzClient.DefaultBaseAddress)})",
        Recursive = true,
    };

    public Option<bool> JsonOption { get; } = new("--json")
    {
        Description = "Print the service's JSON instead of tables",
        Recursive = true,
    };

    public CliEnvironment Environment => environment;

    /// <summary>Attaches an action that talks to the service (or only uses local input).</summary>
    public void SetAction(Command command, Func<Invocation, CancellationToken, Task<int>> action) =>
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, action, cancellationToken));

    private async Task<int> RunAsync(ParseResult parseResult, Func<Invocation, CancellationToken, Task<int>> action, CancellationToken cancellationToken)
    {
        Uri? address = null;
        AuthzClient? client = null;
        try
        {
            address = ResolveAddress(parseResult.GetValue(UrlOption));
            var invocation = new Invocation(parseResult, environment, address, parseResult.GetValue(JsonOption), () => client = environment.CreateClient(address));
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
            client?.Dispose();
        }
    }

    private Uri ResolveAddress(string? fromOption)
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
            return AuthzClient.DefaultBaseAddress;
        }
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new UserInputException($"{source}: '{text}' is not an http(s) address such as http://127.0.0.1:5080");
        }
        return address;
    }

    private int Fail(string message)
    {
        environment.Error.WriteLine(message);
        return ExitCodes.Error;
    }
}
