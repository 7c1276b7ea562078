using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Silo.Http;

namespace RuntimeAuthz.Silo.Security;

/// <summary>The "RateLimiting" section: requests per caller (token subject, else remote address) per window.</summary>
public sealed class CallerRateLimitOptions
{
    public const string Section = "RateLimiting";

    public int PermitLimit { get; set; } = 1000;
    public int WindowSeconds { get; set; } = 1;
}

public sealed class CallerRateLimitOptionsValidator : IValidateOptions<CallerRateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, CallerRateLimitOptions options)
    {
        var failures = new List<string>();
        if (options.PermitLimit < 1) failures.Add($"{CallerRateLimitOptions.Section}:PermitLimit must be at least 1");
        if (options.WindowSeconds is < 1 or > 86400) failures.Add($"{CallerRateLimitOptions.Section}:WindowSeconds must be between 1 and 86400");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Per-caller fixed-window limits on the HTTP API (health probes are not limited); 429 problem details with Retry-After.</summary>
public static class CallerRateLimiting
{
    public static IServiceCollection AddCallerRateLimiting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CallerRateLimitOptions>().Bind(configuration.GetSection(CallerRateLimitOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CallerRateLimitOptions>, CallerRateLimitOptionsValidator>();
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<CallerRateLimitOptions>, CallerReader>((o, limits, callers) =>
        {
            var window = TimeSpan.FromSeconds(limits.Value.WindowSeconds);
            var permits = limits.Value.PermitLimit;
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (context.Request.Path.StartsWithSegments("/health")) return RateLimitPartition.GetNoLimiter("health");
                return RateLimitPartition.GetFixedWindowLimiter(PartitionOf(context, callers), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = permits, Window = window, QueueLimit = 0, AutoReplenishment = true,
                });
            });
            o.OnRejected = async (rejected, ct) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : window;
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                rejected.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await Problems.Create(StatusCodes.Status429TooManyRequests,
                    $"too many requests from this caller: at most {permits} per {limits.Value.WindowSeconds} s; retry after {seconds} s")
                    .ExecuteAsync(rejected.HttpContext);
            };
        });
        services.AddRateLimiter(_ => { });
        return services;
    }

    /// <summary>The authenticated subject (with its issuer), else the remote address: an unauthenticated flood cannot use up a caller's budget.</summary>
    private static string PartitionOf(HttpContext context, CallerReader callers) =>
        callers.Read(context.User) is { } caller
            ? $"caller:{caller.Issuer}|{caller.Subject}"
            : $"address:{context.Connection.RemoteIpAddress}";
}
