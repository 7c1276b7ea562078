using System.Text.Json;
using System.Text.Json.Nodes;

namespace RuntimeAuthz.Grains;

/// <summary>How refused JSON input is described in error messages, the same at the HTTP edge and in the entity store.</summary>
public static class JsonInputText
{
    /// <summary>"an object", "a string", …: what was sent where something else belongs.</summary>
    public static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "a value",
        },
        _ => "a value",
    };

    /// <summary>Whether the text holds a surrogate without its pair (not valid Unicode, so not a valid id or value).</summary>
    public static bool HasLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i])) return true;
        }
        return false;
    }

    /// <summary>A value quoted in a message, cut to 80 characters.</summary>
    public static string Shorten(string value) => value.Length <= 80 ? value : value[..77] + "...";
}
