using System.Globalization;
using System.Text;

namespace RuntimeAuthz.Client;

/// <summary>Parses and formats Cedar entity literals such as <c>Ns::Document::"q3 \"final\""</c>.</summary>
public static class EntityReference
{
    /// <summary>Parses <c>Type::"id"</c> (the type may be namespaced).</summary>
    /// <exception cref="FormatException">The text is not an entity literal; the message says why.</exception>
    public static ResourceRef Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParse(text, out var type, out var id, out var error))
        {
            throw new FormatException(error);
        }
        return new ResourceRef(type, id);
    }

    /// <summary>Non-throwing form of <see cref="Parse"/>.</summary>
    public static bool TryParse(string text, out string type, out string id, out string error)
    {
        type = id = string.Empty;
        var trimmed = text.Trim();
        var quote = trimmed.IndexOf('"', StringComparison.Ordinal);
        if (quote < 0 || quote < 3 || !trimmed.AsSpan(0, quote).EndsWith("::", StringComparison.Ordinal))
        {
            error = $"'{text}' is not an entity reference: expected Type::\"id\"";
            return false;
        }
        var path = trimmed[..(quote - 2)];
        foreach (var segment in path.Split("::"))
        {
            if (!IsIdentifier(segment))
            {
                error = $"'{text}' is not an entity reference: '{path}' is not a valid type name";
                return false;
            }
        }
        if (trimmed.Length < quote + 2 || trimmed[^1] != '"')
        {
            error = $"'{text}' is not an entity reference: the id must be a quoted string ending the text";
            return false;
        }
        if (!TryUnescape(trimmed[(quote + 1)..^1], out var unescaped, out var escapeError))
        {
            error = $"'{text}' is not an entity reference: {escapeError}";
            return false;
        }
        type = path;
        id = unescaped;
        error = string.Empty;
        return true;
    }

    /// <summary>Formats an entity literal, escaping the id as Cedar requires.</summary>
    public static string Format(string type, string id)
    {
        var builder = new StringBuilder(type.Length + id.Length + 4).Append(type).Append("::\"");
        foreach (var c in id)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\0': builder.Append("\\0"); break;
                default:
                    if (char.IsControl(c))
                    {
                        builder.Append("\\u{").Append(((int)c).ToString("x", CultureInfo.InvariantCulture)).Append('}');
                    }
                    else
                    {
                        builder.Append(c);
                    }
                    break;
            }
        }
        return builder.Append('"').ToString();
    }

    private static bool IsIdentifier(string segment) =>
        segment.Length > 0
        && (char.IsAsciiLetter(segment[0]) || segment[0] == '_')
        && segment.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static bool TryUnescape(string body, out string value, out string error)
    {
        var builder = new StringBuilder(body.Length);
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (c == '"')
            {
                value = string.Empty;
                error = "unescaped '\"' inside the id";
                return false;
            }
            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }
            if (++i >= body.Length)
            {
                value = string.Empty;
                error = "the id ends with a lone '\\'";
                return false;
            }
            switch (body[i])
            {
                case '"': builder.Append('"'); break;
                case '\'': builder.Append('\''); break;
                case '\\': builder.Append('\\'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 't': builder.Append('\t'); break;
                case '0': builder.Append('\0'); break;
                case 'u':
                    var close = body.IndexOf('}', i);
                    if (i + 1 >= body.Length || body[i + 1] != '{' || close < 0
                        || !int.TryParse(body.AsSpan(i + 2, close - i - 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var codePoint)
                        || codePoint > 0x10FFFF || (codePoint >= 0xD800 && codePoint <= 0xDFFF))
                    {
                        value = string.Empty;
                        error = "invalid \\u{...} escape in the id";
                        return false;
                    }
                    builder.Append(char.ConvertFromUtf32(codePoint));
                    i = close;
                    break;
                default:
                    value = string.Empty;
                    error = $"unknown escape '\\{body[i]}' in the id";
                    return false;
            }
        }
        value = builder.ToString();
        error = string.Empty;
        return true;
    }
}
