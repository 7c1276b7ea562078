using System.Globalization;
using System.Text.Json;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Infrastructure;

/// <summary>How values look in human output.</summary>
public static class Display
{
    public static string Time(DateTimeOffset? instant) =>
        instant is { } value ? value.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-";

    /// <summary>"in 59m" / "3h ago" relative to now, for lifetimes and expiries.</summary>
    public static string Relative(DateTimeOffset instant, DateTimeOffset now)
    {
        var delta = instant - now;
        // Round to the unit shown, so a grant of 2h made a moment ago reads "in 2h", not "in 1h59m".
        var unit = delta.Duration() >= TimeSpan.FromHours(1) ? TimeSpan.FromMinutes(1) : TimeSpan.FromSeconds(1);
        var rounded = TimeSpan.FromTicks((long)Math.Round(delta.Duration().Ticks / (double)unit.Ticks) * unit.Ticks);
        var text = Span(rounded);
        return delta >= TimeSpan.Zero ? $"in {text}" : $"{text} ago";
    }

    public static string Span(TimeSpan span) => span switch
    {
        { TotalDays: >= 1 } => $"{(int)span.TotalDays}d{(span.Hours > 0 ? $"{span.Hours}h" : string.Empty)}",
        { TotalHours: >= 1 } => $"{(int)span.TotalHours}h{(span.Minutes > 0 ? $"{span.Minutes}m" : string.Empty)}",
        { TotalMinutes: >= 1 } => $"{(int)span.TotalMinutes}m{(span.Seconds > 0 ? $"{span.Seconds}s" : string.Empty)}",
        _ => $"{(int)span.TotalSeconds}s",
    };

    public static string Lower<TEnum>(TEnum value) where TEnum : struct, Enum => value.ToString().ToLowerInvariant();

    public static string Outcome(DecisionOutcome outcome) => outcome switch
    {
        DecisionOutcome.Allow => "ALLOW",
        DecisionOutcome.ApprovalRequired => "APPROVAL REQUIRED",
        _ => "DENY",
    };

    public static string Labels(IReadOnlyDictionary<string, string>? labels) =>
        labels is null || labels.Count == 0 ? "-" : string.Join(", ", labels.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => $"{pair.Key}={pair.Value}"));

    public static string List(IEnumerable<string>? items) =>
        items is null ? "-" : string.Join(", ", items) is { Length: > 0 } joined ? joined : "-";

    public static string Text(string? value) => string.IsNullOrEmpty(value) ? "-" : value;

    /// <summary>Prints a response as indented JSON in the service's wire format.</summary>
    public static void Json<T>(TextWriter output, T value)
    {
        var options = new JsonSerializerOptions(AuthzClient.JsonOptions) { WriteIndented = true };
        output.WriteLine(JsonSerializer.Serialize(value, options));
    }
}
