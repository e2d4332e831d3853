/**
 * `npm run bench`: cold start, memory, throughput and what authentication costs, measured on
 * loopback with the local stand-ins and the shipped bundles started as the images start them.
 * Prints every figure with its goal, writes bench/results.json and regenerates the tables in
 * docs/benchmarks.md from it.
 *
 * Tunable through the environment: BENCH_CONCURRENCY (64, for the side-by-side comparison),
 * BENCH_ROUNDS (5), BENCH_SECONDS per round (3), BENCH_COLD_STARTS (21), BENCH_MEMORY_SECONDS (15),
 * BENCH_TOKEN_SECONDS (the run that outlives 20-s tokens, 50).
 */
import os from "node:os";
import { IMAGE_MEMORY, NODE_FLAGS, nodeFlags } from "../services/nodeCommand";
import {
  benchmarkComparators,
  CHAIN_CONFIGURATIONS,
  concurrencySweep,
  memoryUnderLoad,
  metadataCallsAtColdBurst,
  tokenLifetimeRun,
} from "./chain";
import { benchmarkColdStart } from "./coldStart";
import { round } from "./measure";
import { Progress } from "./progress";
import {
  type BenchResults,
  judgeGoals,
  MEMORY_SETTINGS,
  renderTables,
  SHIPPED_VARIANT,
  writeResults,
} from "./report";
import { benchmarkVerification } from "./verification";

function setting(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

const loadAverage = () => os.loadavg().map((value) => round(value, 2));

async function main(): Promise<void> {
  const settings = {
    comparatorConcurrency: setting("BENCH_CONCURRENCY", 64),
    rounds: setting("BENCH_ROUNDS", 5),
    secondsPerRound: setting("BENCH_SECONDS", 3),
    coldStartSamples: setting("BENCH_COLD_STARTS", 21),
    memorySeconds: setting("BENCH_MEMORY_SECONDS", 15),
    memoryConcurrency: 256,
  };
  const tokenSeconds = setting("BENCH_TOKEN_SECONDS", 50);
  const tokenLifetimeSeconds = 20;
  const sweepLevels = [1, 8, 64, 256];
  // The services' command line at 512Mi, the default, and at every other memory setting the
  // stack's instances use, from the smallest it accepts to 4Gi: V8's heap follows the memory,
  // and each must carry the load within the memory goals.
  const memoryVariants = [
    { name: SHIPPED_VARIANT, nodeFlags: NODE_FLAGS, memory: IMAGE_MEMORY },
    ...MEMORY_SETTINGS.filter((memory) => memory !== IMAGE_MEMORY).map((memory) => ({
      name: `${SHIPPED_VARIANT} at ${memory}`,
      nodeFlags: nodeFlags(memory),
      memory,
    })),
    { name: "Node.js defaults", nodeFlags: [] },
    { name: "heap sizing only", nodeFlags: NODE_FLAGS.filter((flag) => flag !== "--no-maglev") },
  ];
  const verificationRounds = 5;
  const chainConfigurations = Object.keys(CHAIN_CONFIGURATIONS).length;
  const progress = new Progress(
    settings.coldStartSamples +
      memoryVariants.length +
      1 +
      settings.rounds * sweepLevels.length +
      chainConfigurations * (settings.rounds + 1) +
      chainConfigurations +
      1 +
      verificationRounds,
  );
  const loadAverageBefore = loadAverage();
  const loadAverageAtPhase: Record<string, number> = {};
  const phase = <T>(name: string, run: () => Promise<T>): Promise<T> => {
    loadAverageAtPhase[name] = loadAverage()[0]!;
    return run();
  };

  // Cold start and idle memory come first, before this run has loaded anything.
  const coldStart = await phase("coldStart", () =>
    benchmarkColdStart(settings.coldStartSamples, progress),
  );
  const memory = await phase("memory", () =>
    memoryUnderLoad(memoryVariants, settings.memoryConcurrency, settings.memorySeconds, progress),
  );
  const sweep = await phase("sweep", () =>
    concurrencySweep(sweepLevels, settings.rounds, settings.secondsPerRound, progress),
  );
  const comparators = await phase("comparators", () =>
    benchmarkComparators(
      {
        concurrency: settings.comparatorConcurrency,
        rounds: settings.rounds,
        secondsPerRound: settings.secondsPerRound,
      },
      progress,
    ),
  );
  const coldBurst = await phase("coldBurst", () => metadataCallsAtColdBurst(256, progress));
  const tokenLifetime = await phase("tokenLifetime", () =>
    tokenLifetimeRun(tokenLifetimeSeconds, tokenSeconds, 16, progress),
  );
  const verification = await phase("verification", () =>
    benchmarkVerification(verificationRounds, 1000, progress),
  );
  progress.done();

  const measured: Omit<BenchResults, "goals"> = {
    measuredAt: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model ?? "unknown",
      cores: os.cpus().length,
      memoryGiB: round(os.totalmem() / 2 ** 30),
      node: process.version,
      loadAverageBefore,
      loadAverageAfter: loadAverage(),
    },
    loadAverageAtPhase,
    settings,
    nodeFlags: NODE_FLAGS,
    coldStart,
    memory,
    sweep,
    comparators,
    coldBurst,
    tokenLifetime,
    verification,
  };
  const results: BenchResults = { ...measured, goals: judgeGoals(measured) };
  process.stdout.write(`\n${renderTables(results)}\n`);
  writeResults(results);
  process.stdout.write("Written to bench/results.json and docs/benchmarks.md\n");
}

main().catch((error: Error) => {
  process.stderr.write(`npm run bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
