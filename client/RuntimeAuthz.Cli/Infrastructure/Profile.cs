using System.Text.Json;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Infrastructure;

/// <summary>What <c>authz login</c> keeps between runs: which service, which issuer and client, and the token.</summary>
public sealed record CliProfile(string Url, string Issuer, string ClientId, string Token, DateTimeOffset? ExpiresAt)
{
    /// <summary>Never the token, so the profile cannot leak it through formatting.</summary>
    public override string ToString() => $"profile for {Url} (issuer {Issuer}, client {ClientId})";

    /// <summary>Whether this profile's token is meant for <paramref name="service"/> (tokens are not sent anywhere else).</summary>
    public bool IsFor(Uri service) =>
        Uri.TryCreate(Url, UriKind.Absolute, out var own)
        && string.Equals(AuthzClient.Display(own), AuthzClient.Display(service), StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// The profile file: <c>$AUTHZ_PROFILE</c>, else <c>~/.config/runtimeauthz/profile.json</c>. Written
/// readable by the owner only (0600), since it holds a bearer token.
/// </summary>
public sealed class ProfileStore(string? path)
{
    public const string PathVariable = "AUTHZ_PROFILE";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Null when neither <c>AUTHZ_PROFILE</c> nor <c>HOME</c> is set: no profile is read or written.</summary>
    public string? Path { get; } = path;

    public static ProfileStore From(Func<string, string?> getVariable)
    {
        if (getVariable(PathVariable) is { Length: > 0 } explicitPath)
        {
            return new ProfileStore(System.IO.Path.GetFullPath(explicitPath));
        }
        return new ProfileStore(getVariable("HOME") is { Length: > 0 } home ? System.IO.Path.Combine(home, ".config", "runtimeauthz", "profile.json") : null);
    }

    /// <summary>The saved profile, or null when there is none. A file that cannot be used is an error naming the file.</summary>
    public CliProfile? Load()
    {
        if (Path is null || !File.Exists(Path))
        {
            return null;
        }
        CliProfile? profile;
        try
        {
            profile = JsonSerializer.Deserialize<CliProfile>(File.ReadAllText(Path), Json);
        }
        catch (JsonException exception)
        {
            throw new UserInputException($"profile {Path} is not valid JSON ({exception.Message.Split(" Path:")[0].TrimEnd()}); run authz login again or authz logout to remove it");
        }
        catch (IOException exception)
        {
            throw new UserInputException($"profile {Path} cannot be read: {exception.Message}");
        }
        catch (UnauthorizedAccessException exception)
        {
            throw new UserInputException($"profile {Path} cannot be read: {exception.Message}");
        }
        if (profile is null || string.IsNullOrWhiteSpace(profile.Url) || string.IsNullOrWhiteSpace(profile.Token))
        {
            throw new UserInputException($"profile {Path} has no url or token; run authz login again or authz logout to remove it");
        }
        return profile;
    }

    public void Save(CliProfile profile)
    {
        var path = Path ?? throw new UserInputException($"nowhere to keep the login: set {PathVariable} or HOME");
        var directory = System.IO.Path.GetDirectoryName(path)!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            // Applies only to directories it creates: an existing ~/.config keeps its mode.
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        // Written to a new file created 0600 and moved into place, so the token is never readable by others, not even briefly.
        var temporary = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                JsonSerializer.Serialize(stream, profile, Json);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Removes the profile; false when there was none.</summary>
    public bool Delete()
    {
        if (Path is null || !File.Exists(Path))
        {
            return false;
        }
        File.Delete(Path);
        return true;
    }
}
