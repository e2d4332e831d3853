/**
 * Cold start as Cloud Run sees it: from spawning the process to its first 200 on /health, for
 * each service (started from its compile cache, as the images start) beside two references, a
 * bare `node:http` server (the floor for a process that answers HTTP) and a bundled Express
 * hello. All are started by the services' own command line (spawnBundle), interleaved sample by
 * sample, and judged by their medians. For the client also the first request through the whole
 * chain, which loads what start-up left for later and fetches the first token.
 */
import { once } from "node:events";
import http from "node:http";
import path from "node:path";
import { COMPILE_CACHE_DIR, DIST_DIR, freePort, spawnBundle } from "../local/launcher";
import { fillCompileCache } from "../services/fillCompileCache.mjs";
import { startLocalStack } from "../local/stack";
import { HEALTH_PATH } from "../services/wiring";
import { NODE_FLAGS } from "../services/nodeCommand";
import { cpuMicroseconds, median, round } from "./measure";
import type { Progress } from "./progress";

/** Turns Node.js's module compile cache off for one process (the launcher turns it on). */
const NO_COMPILE_CACHE = { NODE_DISABLE_COMPILE_CACHE: "1" };

/**
 * What is started, each with the services' command line unless it says otherwise. The services
 * start as the stack starts them, from the compile cache filled just before (as the images start
 * from theirs); the references start without one, and so do the services once more, to show
 * what the cache saves.
 */
const PROGRAMS = {
  "bare-http-server": {
    bundle: "bare-http-server",
    label: "a bare node:http server (the floor)",
    env: NO_COMPILE_CACHE,
  },
  "express-hello": {
    bundle: "express-hello",
    label: "a bundled Express hello",
    env: NO_COMPILE_CACHE,
  },
  target: { bundle: "target", label: "the target" },
  client: { bundle: "client", label: "the client" },
  "target, no compile cache": {
    bundle: "target",
    label: "the target, without the compile cache",
    env: NO_COMPILE_CACHE,
  },
  "client, no compile cache": {
    bundle: "client",
    label: "the client, without the compile cache",
    env: NO_COMPILE_CACHE,
  },
  // What --no-maglev costs at start, beside the memory it saves (see the memory table).
  "target, Maglev on": {
    bundle: "target",
    label: "the target, without --no-maglev (no cache made for these flags)",
    nodeFlags: NODE_FLAGS.filter((flag) => flag !== "--no-maglev"),
    env: NO_COMPILE_CACHE,
  },
  "client, Maglev on": {
    bundle: "client",
    label: "the client, without --no-maglev (no cache made for these flags)",
    nodeFlags: NODE_FLAGS.filter((flag) => flag !== "--no-maglev"),
    env: NO_COMPILE_CACHE,
  },
} satisfies Record<
  string,
  { bundle: string; label: string; nodeFlags?: readonly string[]; env?: Record<string, string> }
>;

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
  // The services start from the compile cache as the images start from theirs: filled first,
  // as the image build fills it, by starting each once (the launcher passes its directory).
  for (const service of ["target", "client"] as const) {
    await fillCompileCache(service, COMPILE_CACHE_DIR, [
      ...NODE_FLAGS,
      path.join(DIST_DIR, `${service}.js`),
    ]);
  }
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
        const { bundle, nodeFlags, env } = PROGRAMS[program] as {
          bundle: string;
          nodeFlags?: string[];
          env?: Record<string, string>;
        };
        const started = performance.now();
        const child = spawnBundle(
          bundle,
          { ...environments[bundle], ...env, PORT: String(port) },
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
