using Azure.Data.Tables;

namespace RuntimeAuthz.Grains;

/// <summary>How a silo signs in to an Azure Storage account's table service.</summary>
public enum StorageCredential
{
    /// <summary>The account key or SAS inside <see cref="StorageAccountOptions.ConnectionString"/>.</summary>
    ConnectionString,

    /// <summary>Microsoft Entra ID through Azure.Identity's DefaultAzureCredential (managed identity, workload identity, environment, Azure CLI); needs <see cref="StorageAccountOptions.ServiceUri"/>.</summary>
    DefaultAzureCredential,
}

/// <summary>A storage account in configuration: a connection string, or a table endpoint plus an Entra ID credential.</summary>
public class StorageAccountOptions
{
    public string? ConnectionString { get; set; }

    /// <summary>Table endpoint, e.g. <c>https://account.table.core.windows.net</c>; only with <see cref="StorageCredential.DefaultAzureCredential"/>.</summary>
    public Uri? ServiceUri { get; set; }

    public StorageCredential Credential { get; set; } = StorageCredential.ConnectionString;

    /// <summary>Whether any account setting is given (an unset evidence account falls back to the grain storage account).</summary>
    public bool HasAccount => !string.IsNullOrWhiteSpace(ConnectionString) || ServiceUri is not null || Credential != StorageCredential.ConnectionString;

    /// <summary>Adds a failure naming the key under <paramref name="section"/> for each account setting that cannot work.</summary>
    public void ValidateAccount(string section, ICollection<string> failures)
    {
        if (Credential == StorageCredential.DefaultAzureCredential)
        {
            if (ServiceUri is null)
                failures.Add($"{section}:ServiceUri is required with {section}:Credential=DefaultAzureCredential (the table endpoint, e.g. https://<account>.table.core.windows.net)");
            else if (!ServiceUri.IsAbsoluteUri || (ServiceUri.Scheme != Uri.UriSchemeHttps && !(ServiceUri.Scheme == Uri.UriSchemeHttp && ServiceUri.IsLoopback)))
                failures.Add($"{section}:ServiceUri must be an absolute https URL (tokens are never sent in clear text), not '{ServiceUri}'");
            if (!string.IsNullOrWhiteSpace(ConnectionString))
                failures.Add($"{section}:ConnectionString and {section}:Credential=DefaultAzureCredential exclude each other: set one");
            return;
        }
        if (ServiceUri is not null)
            failures.Add($"{section}:ServiceUri is only used with {section}:Credential=DefaultAzureCredential; with a connection string the endpoint is in the string");
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            failures.Add($"{section}:ConnectionString is required (an Azure Storage connection string; set it with the environment variable " +
                $"{section.Replace(":", "__", StringComparison.Ordinal)}__ConnectionString or --{section}:ConnectionString=...), " +
                $"or set {section}:ServiceUri with {section}:Credential=DefaultAzureCredential");
            return;
        }
        try
        {
            _ = new TableServiceClient(ConnectionString);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
        {
            // The parser's message may quote parts of the string; the string holds a secret, so neither is repeated.
            failures.Add($"{section}:ConnectionString is not a valid Azure Storage connection string ({ex.GetType().Name}: " +
                "an AccountKey that is not base64, or a missing AccountName or TableEndpoint)");
        }
    }
}
