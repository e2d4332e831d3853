/**
 * How a service's process is started: `node <NODE_FLAGS> <bundle>`. The container image runs
 * exactly this command line (services/Dockerfile's ENTRYPOINT, where the bundle is server.js),
 * and `npm start`, the tests and the benchmark spawn the same (local/launcher.ts), so what is
 * measured on a laptop is what Cloud Run starts. A test checks that the two agree.
 *
 * The flags size V8's heap as it sizes itself in Cloud Run's default 512 MiB instance, where
 * Node.js derives the heap from the container's memory limit, and bound the one part that
 * default leaves loose. Without them, on a machine with gigabytes free, V8 keeps far more heap
 * than the same service holds in Cloud Run: the benchmark (docs/benchmarks.md) measures both,
 * with their CPU cost.
 */
export const NODE_FLAGS: readonly string[] = [
  // The young generation V8 picks for itself under a 512 MiB limit (1 MiB semi-spaces); on a
  // large machine it grows to 64 MiB.
  "--max-semi-space-size=1",
  // A quarter of 512 MiB for the old generation. V8's own limit there, 256 MiB, lets garbage
  // pile up to over 150 MiB resident under load before the first full collection; the live
  // heap at 256 concurrent requests is about 20 MiB.
  "--max-old-space-size=128",
  // V8's mid-tier compiler: its code and its compilations cost 2 to 5 MiB resident, at no
  // throughput measurable on these services (the benchmark shows the figures).
  "--no-maglev",
];
