using System.Text;

namespace RuntimeAuthz.HttpGateway;

/// <summary>A resource id template such as <c>{team}/{doc}</c>: route values in braces, everything else literal.</summary>
public static class ResourceIdTemplate
{
    /// <summary>The route value names the template uses.</summary>
    public static IEnumerable<string> Parameters(string template)
    {
        var at = 0;
        while ((at = template.IndexOf('{', at)) >= 0)
        {
            var close = template.IndexOf('}', at);
            if (close < 0) yield break;
            yield return template[(at + 1)..close];
            at = close + 1;
        }
    }

    /// <summary>The id for one request; null when a value the template needs is missing or empty.</summary>
    public static string? Expand(string template, RouteValueDictionary values)
    {
        var id = new StringBuilder(template.Length);
        var at = 0;
        while (at < template.Length)
        {
            var open = template.IndexOf('{', at);
            var close = open < 0 ? -1 : template.IndexOf('}', open);
            if (close < 0)
            {
                id.Append(template, at, template.Length - at);
                break;
            }
            id.Append(template, at, open - at);
            var value = values.TryGetValue(template[(open + 1)..close], out var raw) ? raw?.ToString() : null;
            if (string.IsNullOrEmpty(value)) return null;
            id.Append(value);
            at = close + 1;
        }
        return id.ToString();
    }
}
