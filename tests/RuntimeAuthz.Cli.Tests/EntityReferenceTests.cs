using RuntimeAuthz.Client;

namespace RuntimeAuthz.Cli.Tests;

public sealed class EntityReferenceTests
{
    [Theory]
    [InlineData("Document::\"q3\"", "Document", "q3")]
    [InlineData("Acme::Billing::Invoice::\"inv 7\"", "Acme::Billing::Invoice", "inv 7")]
    [InlineData("  Doc::\"a\\\"b\\\\c\"  ", "Doc", "a\"b\\c")]
    [InlineData("Doc::\"line\\nbreak\"", "Doc", "line\nbreak")]
    [InlineData("Doc::\"\\u{e9}t\\u{e9}\"", "Doc", "été")]
    [InlineData("Doc::\"\"", "Doc", "")]
    public void Parses_entity_literals(string text, string type, string id)
    {
        var parsed = EntityReference.Parse(text);

        Assert.Equal(type, parsed.Type);
        Assert.Equal(id, parsed.Id);
    }

    [Theory]
    [InlineData("Document")]
    [InlineData("\"q3\"")]
    [InlineData("Document::q3")]
    [InlineData("Document::\"q3")]
    [InlineData("Document::\"q3\"x")]
    [InlineData("Docu ment::\"q3\"")]
    [InlineData("1Doc::\"q3\"")]
    [InlineData("Doc::::\"q3\"")]
    [InlineData("Doc::\"a\"b\"")]
    [InlineData("Doc::\"bad \\q escape\"")]
    public void Rejects_malformed_literals_with_a_reason(string text)
    {
        var exception = Assert.Throws<FormatException>(() => EntityReference.Parse(text));

        Assert.Contains("not an entity reference", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("quote\" and \\ backslash")]
    [InlineData("tab\tnew\nline")]
    public void Format_and_parse_round_trip(string id)
    {
        var literal = EntityReference.Format("Ns::Doc", id);

        Assert.Equal(id, EntityReference.Parse(literal).Id);
        Assert.Equal(literal, new ResourceRef("Ns::Doc", id).ToString());
    }
}
