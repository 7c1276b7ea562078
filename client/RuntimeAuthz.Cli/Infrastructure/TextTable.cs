using System.Text;

namespace RuntimeAuthz.Cli.Infrastructure;

/// <summary>Plain, aligned columns: readable in any terminal, greppable, and stable for tests.</summary>
public sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public int RowCount => _rows.Count;

    public TextTable Add(params string?[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"expected {headers.Length} cells, got {cells.Length}", nameof(cells));
        }
        _rows.Add([.. cells.Select(cell => Sanitize(cell ?? string.Empty))]);
        return this;
    }

    public void WriteTo(TextWriter output)
    {
        var widths = headers.Select(header => header.Length).ToArray();
        foreach (var row in _rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        WriteRow(output, headers, widths);
        foreach (var row in _rows)
        {
            WriteRow(output, row, widths);
        }
    }

    private static void WriteRow(TextWriter output, IReadOnlyList<string> cells, int[] widths)
    {
        var line = new StringBuilder();
        for (var i = 0; i < cells.Count; i++)
        {
            line.Append(i == cells.Count - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
        }
        output.WriteLine(line.ToString().TrimEnd());
    }

    // A cell must stay on one line or the columns break.
    private static string Sanitize(string cell) => cell.ReplaceLineEndings(" ").Replace('\t', ' ');
}

/// <summary>"Key   value" blocks for single records.</summary>
public sealed class KeyValueBlock
{
    private readonly List<(string Key, string Value)> _pairs = [];

    public KeyValueBlock Add(string key, string? value)
    {
        _pairs.Add((key, value ?? string.Empty));
        return this;
    }

    public void WriteTo(TextWriter output)
    {
        var width = _pairs.Count == 0 ? 0 : _pairs.Max(pair => pair.Key.Length);
        foreach (var (key, value) in _pairs)
        {
            output.WriteLine($"{key.PadRight(width + 2)}{value.ReplaceLineEndings(" ")}".TrimEnd());
        }
    }
}
