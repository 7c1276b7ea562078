using RuntimeAuthz.Cli.Infrastructure;

namespace RuntimeAuthz.Cli.Tests;

public sealed class DisplayTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(7199, "in 2h")]
    [InlineData(5400, "in 1h30m")]
    [InlineData(90, "in 1m30s")]
    [InlineData(59, "in 59s")]
    [InlineData(-3600 * 30, "1d6h ago")]
    public void Relative_times_read_naturally(int seconds, string expected) =>
        Assert.Equal(expected, Display.Relative(Now.AddSeconds(seconds), Now));

    [Fact]
    public void Tables_align_columns_and_keep_cells_on_one_line()
    {
        var output = new StringWriter();
        new TextTable("ID", "NOTE").Add("a", "first\nsecond").Add("longer-id", "x").WriteTo(output);

        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(["ID         NOTE", "a          first second", "longer-id  x"], lines);
    }
}
