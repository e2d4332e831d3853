/**
 * The benchmark's results: their shape in bench/results.json, the goals judged from them, and
 * the Markdown tables `npm run bench` prints and writes into docs/benchmarks.md. The tables in
 * the docs are only ever written by this code, from results.json; a test checks that they
 * still are.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  CHAIN_CONFIGURATIONS,
  type ColdBurstResult,
  type ComparatorResult,
  type MemoryResult,
  type SweepResult,
  type TokenLifetimeResult,
} from "./chain";
import { COLD_START_PROGRAMS, type ColdStartResult, type ColdStartTiming } from "./coldStart";
import { median, round } from "./measure";
import type { VerificationResult } from "./verification";

export interface MachineFacts {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  /** 1-, 5- and 15-minute load averages when the run began and when it ended. */
  loadAverageBefore: number[];
  loadAverageAfter: number[];
}

export interface Goal {
  goal: string;
  measured: string;
  pass: boolean;
  /** The phase of the run that measured it, whose starting load average is printed beside it. */
  phase: string;
}

export interface BenchResults {
  measuredAt: string;
  machine: MachineFacts;
  /** The 1-minute load average as each phase began. */
  loadAverageAtPhase: Record<string, number>;
  settings: {
    comparatorConcurrency: number;
    rounds: number;
    secondsPerRound: number;
    coldStartSamples: number;
    memorySeconds: number;
    memoryConcurrency: number;
  };
  /** The services' command line: `node <flags> <bundle>`. */
  nodeFlags: readonly string[];
  coldStart: ColdStartResult;
  memory: MemoryResult[];
  sweep: SweepResult[];
  comparators: ComparatorResult[];
  coldBurst: ColdBurstResult[];
  tokenLifetime: TokenLifetimeResult;
  verification: VerificationResult;
  goals: Goal[];
}

export const RESULTS_FILE = path.join(__dirname, "..", "bench", "results.json");
export const DOCS_FILE = path.join(__dirname, "..", "docs", "benchmarks.md");
export const TABLES_START = "<!-- bench:tables:start (written by `npm run bench`) -->";
export const TABLES_END = "<!-- bench:tables:end -->";

/** A Markdown table; columns holding only numbers are right-aligned. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  const numeric = headers.map((_, column) => rows.every((row) => typeof row[column] === "number"));
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(" | ")} |`;
  const rule = `|${widths.map((width, column) => (numeric[column] ? `${"-".repeat(width + 1)}:` : "-".repeat(width + 2))).join("|")}|`;
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)].join("\n");
}

/** The variant of the memory run that uses the services' own command line. */
export const SHIPPED_VARIANT = "the services' command line";

/**
 * The memory settings the memory goals hold at: the range config.ts accepts with one CPU, the
 * stack's default, from the smallest to 4Gi. The services' command line follows the setting
 * (services/nodeCommand.ts), so each is measured with its own.
 */
export const MEMORY_SETTINGS = ["256Mi", "512Mi", "1Gi", "2Gi", "4Gi"] as const;

/** The cold-start goal: at most this many times a bundled Express hello's start. */
export const COLD_START_GOAL = 1.0;

/** One per round: `numerator`'s rate over `denominator`'s in the same round, median of those. */
function roundRatio(numerator: ComparatorResult, denominator: ComparatorResult): number {
  return round(median(numerator.roundRates.map((rate, i) => rate / denominator.roundRates[i]!)), 3);
}

/** The ratio of two medians of a cold start, to two decimals. */
function startRatio(program: ColdStartTiming, reference: ColdStartTiming): number {
  return round(program.medianMs / reference.medianMs, 2);
}

/**
 * The goals as they stand (the design's performance section), judged from the results: memory,
 * cold start against a bundled Express hello started with the same flags, errors under load,
 * what authentication costs in throughput and in CPU, what the design saves against the
 * documented pattern, and metadata calls per token lifetime.
 */
export function judgeGoals(results: Omit<BenchResults, "goals">): Goal[] {
  // Every row of the services' own command line, one per memory setting.
  const settings = results.memory.filter((m) => m.memory !== undefined);
  const most = (pick: (m: MemoryResult) => number) => Math.max(...settings.map(pick));
  const worst = (pick: (m: MemoryResult) => { client: number; target: number }) => ({
    client: most((m) => pick(m).client),
    target: most((m) => pick(m).target),
  });
  const idle = worst((m) => m.idleMiB);
  const afterFirstCall = worst((m) => m.afterFirstCallMiB);
  const peak = worst((m) => m.peakMiB);
  const perSetting = (pick: (m: MemoryResult) => { client: number; target: number }) =>
    settings.map((m) => `${m.memory} ${pick(m).client}/${pick(m).target}`).join(", ");
  const memoryErrors = settings.reduce((sum, m) => sum + m.errors, 0);
  const byProgram = (program: keyof typeof COLD_START_PROGRAMS) =>
    results.coldStart.timings.find((t) => t.program === program)!;
  const chain = (name: ComparatorResult["configuration"]) =>
    results.comparators.find((c) => c.configuration === name)!;
  const burst = results.coldBurst.find((b) => b.configuration === "project")!;
  const at256 = results.sweep.find((s) => s.concurrency === 256);
  const ownVerificationRatio = roundRatio(chain("project"), chain("trusting"));
  const documentedRatio = roundRatio(chain("project"), chain("documented"));
  const lifetime = results.tokenLifetime;
  const errorsAt256 = memoryErrors + (at256?.errors ?? 0);
  const hello = byProgram("express-hello");
  const targetStart = startRatio(byProgram("target"), hello);
  const clientStart = startRatio(byProgram("client"), hello);
  const withAuth = chain("project");
  const withoutAuth = chain("unauthenticated");
  const clientCpu = round(withAuth.clientCpuMicroseconds / withoutAuth.clientCpuMicroseconds, 2);
  const targetCpu = round(withAuth.targetCpuMicroseconds / withoutAuth.targetCpuMicroseconds, 2);
  const { seconds, concurrency } = settings[0]!;
  const memories = settings.map((m) => m.memory).join(", ");
  return [
    {
      goal: `idle memory < 60 MiB per service at every memory setting (${memories}; VmRSS before any load)`,
      measured: `most: client ${idle.client}, target ${idle.target} MiB (client/target: ${perSetting((m) => m.idleMiB)}); after the first call through the chain, not judged: client ${afterFirstCall.client}, target ${afterFirstCall.target} MiB`,
      pass: idle.client < 60 && idle.target < 60,
      phase: "memory",
    },
    {
      goal: `peak memory < 100 MiB per service after ${seconds} s at ${concurrency} concurrent requests, at every memory setting (VmHWM)`,
      measured: `most: client ${peak.client}, target ${peak.target} MiB (client/target: ${perSetting((m) => m.peakMiB)})`,
      pass: peak.client < 100 && peak.target < 100,
      phase: "memory",
    },
    {
      goal: `cold start ≤ ${COLD_START_GOAL.toFixed(1)}× a bundled Express hello started with the same flags, per service (median spawn → first 200 on /health)`,
      measured: `target ${targetStart}×, client ${clientStart}× (hello ${hello.medianMs} ms; without the compile cache ${startRatio(byProgram("target, no compile cache"), hello)}× and ${startRatio(byProgram("client, no compile cache"), hello)}×)`,
      pass: targetStart <= COLD_START_GOAL && clientStart <= COLD_START_GOAL,
      phase: "coldStart",
    },
    {
      goal: "0 errors at 256 concurrent connections through the chain",
      measured: `${errorsAt256} (memory runs ${memoryErrors}, sweep at 256 ${at256?.errors ?? "not run"})`,
      pass: errorsAt256 === 0 && at256 !== undefined,
      phase: "memory",
    },
    {
      goal: "the target's own verification costs ≤ 5 % throughput: verifying ÷ trusting Cloud Run ≥ 0.95 (median of per-round ratios)",
      measured: `${ownVerificationRatio}; target CPU ${chain("project").targetCpuMicroseconds} vs ${chain("trusting").targetCpuMicroseconds} µs/req`,
      pass: ownVerificationRatio >= 0.95,
      phase: "comparators",
    },
    {
      goal: "CPU per request of each service with authentication ≤ 1.10× without",
      measured: `client ${clientCpu}× (${withAuth.clientCpuMicroseconds} / ${withoutAuth.clientCpuMicroseconds} µs), target ${targetCpu}× (${withAuth.targetCpuMicroseconds} / ${withoutAuth.targetCpuMicroseconds} µs)`,
      pass: clientCpu <= 1.1 && targetCpu <= 1.1,
      phase: "comparators",
    },
    {
      goal: "this project ≥ 1.5× google-auth-library's documented pattern (median of per-round ratios)",
      measured: `${documentedRatio}×`,
      pass: documentedRatio >= 1.5,
      phase: "comparators",
    },
    {
      goal: "1 metadata call per token lifetime, whatever the concurrency",
      measured: `${chain("project").metadataCalls} in ${chain("project").requests} requests; ${burst.metadataCalls} for ${burst.requests} requests at once on a cold client`,
      pass: chain("project").metadataCalls === 1 && burst.metadataCalls === 1,
      phase: "comparators",
    },
    {
      goal: `a run outliving its tokens (${lifetime.lifetimeSeconds} s): 0 errors, one fetch per token`,
      measured: `${lifetime.errors} errors; ${lifetime.metadataCalls} fetches in ${lifetime.runSeconds} s, at least ${lifetime.shortestGapSeconds} s apart (${lifetime.callsPerLifetime} per lifetime: each token is replaced when a quarter of its life is left)`,
      pass:
        lifetime.errors === 0 &&
        lifetime.shortestGapSeconds !== null &&
        lifetime.shortestGapSeconds >= lifetime.lifetimeSeconds / 2,
      phase: "tokenLifetime",
    },
  ];
}

function failureList(failures: Record<string, number>): string {
  const entries = Object.entries(failures);
  return entries.length === 0 ? "" : ` (${entries.map(([k, n]) => `${k} × ${n}`).join(", ")})`;
}

/** The benchmark's tables, as printed and as written into docs/benchmarks.md. */
export function renderTables(results: BenchResults): string {
  const { machine, settings, coldStart, verification } = results;
  const load = (values: number[]) => values.join(" / ");
  const atPhase = (phase: string) => `load average ${results.loadAverageAtPhase[phase] ?? "?"}`;
  const sections = [
    `Measured ${results.measuredAt} on ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node.js ${machine.node}; load average (1 / 5 / 15 min) ${load(machine.loadAverageBefore)} before, ${load(machine.loadAverageAfter)} after. Services started as \`node ${results.nodeFlags.join(" ")} <bundle>\`.`,
    "### Goals",
    table(
      ["goal", "measured", "result", "load average (1 min) as its phase began"],
      results.goals.map((g) => [
        g.goal,
        g.measured,
        g.pass ? "pass" : "FAIL",
        results.loadAverageAtPhase[g.phase] ?? "?",
      ]),
    ),
    `### Cold start: spawn → first 200 on /health (median of ${coldStart.samples}, interleaved; ${atPhase("coldStart")})`,
    table(
      ["program", "median ms", "min ms", "max ms", "CPU ms", "× bare server"],
      coldStart.timings.map((t) => [
        COLD_START_PROGRAMS[t.program],
        t.medianMs,
        t.minMs,
        t.maxMs,
        t.cpuMs,
        t.ratioToBare,
      ]),
    ),
    `The client's first request through the chain, right after its first 200 on /health (loading google-auth-library and fetching the first token): ${coldStart.clientFirstRequestMs} ms; spawn → first answer through the chain: ${coldStart.clientToFirstChainAnswerMs} ms.`,
    `### Memory: ${settings.memorySeconds} s at ${settings.memoryConcurrency} concurrent requests through the chain, fresh processes per row (${atPhase("memory")})`,
    table(
      [
        "Node.js flags",
        "client idle MiB",
        "client after 1st call MiB",
        "client peak MiB",
        "target idle MiB",
        "target after 1st call MiB",
        "target peak MiB",
        "req/s",
        "p99 ms",
        "errors",
        "client CPU µs/req",
        "target CPU µs/req",
      ],
      results.memory.map((m) => [
        `${m.variant}: ${m.nodeFlags.length === 0 ? "(none)" : m.nodeFlags.join(" ")}`,
        m.idleMiB.client,
        m.afterFirstCallMiB.client,
        m.peakMiB.client,
        m.idleMiB.target,
        m.afterFirstCallMiB.target,
        m.peakMiB.target,
        m.requestsPerSecond,
        m.p99Ms,
        m.errors,
        m.cpuMicrosecondsPerRequest.client,
        m.cpuMicrosecondsPerRequest.target,
      ]),
    ),
    `### Concurrency sweep: this project's chain, ${settings.rounds} rounds of ${settings.secondsPerRound} s per level, interleaved (${atPhase("sweep")})`,
    table(
      ["concurrency", "req/s", "p50 ms", "p99 ms", "errors"],
      results.sweep.map((s) => [
        s.concurrency,
        s.requestsPerSecond,
        s.p50Ms,
        s.p99Ms,
        `${s.errors}${failureList(s.failures)}`,
      ]),
    ),
    `### Side by side: concurrency ${settings.comparatorConcurrency}, ${settings.rounds} rounds of ${settings.secondsPerRound} s, interleaved (req/s: median of rounds; ${atPhase("comparators")})`,
    table(
      [
        "configuration",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "client CPU µs/req",
        "target CPU µs/req",
        "metadata calls",
        `metadata calls, ${results.coldBurst[0]?.requests ?? "?"} at once on a cold client`,
      ],
      results.comparators.map((c) => {
        const burst = results.coldBurst.find((b) => b.configuration === c.configuration);
        return [
          CHAIN_CONFIGURATIONS[c.configuration],
          c.requestsPerSecond,
          c.p50Ms,
          c.p99Ms,
          `${c.errors}${failureList(c.failures)}`,
          c.clientCpuMicroseconds,
          c.targetCpuMicroseconds,
          `${c.metadataCalls} in ${c.requests} requests`,
          burst ? `${burst.metadataCalls} (${burst.errors} errors)` : "not run",
        ];
      }),
    ),
    `### Tokens outlived: ${results.tokenLifetime.runSeconds} s at ${results.tokenLifetime.concurrency} concurrent requests with ${results.tokenLifetime.lifetimeSeconds}-s tokens (${atPhase("tokenLifetime")})`,
    table(
      ["requests", "errors", "metadata calls", "fetched at (s into the run)", "shortest gap s"],
      [
        [
          results.tokenLifetime.requests,
          `${results.tokenLifetime.errors}${failureList(results.tokenLifetime.failures)}`,
          results.tokenLifetime.metadataCalls,
          results.tokenLifetime.fetchTimesSeconds.join(", "),
          results.tokenLifetime.shortestGapSeconds ?? "fewer than two fetches",
        ],
      ],
    ),
    `### Verifying a fresh token (${verification.distinctTokens} distinct tokens, keys cached; ${atPhase("verification")})`,
    table(
      ["verifier", "wall µs per token", "CPU µs per token"],
      [
        [
          "the target's verify mode: jose + Google's rules (JWKS)",
          verification.jose.wallMicroseconds,
          verification.jose.cpuMicroseconds,
        ],
        [
          "google-auth-library OAuth2Client.verifyIdToken (X.509 certificates)",
          verification.googleAuthLibrary.wallMicroseconds,
          verification.googleAuthLibrary.cpuMicroseconds,
        ],
      ],
    ),
  ];
  return `${sections.join("\n\n")}\n`;
}

/** The docs with their tables replaced by those rendered from `results`. */
export function docsWithTables(docs: string, results: BenchResults): string {
  const start = docs.indexOf(TABLES_START);
  const end = docs.indexOf(TABLES_END);
  if (start === -1 || end < start) {
    throw new Error(`docs/benchmarks.md must hold ${TABLES_START} … ${TABLES_END}`);
  }
  // Prettier would realign the tables its own way; they stay exactly as rendered here.
  return `${docs.slice(0, start + TABLES_START.length)}\n<!-- prettier-ignore-start -->\n\n${renderTables(results)}\n<!-- prettier-ignore-end -->\n${docs.slice(end)}`;
}

export function readResults(): BenchResults {
  return JSON.parse(readFileSync(RESULTS_FILE, "utf8")) as BenchResults;
}

/** Writes results.json and regenerates the tables in docs/benchmarks.md from it. */
export function writeResults(results: BenchResults): void {
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(DOCS_FILE, docsWithTables(readFileSync(DOCS_FILE, "utf8"), results));
}
