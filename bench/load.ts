/**
 * A small closed-loop load generator: `concurrency` workers, each sending its next request as
 * soon as the previous one is answered, until a request count or a deadline is reached.
 * Used by the benchmark (in a process of its own) and by the reliability tests, so both load
 * the chain the same way.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { DIST_DIR } from "../local/launcher";
import { IDLE_CONNECTION_TIMEOUT_MS } from "../services/shared/lifecycle";

export interface LoadOptions {
  url: string;
  concurrency: number;
  /** Stop after this many requests in total… */
  requests?: number;
  /** …or after this long, whichever comes first. */
  durationMs?: number;
  /** Reuse connections (default), or open a new one per request. */
  keepAlive?: boolean;
  headers?: Record<string, string>;
  /** Called once per answered request, e.g. to drive a progress display. */
  onResponse?: () => void;
}

export interface LoadResult {
  /** How many answers came back with each status code. */
  statuses: Record<number, number>;
  /** How many requests failed without an answer, by error code. */
  errors: Record<string, number>;
  /** Latency of every answered request, in milliseconds, sorted. */
  latenciesMs: number[];
  elapsedMs: number;
  requestsPerSecond: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function once(url: URL, agent: http.Agent, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, headers }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
      response.on("error", reject);
    });
    request.on("error", reject);
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const agent = new http.Agent({
    keepAlive: options.keepAlive ?? true,
    maxSockets: options.concurrency,
    timeout: IDLE_CONNECTION_TIMEOUT_MS,
  });
  const limit = options.requests ?? Number.POSITIVE_INFINITY;
  const deadline = performance.now() + (options.durationMs ?? Number.POSITIVE_INFINITY);
  const statuses: Record<number, number> = {};
  const errors: Record<string, number> = {};
  const latenciesMs: number[] = [];
  let started = 0;

  const worker = async (): Promise<void> => {
    while (started < limit && performance.now() < deadline) {
      started += 1;
      const sent = performance.now();
      try {
        const status = await once(url, agent, options.headers ?? {});
        latenciesMs.push(performance.now() - sent);
        statuses[status] = (statuses[status] ?? 0) + 1;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        errors[code] = (errors[code] ?? 0) + 1;
      }
      options.onResponse?.();
    }
  };

  const begin = performance.now();
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = performance.now() - begin;
  agent.destroy();
  latenciesMs.sort((a, b) => a - b);
  return {
    statuses,
    errors,
    latenciesMs,
    elapsedMs,
    requestsPerSecond: (latenciesMs.length / elapsedMs) * 1000,
  };
}

/**
 * Runs one load in a process of its own (bench/loadGenerator.ts), so that the load generator's
 * work never shares an event loop with the stand-ins or with the measuring.
 */
export async function runLoadProcess(
  options: Omit<LoadOptions, "onResponse">,
): Promise<LoadResult> {
  const child = spawn(
    process.execPath,
    [path.join(DIST_DIR, "load-generator.js"), JSON.stringify(options)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  let errors = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`the load generator exited with code ${code}: ${errors.trim()}`);
  return JSON.parse(output) as LoadResult;
}
