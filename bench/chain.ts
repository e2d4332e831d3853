/**
 * The client→target chain under load: its configurations side by side, the concurrency
 * sweep, memory at 256 concurrent requests, the first burst on a cold client, and a run that
 * outlives its tokens. Every load comes from a process of its own (runLoadProcess).
 */
import { type Launcher, processLauncher } from "../local/launcher";
import { type LocalStack, startLocalStack } from "../local/stack";
import { TokenIssuer } from "../local/tokenIssuer";
import { type LoadResult, percentile, runLoadProcess } from "./load";
import { cpuMicroseconds, median, peakResidentMiB, residentMiB, round } from "./measure";
import type { Progress } from "./progress";

export type ChainConfiguration = "unauthenticated" | "trusting" | "project" | "documented" | "seed";

export const CHAIN_CONFIGURATIONS: Record<ChainConfiguration, string> = {
  unauthenticated: "no authentication: no token fetched or sent (baseline, never deployable)",
  trusting: "this project, the target trusting Cloud Run's check (targetAuthMode cloud-run)",
  project:
    "this project as deployed by default: the target verifies each token itself (one cached token, shared refresh)",
  documented:
    "google-auth-library's documented pattern (getIdTokenClient once, request per call), to a target trusting Cloud Run",
  seed: "the seed's pattern (a metadata round trip per request)",
};

/** The bench-only bundles each configuration runs in place of the shipped ones. */
const REPLACEMENTS: Record<ChainConfiguration, Partial<Record<string, string>>> = {
  unauthenticated: { client: "unauthenticated-client", target: "unauthenticated-target" },
  trusting: {},
  project: {},
  documented: { client: "documented-pattern-client" },
  seed: { client: "seed-pattern-client" },
};

export interface StartOptions {
  issuer?: TokenIssuer;
  /** Node.js flags for both services; the services' own command line unless given. */
  nodeFlags?: readonly string[];
}

/** A local stack running `configuration`, its services logging warnings only. */
export function startChain(
  configuration: ChainConfiguration,
  { issuer, nodeFlags }: StartOptions = {},
): Promise<LocalStack> {
  const launch = processLauncher(undefined, nodeFlags);
  const replacing: Launcher = (request) =>
    launch({ ...request, bundle: REPLACEMENTS[configuration][request.name] ?? request.bundle });
  const quiet = { LOG_LEVEL: "warn" };
  return startLocalStack({
    basePort: 0,
    env: { client: quiet, target: quiet },
    invokerIamDisabled: configuration === "unauthenticated",
    // google-auth-library's documented pattern sends its token in Authorization alone, which
    // Cloud Run strips; only a target that trusts Cloud Run's check can serve it.
    targetAuthMode:
      configuration === "trusting" || configuration === "documented" ? "cloud-run" : "verify",
    launch: replacing,
    ...(issuer && { issuer }),
  });
}

/** What went wrong in a load: network errors by code, and answers other than 200. */
export function failuresOf(result: LoadResult): Record<string, number> {
  const failures: Record<string, number> = { ...result.errors };
  for (const [status, count] of Object.entries(result.statuses)) {
    if (status !== "200") failures[`HTTP ${status}`] = (failures[`HTTP ${status}`] ?? 0) + count;
  }
  return failures;
}

function addInto(into: Record<string, number>, from: Record<string, number>): void {
  for (const [kind, count] of Object.entries(from)) into[kind] = (into[kind] ?? 0) + count;
}

function total(failures: Record<string, number>): number {
  return Object.values(failures).reduce((a, b) => a + b, 0);
}

/** One load against a stack's client, with the CPU time each service spent on it. */
interface MeasuredLoad {
  result: LoadResult;
  answered: number;
  cpuMicrosecondsPerRequest: { client: number; target: number };
}

async function measureLoad(
  stack: LocalStack,
  load: { concurrency: number; durationMs?: number; requests?: number },
): Promise<MeasuredLoad> {
  const { client, target } = stack.services;
  const pids = { client: client.process.pid!, target: target.process.pid! };
  const before = { client: cpuMicroseconds(pids.client), target: cpuMicroseconds(pids.target) };
  const result = await runLoadProcess({ url: client.url, ...load });
  const answered = Math.max(1, result.latenciesMs.length);
  return {
    result,
    answered,
    cpuMicrosecondsPerRequest: {
      client: (cpuMicroseconds(pids.client) - before.client) / answered,
      target: (cpuMicroseconds(pids.target) - before.target) / answered,
    },
  };
}

export interface LatencySummary {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** The errors by kind: a network error's code, or "HTTP <status>" for an answer other than 200. */
  failures: Record<string, number>;
}

function summarise(rates: number[], latencies: number[], failures: Record<string, number>) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    requestsPerSecond: round(median(rates), 0),
    p50Ms: round(percentile(sorted, 50), 2),
    p99Ms: round(percentile(sorted, 99), 2),
    errors: total(failures),
    failures,
  };
}

export interface ComparatorResult extends LatencySummary {
  configuration: ChainConfiguration;
  /** Requests per second in each round, in round order. */
  roundRates: number[];
  /** The client's CPU time per request, median over rounds, in µs. */
  clientCpuMicroseconds: number;
  /** The target's CPU time per request, median over rounds, in µs. */
  targetCpuMicroseconds: number;
  /** Identity tokens the client fetched, from its start to the end of the run. */
  metadataCalls: number;
  /** Requests the client answered over the same span, warm-up included. */
  requests: number;
}

export interface ComparatorOptions {
  concurrency: number;
  rounds: number;
  secondsPerRound: number;
}

/**
 * The configurations side by side: every round loads each in turn, in an order rotated
 * from round to round, so a noisy neighbour slows all alike; rates are medians over rounds.
 */
export async function benchmarkComparators(
  options: ComparatorOptions,
  progress: Progress,
): Promise<ComparatorResult[]> {
  const configurations = Object.keys(CHAIN_CONFIGURATIONS) as ChainConfiguration[];
  const stacks = new Map<ChainConfiguration, LocalStack>();
  const load = { concurrency: options.concurrency, durationMs: options.secondsPerRound * 1000 };
  try {
    for (const configuration of configurations) {
      stacks.set(configuration, await startChain(configuration));
    }
    const rates = new Map(configurations.map((c) => [c, [] as number[]]));
    const latencies = new Map(configurations.map((c) => [c, [] as number[]]));
    const cpu = new Map(configurations.map((c) => [c, [] as number[]]));
    const targetCpu = new Map(configurations.map((c) => [c, [] as number[]]));
    const failures = new Map(configurations.map((c) => [c, {} as Record<string, number>]));
    const requests = new Map(configurations.map((c) => [c, 0]));

    // Warm-up: a round's worth of load, so that every process is past its JIT warm-up before
    // anything is measured. Its failures count like any other.
    for (const configuration of configurations) {
      progress.next(`comparators, warming up: ${configuration}`);
      const { result, answered } = await measureLoad(stacks.get(configuration)!, load);
      addInto(failures.get(configuration)!, failuresOf(result));
      requests.set(configuration, requests.get(configuration)! + answered);
    }

    for (let round = 1; round <= options.rounds; round += 1) {
      const order = configurations.map(
        (_, i) => configurations[(i + round) % configurations.length]!,
      );
      for (const configuration of order) {
        progress.next(`comparators, round ${round}/${options.rounds}: ${configuration}`);
        const measured = await measureLoad(stacks.get(configuration)!, load);
        rates.get(configuration)!.push(measured.result.requestsPerSecond);
        latencies.get(configuration)!.push(...measured.result.latenciesMs);
        cpu.get(configuration)!.push(measured.cpuMicrosecondsPerRequest.client);
        targetCpu.get(configuration)!.push(measured.cpuMicrosecondsPerRequest.target);
        addInto(failures.get(configuration)!, failuresOf(measured.result));
        requests.set(configuration, requests.get(configuration)! + measured.answered);
      }
    }

    return configurations.map((configuration) => ({
      configuration,
      ...summarise(
        rates.get(configuration)!,
        latencies.get(configuration)!,
        failures.get(configuration)!,
      ),
      roundRates: rates.get(configuration)!.map((rate) => round(rate, 0)),
      clientCpuMicroseconds: round(median(cpu.get(configuration)!), 0),
      targetCpuMicroseconds: round(median(targetCpu.get(configuration)!), 0),
      metadataCalls: stacks.get(configuration)!.services.client.metadata.stats.identityTokensIssued,
      requests: requests.get(configuration)!,
    }));
  } finally {
    for (const stack of stacks.values()) await stack.stop();
  }
}

export interface ColdBurstResult {
  configuration: ChainConfiguration;
  requests: number;
  metadataCalls: number;
  errors: number;
}

/** `requests` requests reaching a freshly started client all at once: how many token fetches. */
export async function metadataCallsAtColdBurst(
  requests: number,
  progress: Progress,
): Promise<ColdBurstResult[]> {
  const results: ColdBurstResult[] = [];
  for (const configuration of Object.keys(CHAIN_CONFIGURATIONS) as ChainConfiguration[]) {
    progress.next(`${requests} requests at once on a cold client: ${configuration}`);
    const stack = await startChain(configuration);
    try {
      const { result } = await measureLoad(stack, { concurrency: requests, requests });
      results.push({
        configuration,
        requests,
        metadataCalls: stack.services.client.metadata.stats.identityTokensIssued,
        errors: total(failuresOf(result)),
      });
    } finally {
      await stack.stop();
    }
  }
  return results;
}

export interface SweepResult extends LatencySummary {
  concurrency: number;
}

/** This project's chain at each concurrency, levels interleaved round by round. */
export async function concurrencySweep(
  levels: readonly number[],
  rounds: number,
  secondsPerRound: number,
  progress: Progress,
): Promise<SweepResult[]> {
  const stack = await startChain("project");
  try {
    progress.next("sweep, warming up");
    await runLoadProcess({
      url: stack.services.client.url,
      concurrency: 64,
      durationMs: secondsPerRound * 1000,
    });
    const rates = new Map(levels.map((level) => [level, [] as number[]]));
    const latencies = new Map(levels.map((level) => [level, [] as number[]]));
    const failures = new Map(levels.map((level) => [level, {} as Record<string, number>]));
    for (let round = 1; round <= rounds; round += 1) {
      for (const level of levels.map((_, i) => levels[(i + round) % levels.length]!)) {
        progress.next(`sweep, round ${round}/${rounds}: concurrency ${level}`);
        const result = await runLoadProcess({
          url: stack.services.client.url,
          concurrency: level,
          durationMs: secondsPerRound * 1000,
        });
        rates.get(level)!.push(result.requestsPerSecond);
        latencies.get(level)!.push(...result.latenciesMs);
        addInto(failures.get(level)!, failuresOf(result));
      }
    }
    return levels.map((level) => ({
      concurrency: level,
      ...summarise(rates.get(level)!, latencies.get(level)!, failures.get(level)!),
    }));
  } finally {
    await stack.stop();
  }
}

export interface MemoryVariant {
  name: string;
  /** The Node.js flags both services ran with. */
  nodeFlags: readonly string[];
  /** The instance memory whose command line these flags are, if they are the services' own. */
  memory?: string;
}

export interface MemoryResult extends LatencySummary {
  variant: string;
  nodeFlags: readonly string[];
  /** Set on the rows of the services' own command line: the memory setting it was made for. */
  memory?: string;
  concurrency: number;
  seconds: number;
  /** Resident MiB once started, before any load (VmRSS). */
  idleMiB: { client: number; target: number };
  /**
   * Resident MiB once the first call through the chain has been answered and has settled: the
   * client has loaded google-auth-library and fetched its token, the target has built its key
   * set and fetched the keys, both with Node.js's fetch client (undici), which start-up leaves out.
   */
  afterFirstCallMiB: { client: number; target: number };
  /** The most each process held, start to end of the load (VmHWM). */
  peakMiB: { client: number; target: number };
  cpuMicrosecondsPerRequest: { client: number; target: number };
}

/** A moment for the start-up to settle before idle memory is read. */
const SETTLE_MS = 1000;

/**
 * Memory under load, once per variant of the services' Node.js flags, each on freshly started
 * processes: resident size read before any load, then the peak after `seconds` at
 * `concurrency` from the kernel's high-water mark, with the CPU time it cost.
 */
export async function memoryUnderLoad(
  variants: readonly MemoryVariant[],
  concurrency: number,
  seconds: number,
  progress: Progress,
): Promise<MemoryResult[]> {
  const results: MemoryResult[] = [];
  for (const variant of variants) {
    progress.next(`memory, ${seconds} s at ${concurrency} concurrent requests: ${variant.name}`);
    const stack = await startChain("project", { nodeFlags: variant.nodeFlags });
    try {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const pids = {
        client: stack.services.client.process.pid!,
        target: stack.services.target.process.pid!,
      };
      const resident = () => ({
        client: round(residentMiB(pids.client)),
        target: round(residentMiB(pids.target)),
      });
      const idleMiB = resident();
      await measureLoad(stack, { concurrency: 1, requests: 1 });
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const afterFirstCallMiB = resident();
      const measured = await measureLoad(stack, { concurrency, durationMs: seconds * 1000 });
      results.push({
        variant: variant.name,
        nodeFlags: variant.nodeFlags,
        ...(variant.memory !== undefined && { memory: variant.memory }),
        concurrency,
        seconds,
        ...summarise(
          [measured.result.requestsPerSecond],
          measured.result.latenciesMs,
          failuresOf(measured.result),
        ),
        idleMiB,
        afterFirstCallMiB,
        peakMiB: {
          client: round(peakResidentMiB(pids.client)),
          target: round(peakResidentMiB(pids.target)),
        },
        cpuMicrosecondsPerRequest: {
          client: round(measured.cpuMicrosecondsPerRequest.client, 0),
          target: round(measured.cpuMicrosecondsPerRequest.target, 0),
        },
      });
    } finally {
      await stack.stop();
    }
  }
  return results;
}

export interface TokenLifetimeResult {
  lifetimeSeconds: number;
  runSeconds: number;
  concurrency: number;
  requests: number;
  errors: number;
  failures: Record<string, number>;
  metadataCalls: number;
  /** Seconds from the start of the load to each token fetch (polled every 100 ms). */
  fetchTimesSeconds: number[];
  /** The shortest time between two fetches, in seconds; null with fewer than two. */
  shortestGapSeconds: number | null;
  /** Fetches per token lifetime elapsed: metadata calls × lifetime ÷ run time. */
  callsPerLifetime: number;
}

/**
 * A run longer than the tokens last: the stand-in issues tokens of `lifetimeSeconds`, the load
 * runs for `runSeconds`, and the token fetches are timed as they happen.
 */
export async function tokenLifetimeRun(
  lifetimeSeconds: number,
  runSeconds: number,
  concurrency: number,
  progress: Progress,
): Promise<TokenLifetimeResult> {
  progress.next(
    `${runSeconds} s at ${concurrency} concurrent requests, ${lifetimeSeconds}-s tokens`,
  );
  const stack = await startChain("project", { issuer: new TokenIssuer({ lifetimeSeconds }) });
  try {
    const stats = stack.services.client.metadata.stats;
    const fetchTimes: number[] = [];
    const started = performance.now();
    let seen = stats.identityTokensIssued;
    // The client fetches its first token with the first request, inside the load.
    const poll = setInterval(() => {
      for (; seen < stats.identityTokensIssued; seen += 1) {
        fetchTimes.push(round((performance.now() - started) / 1000, 1));
      }
    }, 100);
    const result = await runLoadProcess({
      url: stack.services.client.url,
      concurrency,
      durationMs: runSeconds * 1000,
    });
    clearInterval(poll);
    const gaps = fetchTimes.slice(1).map((time, i) => time - fetchTimes[i]!);
    const failures = failuresOf(result);
    return {
      lifetimeSeconds,
      runSeconds,
      concurrency,
      requests: result.latenciesMs.length,
      errors: total(failures),
      failures,
      metadataCalls: stats.identityTokensIssued,
      fetchTimesSeconds: fetchTimes,
      shortestGapSeconds: gaps.length > 0 ? round(Math.min(...gaps), 1) : null,
      callsPerLifetime: round((stats.identityTokensIssued * lifetimeSeconds) / runSeconds, 2),
    };
  } finally {
    await stack.stop();
  }
}
