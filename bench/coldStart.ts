/**
 * Cold start as shipped: from spawning `node dist/<bundle>.js` to its first 200 on /health,
 * and for the client also to its first authenticated answer through the whole local chain.
 */
import { startLocalStack } from "../local/stack";
import { median, round } from "./measure";
import type { Progress } from "./progress";

export interface ColdStartResult {
  /** Median milliseconds from spawn to the first 200 on /health, per service. */
  toHealthMs: Record<string, number>;
  /** Median milliseconds from the client's spawn to its first 200 on / (token fetch included). */
  clientToFirstChainAnswerMs: number;
  samples: number;
}

async function firstOk(url: string): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function benchmarkColdStart(
  samples: number,
  progress: Progress,
): Promise<ColdStartResult> {
  const health: Record<"target" | "client", number[]> = { target: [], client: [] };
  const chain: number[] = [];
  // Each sample stops a service of a running stack and starts it again, exactly as the stack
  // runs it: a new process, with no token and nothing warmed up.
  const stack = await startLocalStack({ basePort: 0 });
  try {
    for (let sample = 1; sample <= samples; sample += 1) {
      progress.next(`cold start, sample ${sample}/${samples}`);
      for (const name of ["target", "client"] as const) {
        const times = health[name];
        const service = stack.services[name];
        await service.stop();
        const started = performance.now();
        await service.start();
        await firstOk(`${service.process.url}/health`);
        times.push(performance.now() - started);
        if (name === "client") {
          await firstOk(service.url);
          chain.push(performance.now() - started);
        }
      }
    }
  } finally {
    await stack.stop();
  }
  return {
    toHealthMs: Object.fromEntries(
      Object.entries(health).map(([name, times]) => [name, round(median(times))]),
    ),
    clientToFirstChainAnswerMs: round(median(chain)),
    samples,
  };
}
