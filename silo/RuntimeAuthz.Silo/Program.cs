using RuntimeAuthz.Silo;

var app = SiloHost.Build(args);
await app.RunAsync();
