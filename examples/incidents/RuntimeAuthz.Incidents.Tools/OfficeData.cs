using System.Text.Json;

namespace RuntimeAuthz.Incidents.Tools;

/// <summary>A contact as <c>lookup_contact</c> returns it.</summary>
public sealed record Contact(string Name, string Email);

/// <summary>A sent mail, one file in <c>outbox/</c>.</summary>
public sealed record SentMail(string To, string Subject, string Body, DateTimeOffset SentAt);

/// <summary>A wire, one line of <c>ledger.jsonl</c>.</summary>
public sealed record Wire(string Account, long Amount, string Reference, DateTimeOffset WiredAt);

/// <summary>
/// The tool server's state in its data directory, so that what a call did (or, when it was refused, did not do) can be
/// seen from outside: the walk-throughs and their tests read the outbox and the ledger.
/// </summary>
public sealed class OfficeData(string directory)
{
    public const string ContactsFile = "contacts.json";
    public const string OutboxDirectory = "outbox";
    public const string LedgerFile = "ledger.jsonl";
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly SemaphoreSlim _writing = new(1, 1);

    public string Directory { get; } = directory;

    public async Task<IReadOnlyList<Contact>> ContactsAsync(CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(Path.Combine(Directory, ContactsFile));
        return await JsonSerializer.DeserializeAsync<List<Contact>>(file, Json, cancellationToken) ?? [];
    }

    public async Task SendAsync(SentMail mail, CancellationToken cancellationToken)
    {
        var outbox = System.IO.Directory.CreateDirectory(Path.Combine(Directory, OutboxDirectory));
        await File.WriteAllTextAsync(Path.Combine(outbox.FullName, $"{mail.SentAt:yyyyMMddTHHmmssfff}-{Guid.NewGuid():N}.json"),
            JsonSerializer.Serialize(mail, Json), cancellationToken);
    }

    public async Task WireAsync(Wire wire, CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            await File.AppendAllTextAsync(Path.Combine(Directory, LedgerFile), JsonSerializer.Serialize(wire, Json) + "\n", cancellationToken);
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>The mail sent so far (read by the walk-throughs to show what left and what did not).</summary>
    public static IReadOnlyList<SentMail> Outbox(string directory)
    {
        var outbox = Path.Combine(directory, OutboxDirectory);
        return !System.IO.Directory.Exists(outbox) ? []
            : [.. System.IO.Directory.GetFiles(outbox, "*.json").Order(StringComparer.Ordinal)
                .Select(f => JsonSerializer.Deserialize<SentMail>(File.ReadAllText(f), Json)!)];
    }

    /// <summary>The wires made so far.</summary>
    public static IReadOnlyList<Wire> Ledger(string directory)
    {
        var ledger = Path.Combine(directory, LedgerFile);
        return !File.Exists(ledger) ? []
            : [.. File.ReadAllLines(ledger).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<Wire>(l, Json)!)];
    }
}
