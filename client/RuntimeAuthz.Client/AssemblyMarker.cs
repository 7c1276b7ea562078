namespace RuntimeAuthz.Client;
internal static class AssemblyMarker;
