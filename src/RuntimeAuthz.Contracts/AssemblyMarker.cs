namespace RuntimeAuthz.Contracts;
internal static class AssemblyMarker;
