namespace RuntimeAuthz.Grains;

/// <summary>
/// References to grains with string keys for calls on a hot path. Orleans' <c>GetGrain&lt;T&gt;(key)</c> looks up
/// the interface's attributes by reflection on every call; here the grain and interface types of
/// <typeparamref name="T"/> are taken from the first reference and reused.
/// </summary>
public static class StringKeyGrains<T> where T : IGrainWithStringKey
{
    /// <summary>A reference, so that threads see it whole (a struct this size could be read half written).</summary>
    private sealed record Types(GrainType Grain, GrainInterfaceType Interface);

    private static volatile Types? types;

    public static T Get(IGrainFactory grains, string key)
    {
        if (types is { } known) return (T)grains.GetGrain(GrainId.Create(known.Grain, key), known.Interface);
        var first = grains.GetGrain<T>(key);
        var reference = (GrainReference)(object)first;
        types = new Types(reference.GrainId.Type, reference.InterfaceType);
        return first;
    }
}
