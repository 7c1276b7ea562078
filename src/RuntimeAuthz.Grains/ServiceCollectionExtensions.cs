using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RuntimeAuthz.Grains.Governance;

namespace RuntimeAuthz.Grains;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers the silo-side services the grains need: the authorization clock (system time
    /// unless an <see cref="AuthzClock"/> is already registered), the per-silo policy cache and
    /// the service that keeps it current, the per-silo authority view with the service that pushes changes
    /// to it, and the delegation limits (validated at start).
    /// </summary>
    public static IServiceCollection AddRuntimeAuthzGrainServices(this IServiceCollection services)
    {
        services.TryAddSingleton(new AuthzClock(TimeProvider.System));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IGovernanceEventSink, LoggingGovernanceEventSink>();
        services.AddOptions<DelegationOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DelegationOptions>, DelegationOptionsValidator>());
        services.AddOptions<Approvals.ApprovalOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<Approvals.ApprovalOptions>, Approvals.ApprovalOptionsValidator>();
        services.AddSingleton<Approvals.ApprovalWebhooks>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<Approvals.ApprovalWebhooks>());
        services.AddSingleton<PolicyCache>();
        services.AddMetrics();
        services.TryAddSingleton(sp => new Telemetry.AuthzMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<AuthzClock>(),
            sp.GetRequiredService<PolicyCache>(), sp.GetRequiredService<Entities.EntityCache>(), () => sp.GetService<ILocalSiloDetails>()?.SiloAddress.ToString() ?? ""));
        services.AddSingleton<PolicyCacheService>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<PolicyCacheService>());
        services.AddSingleton<Entities.EntityCache>();
        services.AddSingleton<Entities.EntityCacheService>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<Entities.EntityCacheService>());
        services.AddSingleton<AuthorityView>();
        services.AddSingleton<IAuthorityViewClient, AuthorityViewClient>();
        services.AddSingleton<AuthorityPush>();
        services.AddGrainService<AuthorityViewService>();
        services.AddSingleton<Shadow.ShadowReporter>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<Shadow.ShadowReporter>());
        return services;
    }
}
