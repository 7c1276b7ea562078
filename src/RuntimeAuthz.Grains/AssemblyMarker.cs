namespace RuntimeAuthz.Grains;
internal static class AssemblyMarker;
