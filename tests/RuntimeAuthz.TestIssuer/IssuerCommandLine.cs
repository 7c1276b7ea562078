using System.Globalization;

namespace RuntimeAuthz.TestIssuer;

/// <summary>A problem with the command line or the clients file; reported on stderr, never as a stack trace.</summary>
public sealed class IssuerSetupException(string message) : Exception(message);

/// <summary>
/// The issuer's command line:
/// <c>--port &lt;1-65535&gt; --clients &lt;file.json&gt; [--audience runtimeauthz] [--token-lifetime 3600] [--parent-pid &lt;pid&gt;]</c>.
/// </summary>
public sealed record IssuerCommandLine(int Port, string ClientsFile, string Audience, TimeSpan TokenLifetime, int? ParentProcessId)
{
    public const string Usage =
        "usage: RuntimeAuthz.TestIssuer --port <1-65535> --clients <clients.json> [--audience <aud>] [--token-lifetime <seconds>] [--parent-pid <pid>]";

    /// <summary>The issuer identifier and base address: the loopback URL it listens on.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");

    public static IssuerCommandLine Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i += 2)
        {
            var name = args[i];
            if (name is not ("--port" or "--clients" or "--audience" or "--token-lifetime" or "--parent-pid"))
                throw new IssuerSetupException($"unknown argument '{name}'");
            if (i + 1 >= args.Count) throw new IssuerSetupException($"{name} needs a value");
            if (!values.TryAdd(name, args[i + 1])) throw new IssuerSetupException($"{name} given twice");
        }

        var port = Integer(values, "--port", 1, 65535) ?? throw new IssuerSetupException("--port is required");
        var clients = values.GetValueOrDefault("--clients") ?? throw new IssuerSetupException("--clients is required");
        var audience = values.GetValueOrDefault("--audience") ?? "runtimeauthz";
        if (string.IsNullOrWhiteSpace(audience)) throw new IssuerSetupException("--audience must not be empty");
        var lifetime = Integer(values, "--token-lifetime", 1, 86400) ?? 3600;
        var parent = Integer(values, "--parent-pid", 1, int.MaxValue);
        return new IssuerCommandLine(port, clients, audience, TimeSpan.FromSeconds(lifetime), parent);
    }

    private static int? Integer(Dictionary<string, string> values, string name, int min, int max)
    {
        if (!values.TryGetValue(name, out var text)) return null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new IssuerSetupException($"{name} must be an integer from {min} to {max}, not '{text}'");
        return value;
    }
}
