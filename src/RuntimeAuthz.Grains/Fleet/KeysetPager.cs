using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Azure.Data.Tables;
using RuntimeAuthz.Contracts;

namespace RuntimeAuthz.Grains.Fleet;

/// <summary>The rows of a partition whose keys start with <see cref="Prefix"/> (all of them for "").</summary>
internal sealed record KeyRange(string Partition, string Prefix)
{
    /// <summary>The range's rows after <paramref name="after"/> (its part of the key after the prefix; "" for all).</summary>
    public string Filter(string after) => Prefix.Length == 0
        ? TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey gt {after}")
        : TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey gt {Prefix + after} and RowKey lt {Prefix[..^1] + (char)(Prefix[^1] + 1)}");
}

/// <summary>One page of rows; <see cref="Continuation"/> is null after the last.</summary>
internal sealed record RowPage(IReadOnlyList<TableEntity> Rows, string? Continuation);

/// <summary>
/// Keyset paging over key ranges read in order, for the fleet's listings (agents, an agent's
/// sessions): the continuation is opaque to callers and names its listing (and format version),
/// the range and the last row key returned in it, so one listing's token is refused by another.
/// </summary>
internal static class KeysetPager
{
    public static async Task<CommandResult<RowPage>> PageAsync(TableClient table, string listing, KeyRange[] ranges, string[] select, int limit, string? continuation, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > AgentDirectoryLimits.MaxPageSize)
            return CommandResult<RowPage>.Fail(CommandError.Invalid, $"limit must be between 1 and {AgentDirectoryLimits.MaxPageSize}");
        var (range, after) = (0, "");
        if (continuation is not null && !TryReadContinuation(listing, ranges.Length, continuation, out range, out after))
            return CommandResult<RowPage>.Fail(CommandError.Invalid, "continuation is not one this listing issued (pass back the value of a previous page unchanged)");

        var rows = new List<TableEntity>(limit);
        for (var lastRow = after; range < ranges.Length; range++, lastRow = "")
        {
            var keys = ranges[range];
            await foreach (var entity in table.QueryAsync<TableEntity>(keys.Filter(lastRow), maxPerPage: limit - rows.Count, select: select, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                rows.Add(entity);
                if (rows.Count == limit)
                    return CommandResult<RowPage>.Ok(new RowPage(rows, WriteContinuation(listing, range, entity.RowKey[keys.Prefix.Length..])));
            }
        }
        return CommandResult<RowPage>.Ok(new RowPage(rows, null));
    }

    private static string WriteContinuation(string listing, int range, string lastRow) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{listing}|{range.ToString(CultureInfo.InvariantCulture)}|{lastRow}"));

    private static bool TryReadContinuation(string listing, int ranges, string continuation, out int range, out string lastRow)
    {
        (range, lastRow) = (0, "");
        if (!TryDecodeToken(continuation, maxLength: 1024, out var text)) return false;
        var parts = text.Split('|', 3);
        if (parts.Length != 3 || parts[0] != listing || parts[2].Length == 0) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out range) || range >= ranges) return false;
        lastRow = parts[2];
        return true;
    }

    /// <summary>The UTF-8 text of a base64url continuation token, or false for one that is empty, too long or not base64url of UTF-8.</summary>
    public static bool TryDecodeToken(string token, int maxLength, out string text)
    {
        text = "";
        if (token.Length == 0 || token.Length > maxLength || !Base64Url.IsValid(token)) return false;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Base64Url.DecodeFromChars(token));
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            return false;
        }
    }
}
