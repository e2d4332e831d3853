/**
 * Cold start as shipped: from spawning `node dist/<bundle>.js` to its first 200 on /health,
 * and for the client also to its first authenticated answer through the whole local chain.
 */
import { processLauncher } from "../local/launcher";
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
  const launch = processLauncher();
  const health: Record<string, number[]> = { target: [], client: [] };
  const chain: number[] = [];
  // A stack to call: its client is replaced by freshly started ones, one per sample.
  const stack = await startLocalStack({ basePort: 0 });
  try {
    const { target, client } = stack.services;
    for (let sample = 1; sample <= samples; sample += 1) {
      progress.next(`cold start, sample ${sample}/${samples}`);
      let started = performance.now();
      const freshTarget = await launch({
        name: "target",
        bundle: "target",
        env: { PORT: "0", HOST: "127.0.0.1", AUTH_MODE: "cloud-run" },
      });
      await firstOk(`${freshTarget.url}/health`);
      health.target!.push(performance.now() - started);
      await freshTarget.stop();

      started = performance.now();
      const freshClient = await launch({
        name: "client",
        bundle: "client",
        env: {
          PORT: "0",
          HOST: "127.0.0.1",
          GOOGLE_CLOUD_PROJECT: stack.projectId,
          GCE_METADATA_HOST: client!.metadata.host,
          TARGET_URL: target!.url,
          TARGET_AUDIENCE: target!.url,
        },
      });
      await firstOk(`${freshClient.url}/health`);
      health.client!.push(performance.now() - started);
      await firstOk(freshClient.url);
      chain.push(performance.now() - started);
      await freshClient.stop();
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
