using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Infrastructure;

/// <summary>Turns option text into typed values, with messages that name the option at fault.</summary>
public static partial class InputParsing
{
    /// <summary>
    /// A JSON object given inline (<c>'{"a":1}'</c>) or read from a file (<c>@input.json</c>).
    /// </summary>
    public static JsonElement? ParseJsonObject(string? text, string optionName)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var json = text;
        if (text.StartsWith('@'))
        {
            var path = text[1..];
            if (!File.Exists(path))
            {
                throw new UserInputException($"{optionName}: file not found: {path}");
            }
            json = File.ReadAllText(path);
        }
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new UserInputException($"{optionName} must be a JSON object such as '{{\"key\": \"value\"}}', not {document.RootElement.ValueKind.ToString().ToLowerInvariant()}");
            }
            return document.RootElement.Clone();
        }
        catch (JsonException exception)
        {
            var where = exception.LineNumber is { } line ? $" at line {line + 1}, column {exception.BytePositionInLine + 1}" : string.Empty;
            throw new UserInputException($"{optionName} is not valid JSON{where}: {FirstSentence(exception.Message)}");
        }
    }

    /// <summary><c>Type::"id"</c>.</summary>
    public static ResourceRef ParseEntity(string text, string optionName)
    {
        if (!EntityReference.TryParse(text, out var type, out var id, out var error))
        {
            throw new UserInputException($"{optionName}: {error} (quote it for the shell: {optionName} 'Document::\"report\"')");
        }
        return new ResourceRef(type, id);
    }

    /// <summary>
    /// An absolute instant (ISO-8601, e.g. <c>2026-12-01T00:00:00Z</c>) or a span from now:
    /// <c>90s</c>, <c>15m</c>, <c>8h</c>, <c>7d</c>, <c>1h30m</c>, <c>01:30:00</c>.
    /// </summary>
    public static DateTimeOffset ParseExpiry(string text, DateTimeOffset now, string optionName)
    {
        var trimmed = text.Trim();
        if (TryParseDuration(trimmed, out var span))
        {
            if (span <= TimeSpan.Zero)
            {
                throw new UserInputException($"{optionName} must be in the future, got '{text}'");
            }
            return now + span;
        }
        if (DateTimeOffset.TryParse(trimmed, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
        {
            if (instant <= now)
            {
                throw new UserInputException($"{optionName} must be in the future, got {instant:u}");
            }
            return instant;
        }
        throw new UserInputException($"{optionName}: '{text}' is neither a duration (90s, 15m, 8h, 7d, 1h30m) nor an ISO-8601 time (2026-12-01T00:00:00Z)");
    }

    /// <summary>A duration such as <c>90s</c>, <c>15m</c>, <c>1h30m</c>, <c>2d</c> or <c>01:30:00</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = DurationPattern().Match(text);
        if (match.Success && match.Length > 0 && text.Length > 0)
        {
            foreach (Capture capture in match.Groups["part"].Captures)
            {
                var number = double.Parse(capture.Value[..^1], CultureInfo.InvariantCulture);
                duration += char.ToLowerInvariant(capture.Value[^1]) switch
                {
                    'd' => TimeSpan.FromDays(number),
                    'h' => TimeSpan.FromHours(number),
                    'm' => TimeSpan.FromMinutes(number),
                    _ => TimeSpan.FromSeconds(number),
                };
            }
            return true;
        }
        return text.Contains(':', StringComparison.Ordinal) && !text.Contains('T', StringComparison.Ordinal) && !text.Contains('-', StringComparison.Ordinal)
            && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration);
    }

    /// <summary>Seconds from a duration option (<c>15m</c>), or null when absent.</summary>
    public static int? ParseSeconds(string? text, string optionName)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        if (!TryParseDuration(text.Trim(), out var span) || span <= TimeSpan.Zero)
        {
            throw new UserInputException($"{optionName}: '{text}' is not a positive duration (90s, 15m, 8h, 1h30m)");
        }
        return checked((int)Math.Ceiling(span.TotalSeconds));
    }

    /// <summary><c>key=value</c> pairs (repeatable option).</summary>
    public static Dictionary<string, string>? ParseLabels(IEnumerable<string>? pairs, string optionName)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs ?? [])
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new UserInputException($"{optionName} expects key=value, got '{pair}'");
            }
            labels[pair[..equals].Trim()] = pair[(equals + 1)..].Trim();
        }
        return labels.Count == 0 ? null : labels;
    }

    /// <summary>Values of a repeatable option, each of which may also be comma-separated.</summary>
    public static List<string> SplitList(IEnumerable<string>? values) =>
        [.. (values ?? []).SelectMany(value => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    // System.Text.Json appends "Path: ..." and "LineNumber: ..." to its messages; the position is already given.
    private static string FirstSentence(string message)
    {
        foreach (var marker in new[] { " Path:", " LineNumber:" })
        {
            var cut = message.IndexOf(marker, StringComparison.Ordinal);
            if (cut > 0)
            {
                message = message[..cut];
            }
        }
        return message.TrimEnd();
    }

    [GeneratedRegex(@"^(?<part>\d+(\.\d+)?[dhmsDHMS])+$")]
    private static partial Regex DurationPattern();
}
