using System.CommandLine;
using RuntimeAuthz.Cli.Infrastructure;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Commands;

/// <summary>
/// <c>authz login|logout|whoami</c>: getting a token from a real issuer into the profile, removing it,
/// and asking the service who it takes the caller to be. Tokens and secrets are never printed.
/// </summary>
public static class IdentityCommands
{
    public const string ClientSecretVariable = "AUTHZ_CLIENT_SECRET";

    public static IEnumerable<Command> Create(CommandRunner runner)
    {
        yield return Login(runner);
        yield return Logout(runner);
        yield return WhoAmI(runner);
    }

    private static Command Login(CommandRunner runner)
    {
        var issuer = new Option<string>("--issuer") { Description = "OpenID Connect issuer, e.g. https://login.example.com (its discovery document names the endpoints)", Required = true };
        var clientId = new Option<string>("--client-id") { Description = "OAuth client id registered at the issuer", Required = true };
        var secretFile = new Option<string?>("--client-secret-file") { Description = $"File holding the client secret (else ${ClientSecretVariable}, else standard input)" };
        var device = new Option<bool>("--device") { Description = "Sign in as a person with a device code (shows a URL and a code to enter there) instead of client credentials" };
        var scope = new Option<string?>("--scope") { Description = "Scopes to ask for, space-separated (default: the issuer's default)" };
        var command = new Command("login", "Get a token from an OAuth/OIDC issuer (client credentials, or --device) and save it in the profile")
        {
            issuer, clientId, secretFile, device, scope,
        };
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var issuerText = call.Get(issuer)!.Trim();
            if (!Uri.TryCreate(issuerText, UriKind.Absolute, out var issuerAddress) || (issuerAddress.Scheme != Uri.UriSchemeHttps && issuerAddress.Scheme != Uri.UriSchemeHttp))
            {
                throw new UserInputException($"--issuer: '{issuerText}' is not an http(s) address such as https://login.example.com");
            }
            var client = call.Get(clientId)!.Trim();
            if (client.Length == 0)
            {
                throw new UserInputException("--client-id must not be empty");
            }
            // Local input first: nothing is sent before the secret is known to be there.
            var secret = call.Get(device) ? ConfiguredSecret(call, secretFile) : RequiredSecret(call, secretFile);
            AccessToken token;
            OAuthIssuer discovered;
            try
            {
                discovered = await OAuthIssuer.DiscoverAsync(call.Http, issuerAddress, call.Environment.Time, cancellationToken).ConfigureAwait(false);
                token = call.Get(device)
                    ? await SignInWithDeviceAsync(call, discovered, client, secret, call.Get(scope), cancellationToken).ConfigureAwait(false)
                    : await discovered.RequestClientCredentialsTokenAsync(client, secret!, call.Get(scope), cancellationToken).ConfigureAwait(false);
            }
            catch (AuthzAuthenticationException exception)
            {
                throw new UserInputException($"login failed: {exception.Message}");
            }
            var service = AuthzClient.Display(call.ServiceAddress);
            var issuerName = discovered.Issuer.AbsoluteUri.TrimEnd('/');
            call.Profiles.Save(new CliProfile(service, issuerName, client, token.Value, token.ExpiresAt));
            if (call.Json)
            {
                Display.Json(call.Output, new { url = service, issuer = issuerName, clientId = client, expiresAt = token.ExpiresAt, profile = call.Profiles.Path });
            }
            else
            {
                var expiry = token.ExpiresAt is { } expires ? $"{Display.Time(expires)} ({Display.Relative(expires, call.Now)})" : "when the issuer decides";
                call.Output.WriteLine($"logged in at {issuerName} as client {client} for {service}; the token expires {expiry}; saved to {call.Profiles.Path}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task<AccessToken> SignInWithDeviceAsync(Invocation call, OAuthIssuer issuer, string clientId, string? secret, string? scope, CancellationToken cancellationToken)
    {
        var authorization = await issuer.BeginDeviceSignInAsync(clientId, scope, secret, cancellationToken).ConfigureAwait(false);
        // Instructions go to stderr, so stdout stays the command's result (and --json stays JSON).
        call.Error.WriteLine($"To sign in, open {authorization.VerificationUri} and enter the code {authorization.UserCode}");
        if (authorization.VerificationUriComplete is { } complete)
        {
            call.Error.WriteLine($"  (or open {complete})");
        }
        call.Error.WriteLine($"waiting for the sign-in (the code expires {Display.Relative(authorization.ExpiresAt, call.Now)}) ...");
        return await issuer.CompleteDeviceSignInAsync(authorization, call.Environment.Delay, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The secret from <c>--client-secret-file</c> or <c>AUTHZ_CLIENT_SECRET</c>; never from the command line, where other users can read it.</summary>
    private static string? ConfiguredSecret(Invocation call, Option<string?> secretFile)
    {
        if (call.Get(secretFile) is { Length: > 0 } path)
        {
            if (!File.Exists(path))
            {
                throw new UserInputException($"--client-secret-file: file not found: {path}");
            }
            var secret = File.ReadAllText(path).Trim();
            return secret.Length > 0 ? secret : throw new UserInputException($"--client-secret-file: {path} is empty");
        }
        return call.Environment.GetVariable(ClientSecretVariable) is { } fromEnvironment && !string.IsNullOrWhiteSpace(fromEnvironment) ? fromEnvironment.Trim() : null;
    }

    private static string RequiredSecret(Invocation call, Option<string?> secretFile)
    {
        if (ConfiguredSecret(call, secretFile) is { } secret)
        {
            return secret;
        }
        if (call.Environment.RedirectedInput() is { } input && input.ReadToEnd().Trim() is { Length: > 0 } piped)
        {
            return piped;
        }
        throw new UserInputException($"login needs the client secret: --client-secret-file <path>, ${ClientSecretVariable}, or on standard input (authz login ... < secret.txt); or --device to sign in as a person");
    }

    private static Command Logout(CommandRunner runner)
    {
        var command = new Command("logout", "Remove the profile saved by authz login (its token is no longer used)");
        runner.SetAction(command, (call, _) =>
        {
            call.Output.WriteLine(call.Profiles.Delete()
                ? $"logged out: removed {call.Profiles.Path}"
                : $"not logged in: {call.Profiles.Path ?? "no profile location (set AUTHZ_PROFILE or HOME)"} does not exist");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    private static Command WhoAmI(CommandRunner runner)
    {
        var command = new Command("whoami", "Show who the service takes you to be: subject, issuer, roles, agent and token expiry");
        runner.SetAction(command, async (call, cancellationToken) =>
        {
            var me = await call.Client.WhoAmIAsync(cancellationToken).ConfigureAwait(false);
            if (call.Json)
            {
                Display.Json(call.Output, me);
                return ExitCodes.Success;
            }
            new KeyValueBlock()
                .Add("Subject", me.Subject)
                .Add("Issuer", me.Issuer)
                .Add("Roles", Display.List(me.Roles))
                .Add("Agent", Display.Text(me.AgentId))
                .Add("Acts for", Display.List(me.Agents))
                .Add("Expires", me.ExpiresAt is { } expires ? $"{Display.Time(expires)} ({Display.Relative(expires, call.Now)})" : "-")
                .Add("Token from", call.Credentials.Description)
                .WriteTo(call.Output);
            return ExitCodes.Success;
        });
        return command;
    }
}
