/**
 * Cold start as Cloud Run sees it: from spawning the process to its first 200 on /health, for
 * each service beside two references, a bare `node:http` server (the floor for a process that
 * answers HTTP) and a bundled Express hello. All four are started by the services' own command
 * line (spawnBundle), interleaved sample by sample, and judged by their medians. For the client
 * also the first request through the whole chain, which loads what start-up left for later and
 * fetches the first token.
 */
import { once } from "node:events";
import http from "node:http";
import { freePort, spawnBundle } from "../local/launcher";
import { startLocalStack } from "../local/stack";
import { HEALTH_PATH } from "../services/wiring";
import { NODE_FLAGS } from "../services/nodeCommand";
import { cpuMicroseconds, median, round } from "./measure";
import type { Progress } from "./progress";

/** What is started, each with the services' command line unless it says otherwise. */
const PROGRAMS = {
  "bare-http-server": { bundle: "bare-http-server", label: "a bare node:http server (the floor)" },
  "express-hello": { bundle: "express-hello", label: "a bundled Express hello" },
  target: { bundle: "target", label: "the target" },
  client: { bundle: "client", label: "the client" },
  // What --no-maglev costs at start, beside the memory it saves (see the memory table).
  "target, Maglev on": {
    bundle: "target",
    label: "the target, without --no-maglev",
    nodeFlags: NODE_FLAGS.filter((flag) => flag !== "--no-maglev"),
  },
  "client, Maglev on": {
    bundle: "client",
    label: "the client, without --no-maglev",
    nodeFlags: NODE_FLAGS.filter((flag) => flag !== "--no-maglev"),
  },
} satisfies Record<string, { bundle: string; label: string; nodeFlags?: readonly string[] }>;

export type ColdStartProgram = keyof typeof PROGRAMS;

export const COLD_START_PROGRAMS = Object.fromEntries(
  Object.entries(PROGRAMS).map(([program, { label }]) => [program, label]),
) as Record<ColdStartProgram, string>;

export interface ColdStartTiming {
  program: ColdStartProgram;
  /** Median milliseconds from spawn to the first 200 on /health. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Median CPU milliseconds the process used until then (all its threads). */
  cpuMs: number;
  /** medianMs ÷ the bare server's medianMs. */
  ratioToBare: number;
}

export interface ColdStartResult {
  samples: number;
  timings: ColdStartTiming[];
  /** Median milliseconds from the client's first 200 on /health to its first 200 on /. */
  clientFirstRequestMs: number;
  /** Median milliseconds from the client's spawn to its first 200 on / (token fetch included). */
  clientToFirstChainAnswerMs: number;
}

/** One GET; resolves with the status, or 0 when nothing listens yet. */
function statusOf(url: string): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    request.on("error", () => resolve(0));
  });
}

/** Polls every millisecond: the wait adds at most that much to what is measured. */
async function firstOk(url: string, exited: () => boolean): Promise<void> {
  while ((await statusOf(url)) !== 200) {
    if (exited()) throw new Error(`the process serving ${url} exited before answering`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

export async function benchmarkColdStart(
  samples: number,
  progress: Progress,
): Promise<ColdStartResult> {
  const programs = Object.keys(PROGRAMS) as ColdStartProgram[];
  const times = new Map(programs.map((p) => [p, [] as number[]]));
  const cpu = new Map(programs.map((p) => [p, [] as number[]]));
  const firstRequest: number[] = [];
  const firstChainAnswer: number[] = [];
  // The services run with the environment the stack gives them, the client calling the
  // stack's target through its front end with tokens from its metadata stand-in.
  const stack = await startLocalStack({ basePort: 0 });
  try {
    const environments: Record<string, Record<string, string>> = {
      "bare-http-server": { HOST: "127.0.0.1" },
      "express-hello": { HOST: "127.0.0.1" },
      target: stack.services.target.env,
      client: stack.services.client.env,
    };
    for (let sample = 1; sample <= samples; sample += 1) {
      progress.next(`cold start, sample ${sample}/${samples}`);
      for (const program of programs.map((_, i) => programs[(i + sample) % programs.length]!)) {
        const port = await freePort();
        const { bundle, nodeFlags } = PROGRAMS[program] as { bundle: string; nodeFlags?: string[] };
        const started = performance.now();
        const child = spawnBundle(
          bundle,
          { ...environments[bundle], PORT: String(port) },
          nodeFlags ?? NODE_FLAGS,
        );
        let exited = false;
        const exit = once(child, "exit").then(() => (exited = true));
        try {
          await firstOk(`http://127.0.0.1:${port}${HEALTH_PATH}`, () => exited);
          const ready = performance.now();
          times.get(program)!.push(ready - started);
          cpu.get(program)!.push(cpuMicroseconds(child.pid!) / 1000);
          if (program === "client") {
            await firstOk(`http://127.0.0.1:${port}/`, () => exited);
            firstRequest.push(performance.now() - ready);
            firstChainAnswer.push(performance.now() - started);
          }
        } finally {
          child.kill("SIGTERM");
          await exit;
        }
      }
    }
  } finally {
    await stack.stop();
  }
  const bare = median(times.get("bare-http-server")!);
  return {
    samples,
    timings: programs.map((program) => ({
      program,
      medianMs: round(median(times.get(program)!)),
      minMs: round(Math.min(...times.get(program)!)),
      maxMs: round(Math.max(...times.get(program)!)),
      cpuMs: round(median(cpu.get(program)!)),
      ratioToBare: round(median(times.get(program)!) / bare, 2),
    })),
    clientFirstRequestMs: round(median(firstRequest)),
    clientToFirstChainAnswerMs: round(median(firstChainAnswer)),
  };
}
