namespace RuntimeAuthz.Policy;
internal static class AssemblyMarker;
