/**
 * The client→target chain in three configurations, measured side by side: every round loads
 * each configuration in turn, so a noisy neighbour slows all three alike, and the figures are
 * medians over rounds.
 */
import { processLauncher, type Launcher } from "../local/launcher";
import { type LocalStack, startLocalStack } from "../local/stack";
import { type LoadResult, percentile, runLoad } from "./load";
import { median, peakResidentMiB, residentMiB, round } from "./measure";
import type { Progress } from "./progress";

export type ChainConfiguration = "unauthenticated" | "design" | "naive";

export const CHAIN_CONFIGURATIONS: Record<ChainConfiguration, string> = {
  unauthenticated: "no authentication (baseline, never deployable)",
  design: "this design (cached token, front end verifies)",
  naive: "naive (metadata round trip per request)",
};

export interface ChainResult {
  configuration: ChainConfiguration;
  requestsPerSecond: number;
  /** Requests per second in each round, in round order. */
  roundRates: number[];
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** The errors by kind: a network error's code, or "HTTP <status>" for an answer other than 200. */
  failures: Record<string, number>;
  /** Identity tokens the client fetched, from its start to the end of the run. */
  metadataCalls: number;
  requests: number;
  memoryMiB: { clientIdle: number; clientLoaded: number; targetIdle: number; targetLoaded: number };
}

export interface ChainOptions {
  concurrency: number;
  rounds: number;
  secondsPerRound: number;
}

/** Runs `bundle` in place of the named service's own; everything else is identical. */
function replacing(service: string, bundle: string, launch: Launcher): Launcher {
  return (request) => launch(request.name === service ? { ...request, bundle } : request);
}

const LAUNCHERS: Record<ChainConfiguration, () => Launcher> = {
  // The target without authentication, behind a front end that forwards without checking.
  unauthenticated: () => replacing("target", "unauthenticated-target", processLauncher()),
  design: () => processLauncher(),
  naive: () => replacing("client", "naive-client", processLauncher()),
};

/** What went wrong in a load run: network errors by code, and answers other than 200. */
function addFailures(into: Record<string, number>, result: LoadResult): void {
  const kinds = Object.entries(result.statuses)
    .filter(([status]) => status !== "200")
    .map(([status, count]): [string, number] => [`HTTP ${status}`, count]);
  for (const [kind, count] of [...Object.entries(result.errors), ...kinds]) {
    into[kind] = (into[kind] ?? 0) + count;
  }
}

async function startConfiguration(configuration: ChainConfiguration): Promise<LocalStack> {
  const quiet = { LOG_LEVEL: "warn" };
  return startLocalStack({
    basePort: 0,
    env: { client: quiet, target: quiet },
    withoutAuthentication: configuration === "unauthenticated",
    launch: LAUNCHERS[configuration](),
  });
}

export async function benchmarkChain(
  options: ChainOptions,
  progress: Progress,
): Promise<ChainResult[]> {
  const configurations = Object.keys(CHAIN_CONFIGURATIONS) as ChainConfiguration[];
  const stacks = new Map<ChainConfiguration, LocalStack>();
  try {
    for (const configuration of configurations)
      stacks.set(configuration, await startConfiguration(configuration));

    const rates = new Map<ChainConfiguration, number[]>(configurations.map((c) => [c, []]));
    const latencies = new Map<ChainConfiguration, number[]>(configurations.map((c) => [c, []]));
    const failures = new Map<ChainConfiguration, Record<string, number>>(
      configurations.map((c) => [c, {}]),
    );
    const idle = new Map<ChainConfiguration, { client: number; target: number }>();
    const loaded = new Map<ChainConfiguration, { client: number; target: number }>();

    // Warm-up: the first burst on a fresh client is also the check that concurrent first
    // requests share one token fetch; then a round's worth of load, so that every process is
    // past its JIT warm-up before anything is measured.
    for (const configuration of configurations) {
      progress.next(`chain, warming up: ${CHAIN_CONFIGURATIONS[configuration]}`);
      const stack = stacks.get(configuration)!;
      const url = stack.services.client!.url;
      const warmUp = await runLoad({
        url,
        concurrency: options.concurrency,
        requests: options.concurrency * 10,
      });
      const warmLoad = await runLoad({
        url,
        concurrency: options.concurrency,
        durationMs: options.secondsPerRound * 1000,
      });
      addFailures(failures.get(configuration)!, warmUp);
      addFailures(failures.get(configuration)!, warmLoad);
      idle.set(configuration, {
        client: residentMiB(stack.services.client!.process.pid!),
        target: residentMiB(stack.services.target!.process.pid!),
      });
    }

    for (let round = 1; round <= options.rounds; round += 1) {
      // Rotate the order each round so no configuration always runs first or last.
      const order = configurations.map(
        (_, i) => configurations[(i + round) % configurations.length]!,
      );
      for (const configuration of order) {
        progress.next(
          `chain, round ${round}/${options.rounds}: ${CHAIN_CONFIGURATIONS[configuration]}`,
        );
        const stack = stacks.get(configuration)!;
        const { client, target } = stack.services;
        let answered = 0;
        const load = runLoad({
          url: client!.url,
          concurrency: options.concurrency,
          durationMs: options.secondsPerRound * 1000,
          onResponse: () => {
            answered += 1;
            if (answered % 500 === 0)
              progress.update(`${CHAIN_CONFIGURATIONS[configuration]}: ${answered} requests`);
          },
        });
        const [clientPeak, targetPeak] = await Promise.all([
          peakResidentMiB(client!.process.pid!, load),
          peakResidentMiB(target!.process.pid!, load),
        ]);
        const result = await load;
        rates.get(configuration)!.push(result.requestsPerSecond);
        latencies.get(configuration)!.push(...result.latenciesMs);
        addFailures(failures.get(configuration)!, result);
        const previous = loaded.get(configuration) ?? { client: 0, target: 0 };
        loaded.set(configuration, {
          client: Math.max(previous.client, clientPeak),
          target: Math.max(previous.target, targetPeak),
        });
      }
    }

    return configurations.map((configuration) => {
      const stack = stacks.get(configuration)!;
      const sorted = latencies.get(configuration)!.sort((a, b) => a - b);
      return {
        configuration,
        requestsPerSecond: round(median(rates.get(configuration)!), 0),
        roundRates: rates.get(configuration)!.map((rate) => round(rate, 0)),
        p50Ms: round(percentile(sorted, 50), 2),
        p99Ms: round(percentile(sorted, 99), 2),
        errors: Object.values(failures.get(configuration)!).reduce((a, b) => a + b, 0),
        failures: failures.get(configuration)!,
        metadataCalls: stack.services.client!.metadata.stats.identityTokensIssued,
        requests: stack.services.target!.frontEnd!.stats.forwarded,
        memoryMiB: {
          clientIdle: round(idle.get(configuration)!.client),
          clientLoaded: round(loaded.get(configuration)!.client),
          targetIdle: round(idle.get(configuration)!.target),
          targetLoaded: round(loaded.get(configuration)!.target),
        },
      };
    });
  } finally {
    for (const stack of stacks.values()) await stack.stop();
  }
}

/**
 * Fresh clients hit by their first burst at several concurrencies: how many metadata calls
 * each needed. The design's goal is one per token lifetime, however many requests race.
 */
export async function metadataCallsPerConcurrency(
  concurrencies: readonly number[],
  progress: Progress,
): Promise<Record<number, number>> {
  const calls: Record<number, number> = {};
  for (const concurrency of concurrencies) {
    progress.next(`metadata calls for a first burst of ${concurrency} concurrent requests`);
    const stack = await startConfiguration("design");
    try {
      await runLoad({ url: stack.services.client!.url, concurrency, requests: concurrency * 5 });
      calls[concurrency] = stack.services.client!.metadata.stats.identityTokensIssued;
    } finally {
      await stack.stop();
    }
  }
  return calls;
}
