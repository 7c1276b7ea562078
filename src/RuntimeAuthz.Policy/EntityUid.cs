using System.Text;

namespace RuntimeAuthz.Policy;

/// <summary>An entity reference: the full type path (e.g. "Ns::User") and the id.</summary>
public readonly record struct EntityUid(string Type, string Id)
{
    /// <summary>The Cedar literal form, e.g. <c>Ns::User::"alice"</c>, with the id escaped.</summary>
    public override string ToString() => $"{Type}::\"{EscapeString(Id)}\"";

    internal static string EscapeString(string text)
    {
        var builder = new StringBuilder(text.Length + 2);
        foreach (var ch in text)
        {
            switch (ch)
            {
                case '\\': builder.Append("\\\\"); break;
                case '"': builder.Append("\\\""); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\0': builder.Append("\\0"); break;
                default:
                    if (char.IsControl(ch)) builder.Append($"\\u{{{(int)ch:x}}}");
                    else builder.Append(ch);
                    break;
            }
        }
        return builder.ToString();
    }
}
