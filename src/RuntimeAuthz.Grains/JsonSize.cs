namespace RuntimeAuthz.Grains;

/// <summary>
/// Upper bound of the bytes a string takes inside System.Text.Json output with the default
/// encoder, which escapes quotes and backslashes (2 bytes), control characters, HTML-sensitive
/// characters and every non-ASCII character (6 bytes per UTF-16 unit). Used to keep rows below
/// Azure Table's 1 MiB entity limit whatever the text contains.
/// </summary>
public static class JsonSize
{
    public static int EscapedUtf8Bytes(string? text)
    {
        if (text is null) return 4;
        var bytes = 2;
        foreach (var c in text)
        {
            bytes += c switch
            {
                '"' or '\\' or '\n' or '\r' or '\t' or '\b' or '\f' => 2,
                < ' ' or > '~' or '<' or '>' or '&' or '\'' or '+' or '`' => 6,
                _ => 1,
            };
        }
        return bytes;
    }
}
