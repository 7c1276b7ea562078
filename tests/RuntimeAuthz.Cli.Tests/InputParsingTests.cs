using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

public sealed class InputParsingTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("15m", 900)]
    [InlineData("8h", 28800)]
    [InlineData("7d", 604800)]
    [InlineData("1h30m", 5400)]
    [InlineData("01:30:00", 5400)]
    public void Durations_from_now(string text, int seconds) =>
        Assert.Equal(Now.AddSeconds(seconds), InputParsing.ParseExpiry(text, Now, "--expires"));

    [Fact]
    public void Absolute_times_are_taken_as_utc() =>
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), InputParsing.ParseExpiry("2026-12-01T00:00:00Z", Now, "--expires"));

    [Theory]
    [InlineData("2020-01-01T00:00:00Z")]
    [InlineData("0s")]
    [InlineData("soon")]
    [InlineData("5 minutes")]
    public void Past_or_unreadable_expiries_are_rejected(string text)
    {
        var exception = Assert.Throws<UserInputException>(() => InputParsing.ParseExpiry(text, Now, "--expires"));
        Assert.StartsWith("--expires", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_options_must_be_objects() =>
        Assert.Contains("must be a JSON object", Assert.Throws<UserInputException>(() => InputParsing.ParseJsonObject("[1,2]", "--context")).Message, StringComparison.Ordinal);

    [Fact]
    public void Json_options_can_come_from_a_file()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """{"amount": 12}""");
            Assert.Equal(12, InputParsing.ParseJsonObject("@" + path, "--input")!.Value.GetProperty("amount").GetInt32());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Labels_are_key_value_pairs()
    {
        Assert.Equal(new Dictionary<string, string> { ["env"] = "prod", ["tier"] = "a=b" }, InputParsing.ParseLabels(["env=prod", "tier=a=b"], "--label"));
        Assert.Throws<UserInputException>(() => InputParsing.ParseLabels(["novalue"], "--label"));
    }
}
