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
  // A quarter of 512 MiB for the old generation. V8's own limit there is 256 MiB, and under a
  // loose limit garbage piles up far beyond the live heap (about 20 MiB at 256 concurrent
  // requests) before the first full collection.
  "--max-old-space-size=128",
  // V8's mid-tier compiler: its code and its compilations cost about 2 MiB resident from the
  // start, what keeps each service under 60 MiB idle; without it the services start somewhat
  // slower (the benchmark shows both).
  "--no-maglev",
];
