/**
 * `npm run bench`: what authentication costs, measured on loopback with the local stand-ins.
 * Prints a table, checks the goals, and writes bench/results.json.
 *
 * Tunable through the environment: BENCH_CONCURRENCY (32), BENCH_ROUNDS (5),
 * BENCH_SECONDS per round (3), BENCH_COLD_STARTS (7).
 */
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  benchmarkChain,
  CHAIN_CONFIGURATIONS,
  type ChainResult,
  metadataCallsPerConcurrency,
} from "./chain";
import { benchmarkColdStart } from "./coldStart";
import { median, round } from "./measure";
import { Progress } from "./progress";
import { benchmarkVerification } from "./verification";

function setting(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** A Markdown table; columns holding only numbers are right-aligned. */
function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  const numeric = headers.map((_, column) => rows.every((row) => typeof row[column] === "number"));
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(" | ")} |`;
  const rule = `|${widths.map((width, column) => (numeric[column] ? `${"-".repeat(width + 1)}:` : "-".repeat(width + 2))).join("|")}|`;
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)].join("\n");
}

interface Goal {
  goal: string;
  measured: string;
  pass: boolean;
  limit: string;
}

async function main(): Promise<void> {
  const concurrency = setting("BENCH_CONCURRENCY", 32);
  const rounds = setting("BENCH_ROUNDS", 5);
  const seconds = setting("BENCH_SECONDS", 3);
  const coldStarts = setting("BENCH_COLD_STARTS", 7);
  const burstConcurrencies = [1, concurrency, concurrency * 8];
  const verificationRounds = 5;
  const progress = new Progress(
    (rounds + 1) * 3 + burstConcurrencies.length + verificationRounds + coldStarts,
  );
  const loadBefore = os.loadavg()[0]!;

  const chain = await benchmarkChain({ concurrency, rounds, secondsPerRound: seconds }, progress);
  const bursts = await metadataCallsPerConcurrency(burstConcurrencies, progress);
  const verification = await benchmarkVerification(verificationRounds, 1000, progress);
  const coldStart = await benchmarkColdStart(coldStarts, progress);
  progress.done();

  const byName = (name: ChainResult["configuration"]) =>
    chain.find((result) => result.configuration === name)!;
  // Each round runs every configuration back to back, so the ratio within a round is the
  // fairest comparison on a noisy machine; the median over rounds discards the outliers.
  const throughputRatio = round(
    median(
      byName("design").roundRates.map(
        (rate, index) => rate / byName("unauthenticated").roundRates[index]!,
      ),
    ),
    3,
  );
  const designCalls = Math.max(byName("design").metadataCalls, ...Object.values(bursts));
  const goals: Goal[] = [
    {
      goal: "authenticated / unauthenticated throughput ≥ 0.95",
      measured: String(throughputRatio),
      pass: throughputRatio >= 0.95,
      limit:
        "each request also costs a verified-token lookup at the front end and a token decode at the target, on the same cores as the load generator",
    },
    {
      goal: "metadata calls ≤ 1 per token lifetime, whatever the concurrency",
      measured: `${byName("design").metadataCalls} in ${byName("design").requests} requests; bursts ${Object.entries(
        bursts,
      )
        .map(([c, n]) => `${c}→${n}`)
        .join(", ")}`,
      pass: designCalls <= 1,
      limit: "a second fetch means concurrent requests did not share the first one",
    },
    {
      goal: "jose's cost per fresh token ≤ 1/3 of google-auth-library's",
      measured: `${verification.costRatio} (${verification.joseMicroseconds} / ${verification.googleAuthLibraryMicroseconds} µs)`,
      pass: verification.costRatio <= 1 / 3,
      limit:
        "jose checks the signature through WebCrypto, asynchronously on libuv's thread pool; google-auth-library 11 calls node:crypto synchronously",
    },
  ];

  const report = [
    "",
    `Chain: concurrency ${concurrency}, ${rounds} rounds of ${seconds} s per configuration, interleaved (req/s: median of rounds)`,
    table(
      ["configuration", "req/s", "p50 ms", "p99 ms", "errors", "metadata calls"],
      chain.map((r) => [
        CHAIN_CONFIGURATIONS[r.configuration],
        r.requestsPerSecond,
        r.p50Ms,
        r.p99Ms,
        r.errors,
        r.metadataCalls,
      ]),
    ),
    ...chain
      .filter((r) => r.errors > 0)
      .map(
        (r) =>
          `errors in ${r.configuration}: ${Object.entries(r.failures)
            .map(([kind, count]) => `${kind} × ${count}`)
            .join(", ")}`,
      ),
    "",
    "Memory (resident MiB): idle after warm-up, and peak under load",
    table(
      ["configuration", "client idle", "client loaded", "target idle", "target loaded"],
      chain.map((r) => [
        CHAIN_CONFIGURATIONS[r.configuration],
        r.memoryMiB.clientIdle,
        r.memoryMiB.clientLoaded,
        r.memoryMiB.targetIdle,
        r.memoryMiB.targetLoaded,
      ]),
    ),
    "",
    `Verification per fresh token (${verification.distinctTokens} distinct tokens, keys cached, no verified-token cache)`,
    table(
      ["verifier", "µs per token"],
      [
        ["the target's verify mode: jose + Google's rules", verification.joseMicroseconds],
        [
          "google-auth-library OAuth2Client.verifyIdToken",
          verification.googleAuthLibraryMicroseconds,
        ],
      ],
    ),
    "",
    `Cold start, median of ${coldStart.samples}: process spawn → first 200`,
    table(
      ["service", "ms"],
      [
        ["target, /health", coldStart.toHealthMs.target!],
        ["client, /health", coldStart.toHealthMs.client!],
        [
          "client, / through the chain (first token included)",
          coldStart.clientToFirstChainAnswerMs,
        ],
      ],
    ),
    "",
    "Goals",
    table(
      ["goal", "measured", "result"],
      goals.map((g) => [g.goal, g.measured, g.pass ? "pass" : `short: ${g.limit}`]),
    ),
    "",
    `Machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, ${round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${round(loadBefore, 2)} before, ${round(os.loadavg()[0]!, 2)} after`,
    "",
  ].join("\n");
  process.stdout.write(report);

  const results = {
    measuredAt: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      memoryGiB: round(os.totalmem() / 2 ** 30),
      node: process.version,
      loadAverageBefore: round(loadBefore, 2),
      loadAverageAfter: round(os.loadavg()[0]!, 2),
    },
    settings: { concurrency, rounds, secondsPerRound: seconds, coldStarts },
    chain,
    throughputRatio,
    metadataCallsPerBurst: bursts,
    verification,
    coldStart,
    goals: goals.map(({ goal, measured, pass }) => ({ goal, measured, pass })),
  };
  writeFileSync(
    path.join(__dirname, "..", "bench", "results.json"),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  process.stdout.write("Results written to bench/results.json\n");
}

main().catch((error: Error) => {
  process.stderr.write(`npm run bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
