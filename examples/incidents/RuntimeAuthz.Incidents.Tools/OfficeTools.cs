using System.ComponentModel;
using ModelContextProtocol;
using ModelContextProtocol.Server;

namespace RuntimeAuthz.Incidents.Tools;

/// <summary>
/// The office tools. They do what they say, with no authorization of their own: deciding whether a call may run is the
/// gateway's job, and a call it refuses never arrives here.
/// </summary>
[McpServerToolType]
public sealed class OfficeTools(OfficeData data, HttpClient web, TimeProvider time)
{
    private const int MaxPageCharacters = 16 * 1024;

    [McpServerTool(Name = "lookup_contact", ReadOnly = true, Destructive = false, Idempotent = true, UseStructuredContent = true)]
    [Description("Looks up a contact by name and returns their email address.")]
    public async Task<Contact> LookupContactAsync([Description("The contact's name")] string name, CancellationToken cancellationToken)
    {
        var contacts = await data.ContactsAsync(cancellationToken);
        return contacts.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new McpException($"no contact named '{name}'");
    }

    [McpServerTool(Name = "fetch_page", ReadOnly = true, Destructive = false, OpenWorld = true)]
    [Description("Fetches a web page (http or https) and returns its text.")]
    public async Task<string> FetchPageAsync([Description("The page's absolute http(s) address")] string url, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
            throw new McpException($"'{url}' is not an absolute http(s) address");
        using var response = await web.GetAsync(address, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode) throw new McpException($"{url} answered {(int)response.StatusCode}");
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return text.Length > MaxPageCharacters ? text[..MaxPageCharacters] : text;
    }

    [McpServerTool(Name = "send_email", ReadOnly = false, Destructive = true, OpenWorld = true, UseStructuredContent = true)]
    [Description("Sends an email. Mail that has left cannot be called back.")]
    public async Task<SentMail> SendEmailAsync(
        [Description("The recipient's address")] string to, [Description("The subject line")] string subject, [Description("The message")] string body,
        CancellationToken cancellationToken)
    {
        if (!to.Contains('@', StringComparison.Ordinal)) throw new McpException($"'{to}' is not an email address");
        var mail = new SentMail(to, subject, body, time.GetUtcNow());
        await data.SendAsync(mail, cancellationToken);
        return mail;
    }

    [McpServerTool(Name = "wire_money", ReadOnly = false, Destructive = true, OpenWorld = true, UseStructuredContent = true)]
    [Description("Wires money to an account. A wire cannot be undone.")]
    public async Task<Wire> WireMoneyAsync(
        [Description("The receiving account")] string account, [Description("The amount, in whole units")] long amount,
        [Description("The payment reference")] string reference, CancellationToken cancellationToken)
    {
        if (amount <= 0) throw new McpException("the amount must be positive");
        var wire = new Wire(account, amount, reference, time.GetUtcNow());
        await data.WireAsync(wire, cancellationToken);
        return wire;
    }
}
