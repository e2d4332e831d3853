/**
 * How a service's process is started: `node <flags> <bundle>`, with V8's heap sized by one rule
 * from the instance's memory limit. The container image's default command line
 * (services/Dockerfile's ENTRYPOINT and CMD, where the bundle is server.js) is the rule at
 * Cloud Run's default 512 MiB; the stack replaces the image's CMD with the rule at the
 * configured memory (index.ts); `npm start`, the tests and the benchmark spawn the rule's flags
 * too (local/launcher.ts), so what is measured on a laptop is what Cloud Run starts. Tests keep
 * the Dockerfile and the rule equal.
 *
 * Why the heap is sized at all: on a machine with gigabytes free, V8 keeps far more heap than
 * the same service holds in a Cloud Run instance, and within an instance a loose old generation
 * lets garbage pile up towards the memory limit before the first full collection. The benchmark
 * (docs/benchmarks.md) measures both, with their CPU cost.
 */

/** The memory limit the image's own command line is sized for: Cloud Run's default. */
export const IMAGE_MEMORY = "512Mi";

/** The smallest memory limit the rule is shown to carry the benchmark's load in (see config.ts). */
export const MIN_MEMORY_MIB = 256;

const SIZE = /^(\d+)(Mi|Gi)$/;

/** A memory size as Cloud Run writes it (`512Mi`, `1Gi`) in MiB; NaN when it is not one. */
export function mebibytes(size: string): number {
  const match = SIZE.exec(size);
  if (match === null) return Number.NaN;
  return Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
}

/**
 * Node.js's flags for an instance with `memory` (e.g. `512Mi`) of memory:
 * - the old generation gets a quarter of the memory, the share V8 gives itself on a machine of
 *   that size, so a larger instance gets a larger heap and every instance keeps three quarters
 *   for the young generation, code, buffers and Cloud Run's in-memory file system;
 * - the young generation stays at 1 MiB semi-spaces, what V8 picks for itself up to 512 MiB:
 *   each request's garbage dies young, and a larger nursery only raises the resident size;
 * - no Maglev, V8's mid-tier compiler: its code and compilations cost resident memory from the
 *   start, which is what keeps each service under its idle goal; without it the services start
 *   somewhat slower (docs/benchmarks.md has both figures).
 */
export function nodeFlags(memory: string): string[] {
  const memoryMiB = mebibytes(memory);
  if (!(memoryMiB >= MIN_MEMORY_MIB)) {
    throw new Error(
      `nodeFlags: memory must be a size of at least ${MIN_MEMORY_MIB}Mi like 512Mi or 1Gi (got "${memory}")`,
    );
  }
  return [
    "--max-semi-space-size=1",
    `--max-old-space-size=${Math.floor(memoryMiB / 4)}`,
    "--no-maglev",
  ];
}

/** The flags at the image's default memory: what `npm start` and the tests run with. */
export const NODE_FLAGS: readonly string[] = nodeFlags(IMAGE_MEMORY);

/**
 * The environment a service's process starts with besides its configuration: the container
 * image's ENV (services/Dockerfile; a test keeps the two equal) and what the launcher gives
 * every bundle (local/launcher.ts).
 *
 * MALLOC_TRIM_THRESHOLD_ has glibc's allocator give memory at the top of its heap back to the
 * system once 64 KiB of it is free. By default that threshold starts at 128 KiB and grows with
 * the largest block ever freed, up to 32 MiB, so memory the services used for a burst of
 * requests (sockets, read buffers, V8's compilers) stays resident: under 256 concurrent requests
 * the client's peak is about 5 MiB lower with it, at no measurable CPU cost (docs/benchmarks.md).
 * Setting it also turns off that growth.
 */
export const NODE_ENVIRONMENT: Readonly<Record<string, string>> = {
  MALLOC_TRIM_THRESHOLD_: "65536",
};
