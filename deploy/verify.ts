/**
 * `npm run verify`: proves the live security shape of a deployed stack, from outside.
 *
 *   npm run verify                                   everything from `pulumi stack output --json`
 *   npm run verify -- --client <url> --target <url>  URLs given
 *   npm run verify -- --wait 10m                     first wait until the client's call works
 *
 * Checks, printed as a table at most 100 columns wide:
 * - the client's `GET /` answers 200 and the target's answer names the client's account;
 * - the target refuses a request without a token: 403, or 404 with internal ingress, which
 *   turns away every request from outside the VPC before IAM (200 means it is public);
 * - the target refuses a token that is not the client's (by default your own, from
 *   `gcloud auth print-identity-token`): 401 or 403, or 404 with internal ingress. Skipped, with
 *   the reason, when no such token can be had.
 *
 * Exit codes: 0 every check passed; 1 a check failed (or the wait ran out); 2 bad arguments or
 * no stack outputs; 3 no check failed but one was skipped, which is not a pass.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  ChainNotReadyError,
  callerNamed,
  formatDuration,
  observe,
  parseDuration,
  callUntilChainWorks,
} from "./chainWait";
import { INGRESS, type Ingress } from "../services/wiring";

const USAGE = `usage: npm run verify [-- --client <url> --target <url>] [--client-account <email>]
         [--target-ingress all|internal] [--other-token-command "<command>"]
         [--wait <duration, e.g. 90s or 10m>]

With neither --client nor --target, the URLs, the client's account and the target's ingress
come from \`pulumi stack output --json\` of the selected stack.
--other-token-command prints an ID token that is not the client's; the default is
\`gcloud auth print-identity-token\` (your own identity).
--wait first calls the client until it answers 200 naming its account (as \`pulumi up\` does),
for at most the given time, then runs the checks.
Exit codes: 0 all checks passed, 1 a check failed, 2 bad arguments, 3 a check was skipped.`;

export const EXIT = { passed: 0, failed: 1, usage: 2, skipped: 3 } as const;

const REQUEST_TIMEOUT_MS = 15_000;

export interface VerifyOptions {
  clientUrl: string;
  targetUrl: string;
  /** The account the target must name as its caller; any service account when unknown. */
  clientAccount: string | undefined;
  /** The target's ingress, which decides what a caller outside the VPC is answered. */
  targetIngress: Ingress;
  /** A shell command printing an ID token that is not the client's. */
  otherTokenCommand: string;
  /** How long to wait for the chain to work before checking; no wait when undefined. */
  waitMs: number | undefined;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Flag =
  | "--client"
  | "--target"
  | "--client-account"
  | "--target-ingress"
  | "--other-token-command"
  | "--wait";
const FLAGS: readonly Flag[] = [
  "--client",
  "--target",
  "--client-account",
  "--target-ingress",
  "--other-token-command",
  "--wait",
];

/** The flags as given; every flag takes one value, and unknown flags are refused. */
export function parseFlags(argv: readonly string[]): Partial<Record<Flag, string>> {
  const flags: Partial<Record<Flag, string>> = {};
  for (let index = 0; index < argv.length; index += 2) {
    const flag = argv[index] as Flag;
    const value = argv[index + 1];
    if (!FLAGS.includes(flag)) throw new UsageError(`unknown argument "${argv[index]}"`);
    if (value === undefined || value.startsWith("--")) {
      throw new UsageError(`${flag} needs a value`);
    }
    flags[flag] = value;
  }
  return flags;
}

function httpUrl(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} must be a URL (got "${value}")`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError(`${flag} must be an http(s) URL (got "${value}")`);
  }
  return url.href;
}

/** The stack outputs the check needs, from the Pulumi CLI. */
function stackOutputs(): Record<string, unknown> {
  try {
    const json = execFileSync("pulumi", ["stack", "output", "--json"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(json) as Record<string, unknown>;
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? "the pulumi CLI is not installed"
        : (error as Error).message.split("\n")[0];
    throw new UsageError(
      `could not read the stack's outputs (${reason}); pass --client and --target`,
    );
  }
}

/** What to verify, from the flags or else from the selected stack's outputs. */
export function verifyOptions(
  argv: readonly string[],
  outputs: () => Record<string, unknown> = stackOutputs,
): VerifyOptions {
  const flags = parseFlags(argv);
  const fromStack =
    flags["--client"] === undefined && flags["--target"] === undefined ? outputs() : {};
  const pick = (flag: Flag, output: string): string | undefined =>
    flags[flag] ??
    (typeof fromStack[output] === "string" ? (fromStack[output] as string) : undefined);
  const client = pick("--client", "clientUrl");
  const target = pick("--target", "targetUrl");
  if (client === undefined || target === undefined) {
    throw new UsageError(
      "--client and --target go together: give both, or neither to read the stack's outputs",
    );
  }
  const ingress = pick("--target-ingress", "targetIngress") ?? "all";
  if (!(INGRESS as readonly string[]).includes(ingress)) {
    throw new UsageError(`--target-ingress must be all or internal (got "${ingress}")`);
  }
  const clientAccount = pick("--client-account", "clientServiceAccount");
  const wait = flags["--wait"];
  const waitMs = wait === undefined ? undefined : parseDuration(wait);
  if (wait !== undefined && (waitMs === undefined || waitMs === 0)) {
    throw new UsageError(`--wait must be a duration like 90s, 10m or 1h (got "${wait}")`);
  }
  if (waitMs !== undefined && clientAccount === undefined) {
    throw new UsageError("--wait needs the client's account: pass --client-account <email>");
  }
  return {
    clientUrl: httpUrl("--client", client),
    targetUrl: httpUrl("--target", target),
    clientAccount,
    targetIngress: ingress as Ingress,
    otherTokenCommand: flags["--other-token-command"] ?? "gcloud auth print-identity-token",
    waitMs,
  };
}

export type Outcome = "pass" | "fail" | "skip";

export interface CheckResult {
  check: string;
  expected: string;
  got: string;
  outcome: Outcome;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    headers,
    redirect: "manual",
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, body: await response.text() };
}

/** Runs `check`; a network failure is a failed check that says what happened, not a crash. */
async function attempt(
  check: string,
  expected: string,
  run: () => Promise<Omit<CheckResult, "check" | "expected">>,
): Promise<CheckResult> {
  try {
    return { check, expected, ...(await run()) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { check, expected, got: cause ?? (error as Error).message, outcome: "fail" };
  }
}

function otherToken(command: string): { token?: string; reason?: string } {
  const result = spawnSync(command, { shell: true, encoding: "utf8", timeout: 30_000 });
  const token = result.stdout?.trim() ?? "";
  if (result.status === 0 && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return { token };
  const detail = (result.stderr ?? "").trim().split("\n")[0] || `exit code ${result.status}`;
  return { reason: `no token from \`${command}\`: ${detail}` };
}

/** What the target answers a caller it must refuse, for its ingress. */
function refusal(ingress: Ingress, statuses: readonly number[]) {
  const accepted = ingress === "internal" ? [404] : statuses;
  const expected =
    ingress === "internal"
      ? "404 (internal ingress turns away callers outside the VPC)"
      : statuses.join(" or ");
  const describe = (status: number, admitted: string): string => {
    if (status === 200) return `200: ${admitted}`;
    if (status === 404 && ingress === "all") {
      return "404: is the target's ingress internal? then pass --target-ingress internal";
    }
    return String(status);
  };
  return { accepted, expected, describe };
}

export async function runChecks(options: VerifyOptions): Promise<CheckResult[]> {
  const serviceAccount = /^[^@\s]+@[^@\s]+\.iam\.gserviceaccount\.com$/;
  const { clientAccount } = options;
  const results = [
    await attempt(
      "client GET /",
      `200, the target names ${clientAccount ?? "the client's service account"}`,
      async () => {
        const { status, body } = await get(options.clientUrl);
        if (clientAccount !== undefined) {
          const seen = observe(status, body, { clientAccount });
          return { got: seen.seen, outcome: seen.ready ? "pass" : "fail" };
        }
        const caller = callerNamed(body);
        const named = caller !== undefined && serviceAccount.test(caller);
        return {
          got: `${status}, caller ${caller ?? "not named"}`,
          outcome: status === 200 && named ? "pass" : "fail",
        };
      },
    ),
  ];
  const withoutToken = refusal(options.targetIngress, [403]);
  results.push(
    await attempt("target without a token", withoutToken.expected, async () => {
      const { status } = await get(options.targetUrl);
      return {
        got: withoutToken.describe(status, "the target is public"),
        outcome: withoutToken.accepted.includes(status) ? "pass" : "fail",
      };
    }),
  );
  const withOther = "target with another token";
  const otherRefusal = refusal(options.targetIngress, [401, 403]);
  const other = otherToken(options.otherTokenCommand);
  if (other.token === undefined) {
    results.push({
      check: withOther,
      expected: otherRefusal.expected,
      got: other.reason ?? "",
      outcome: "skip",
    });
  } else {
    const token = other.token;
    results.push(
      await attempt(withOther, otherRefusal.expected, async () => {
        const { status } = await get(options.targetUrl, { authorization: `Bearer ${token}` });
        return {
          got: otherRefusal.describe(status, "the target admits a caller other than the client"),
          outcome: otherRefusal.accepted.includes(status) ? "pass" : "fail",
        };
      }),
    );
  }
  return results;
}

/** What the table, the banner and the summary fit in. */
const SCREEN_WIDTH = 100;
/** The widths of the table's columns; with the gaps between them, 98 columns in all. */
const COLUMN_WIDTHS = [26, 26, 34, 6];

/** Where to cut a word longer than `width`: after its last `@`, `.`, `/` or `-` that fits. */
function cutPosition(word: string, width: number): number {
  const fits = word.slice(0, width);
  const after = Math.max(...["@", ".", "/", "-"].map((mark) => fits.lastIndexOf(mark)));
  return after > 0 ? after + 1 : width;
}

/**
 * `text` in lines of at most `width` characters, broken at spaces where it can be, and a word
 * too long for a line (an e-mail, a URL) after one of its separators.
 */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((part) => part !== "")) {
    let rest = word;
    while (rest.length > width) {
      if (line !== "") lines.push(line);
      const cut = cutPosition(rest, width);
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
      line = "";
    }
    if (line === "") line = rest;
    else if (line.length + 1 + rest.length <= width) line += ` ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  if (line !== "" || lines.length === 0) lines.push(line);
  return lines;
}

export function table(results: readonly CheckResult[]): string {
  const rows = [
    ["check", "expected", "got", "result"],
    COLUMN_WIDTHS.map((width) => "-".repeat(width)),
    ...results.map((r) => [r.check, r.expected, r.got, r.outcome]),
  ];
  const printed: string[] = [];
  for (const row of rows) {
    const cells = row.map((cell, column) => wrap(cell, COLUMN_WIDTHS[column]!));
    const height = Math.max(...cells.map((lines) => lines.length));
    for (let index = 0; index < height; index += 1) {
      printed.push(
        cells
          .map((lines, column) => (lines[index] ?? "").padEnd(COLUMN_WIDTHS[column]!))
          .join("  ")
          .trimEnd(),
      );
    }
  }
  return printed.join("\n");
}

/** The closing lines: what passed, what failed or was skipped and why, and the exit code. */
export function summary(results: readonly CheckResult[]): { text: string; exitCode: number } {
  const of = (outcome: Outcome) => results.filter((result) => result.outcome === outcome);
  const failed = of("fail");
  const skipped = of("skip");
  if (failed.length > 0) {
    const names = failed.map((result) => result.check).join("; ");
    return {
      text: `${failed.length} of ${results.length} checks failed: ${names}.`,
      exitCode: EXIT.failed,
    };
  }
  if (skipped.length > 0) {
    const why = skipped.map((result) => `${result.check} (${result.got})`).join("; ");
    return {
      text: `${results.length - skipped.length} of ${results.length} checks passed, ${skipped.length} skipped: ${why}.\nA skipped check is not a pass: the security shape is not fully verified (exit code ${EXIT.skipped}).`,
      exitCode: EXIT.skipped,
    };
  }
  return {
    text: `All ${results.length} checks passed: the security shape holds.`,
    exitCode: EXIT.passed,
  };
}

/** Runs the wait first when asked; true when the chain works (or no wait was asked for). */
async function waitIfAsked(options: VerifyOptions): Promise<boolean> {
  if (options.waitMs === undefined || options.clientAccount === undefined) return true;
  // Progress lines carry what to check and run long: wrapped, keeping their indent, with
  // continuation lines indented further.
  const print = (line: string) => {
    const indent = /^\s*/.exec(line)?.[0] ?? "";
    const lines = wrap(line, SCREEN_WIDTH - indent.length - 4);
    process.stdout.write(`${indent}${lines.join(`\n${indent}    `)}\n`);
  };
  try {
    await callUntilChainWorks(
      { clientUrl: options.clientUrl, clientAccount: options.clientAccount },
      { timeoutMs: options.waitMs, report: print },
    );
    return true;
  } catch (error) {
    if (!(error instanceof ChainNotReadyError)) throw error;
    print(`The wait ran out after ${formatDuration(options.waitMs)}: ${error.message}`);
    return false;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help")) {
    console.log(USAGE);
    return;
  }
  let options: VerifyOptions;
  try {
    options = verifyOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`npm run verify: ${error.message}\n${USAGE}\n`);
    process.exit(EXIT.usage);
  }
  process.stdout.write(
    `Verifying the deployed chain\n  client  ${options.clientUrl}\n  target  ${options.targetUrl} (ingress ${options.targetIngress})\n\n`,
  );
  const chainWorks = await waitIfAsked(options);
  const results = await runChecks(options);
  const { text, exitCode } = summary(results);
  const wrapped = text
    .split("\n")
    .flatMap((paragraph) => wrap(paragraph, SCREEN_WIDTH))
    .join("\n");
  process.stdout.write(`\n${table(results)}\n\n${wrapped}\n`);
  process.exitCode = chainWorks ? exitCode : EXIT.failed;
}

if (require.main === module) {
  void main();
}
