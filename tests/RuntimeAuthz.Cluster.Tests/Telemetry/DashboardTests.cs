using System.Net;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RuntimeAuthz.Cluster.Tests.Infrastructure;
using RuntimeAuthz.Silo.Security;
using RuntimeAuthz.Silo.Telemetry;

namespace RuntimeAuthz.Cluster.Tests.Telemetry;

/// <summary>The Orleans Dashboard, enabled on a real silo host: admins only, on every one of its routes.</summary>
[Collection(ClusterCollection.Name)]
public sealed class DashboardTests(ClusterEnvironment env)
{
    private async Task<RunningHost> StartDashboardHostAsync(bool enabled = true)
    {
        var id = "dash-" + Guid.NewGuid().ToString("N")[..10];
        return await env.StartHostAsync(env.HostArgs(id, "Production", $"--{DashboardSettings.Section}:Enabled={enabled}"));
    }

    [Fact]
    public async Task Only_admins_open_the_dashboard()
    {
        var host = await StartDashboardHostAsync();
        var page = await host.Http.GetAsync(DashboardSettings.Path + "/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        // The dashboard collects its figures in the background: this silo appears after its first round.
        await Eventually.UntilAsync("the dashboard counts this silo", () => host.Http.GetJsonAsync(DashboardSettings.Path + "/DashboardCounters"),
            counters => counters.Status == HttpStatusCode.OK && counters.Json["totalActiveHostCount"]!.GetValue<int>() >= 1);

        foreach (var path in new[] { "/", "/DashboardCounters", "/ClusterStats", "/GrainTypes", "/index.min.js" })
        {
            (await host.ClientWith(null).GetJsonAsync(DashboardSettings.Path + path)).AssertProblem(HttpStatusCode.Unauthorized);
            foreach (var role in Roles.All.Where(r => r != Roles.Admin && !Roles.IsAgentBound(r)))
                (await host.As(role).GetJsonAsync(DashboardSettings.Path + path)).AssertProblem(HttpStatusCode.Forbidden);
            (await host.AsAgent("some-agent").GetJsonAsync(DashboardSettings.Path + path)).AssertProblem(HttpStatusCode.Forbidden);
            (await host.ClientWith(TestTokens.ForPep("some-gateway", Caller.AnyAgent)).GetJsonAsync(DashboardSettings.Path + path)).AssertProblem(HttpStatusCode.Forbidden);
        }

        // Every route the dashboard maps requires the admin-only permission, and none is in the API document.
        var routes = host.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => ("/" + e.RoutePattern.RawText?.TrimStart('/')).StartsWith(DashboardSettings.Path, StringComparison.Ordinal)).ToArray();
        Assert.True(routes.Length >= 10, $"{routes.Length} dashboard routes");
        Assert.All(routes, r => Assert.Same(Permissions.DashboardView, r.Metadata.GetMetadata<Permission>()));
        Assert.Equal([Roles.Admin], Permissions.DashboardView.Roles);
        var document = await host.ClientWith(null).GetStringAsync(RuntimeAuthz.Silo.Http.ApiReference.DocumentPath);
        Assert.DoesNotContain(DashboardSettings.Path, document, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_setting_there_is_no_dashboard()
    {
        var host = await StartDashboardHostAsync(enabled: false);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync(DashboardSettings.Path + "/")).StatusCode);
    }
}
