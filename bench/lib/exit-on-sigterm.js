// Preloaded into a profiled server (BENCH_PROFILE=1): node writes a --cpu-prof profile only
// on a normal exit, and the baselines have no SIGTERM handler of their own. A server that
// has one (this service) shuts down its own way.
process.on('SIGTERM', () => {
  if (process.listenerCount('SIGTERM') === 1) process.exit(0);
});
