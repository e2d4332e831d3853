/**
 * `npm run verify`: proves the live security shape of a deployed stack, from outside.
 *
 *   npm run verify                                   URLs from `pulumi stack output --json`
 *   npm run verify -- --client <url> --target <url>  URLs given
 *
 * Checks, printed as a table, exit code 1 if any fails:
 * - the client's `GET /` answers 200 and the target's answer names the client's account;
 * - the target answers 403 to a request without a token (200 there means it is public);
 * - the target answers 401 or 403 to a token that is not the client's: by default your own
 *   (`gcloud auth print-identity-token`), skipped with the reason when none can be had.
 */
import { execFileSync, spawnSync } from "node:child_process";

const USAGE = `usage: npm run verify [-- --client <url> --target <url>] [--client-account <email>] [--other-token-command "<command>"]

With neither --client nor --target, the URLs and the client's account come from
\`pulumi stack output --json\` of the selected stack.
--other-token-command prints an ID token that is not the client's; the default is
\`gcloud auth print-identity-token\` (your own identity).`;

const REQUEST_TIMEOUT_MS = 15_000;

export interface VerifyOptions {
  clientUrl: string;
  targetUrl: string;
  /** The account the target must name as its caller; any service account when unknown. */
  clientAccount: string | undefined;
  /** A shell command printing an ID token that is not the client's. */
  otherTokenCommand: string;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Flag = "--client" | "--target" | "--client-account" | "--other-token-command";
const FLAGS: readonly Flag[] = [
  "--client",
  "--target",
  "--client-account",
  "--other-token-command",
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
  return {
    clientUrl: httpUrl("--client", client),
    targetUrl: httpUrl("--target", target),
    clientAccount: pick("--client-account", "clientServiceAccount"),
    otherTokenCommand: flags["--other-token-command"] ?? "gcloud auth print-identity-token",
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

/** The caller the target named in the client's answer, if the answer has that shape. */
function callerOf(body: string): string | undefined {
  try {
    const email = (JSON.parse(body) as { target?: { body?: { caller?: { email?: unknown } } } })
      .target?.body?.caller?.email;
    return typeof email === "string" ? email : undefined;
  } catch {
    return undefined;
  }
}

function otherToken(command: string): { token?: string; reason?: string } {
  const result = spawnSync(command, { shell: true, encoding: "utf8", timeout: 30_000 });
  const token = result.stdout?.trim() ?? "";
  if (result.status === 0 && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return { token };
  const detail = (result.stderr ?? "").trim().split("\n")[0] || `exit code ${result.status}`;
  return { reason: `no token from \`${command}\`: ${detail}` };
}

export async function runChecks(options: VerifyOptions): Promise<CheckResult[]> {
  const serviceAccount = /^[^@\s]+@[^@\s]+\.iam\.gserviceaccount\.com$/;
  const results = [
    await attempt(
      "client GET /",
      `200, the target names ${options.clientAccount ?? "the client's service account"}`,
      async () => {
        const { status, body } = await get(options.clientUrl);
        const caller = callerOf(body);
        const named =
          caller !== undefined &&
          (options.clientAccount === undefined
            ? serviceAccount.test(caller)
            : caller === options.clientAccount.toLowerCase());
        return {
          got: `${status}, caller ${caller ?? "not named"}`,
          outcome: status === 200 && named ? "pass" : "fail",
        };
      },
    ),
    await attempt("target GET / without a token", "403", async () => {
      const { status } = await get(options.targetUrl);
      return {
        got: status === 200 ? "200: the target is public" : String(status),
        outcome: status === 403 ? "pass" : "fail",
      };
    }),
  ];
  const other = otherToken(options.otherTokenCommand);
  const withOther = "target GET / with a token that is not the client's";
  if (other.token === undefined) {
    results.push({
      check: withOther,
      expected: "401 or 403",
      got: other.reason ?? "",
      outcome: "skip",
    });
  } else {
    const token = other.token;
    results.push(
      await attempt(withOther, "401 or 403", async () => {
        const { status } = await get(options.targetUrl, { authorization: `Bearer ${token}` });
        return {
          got:
            status === 200
              ? "200: the target admits a caller other than the client"
              : String(status),
          outcome: status === 401 || status === 403 ? "pass" : "fail",
        };
      }),
    );
  }
  return results;
}

export function table(results: readonly CheckResult[]): string {
  const rows = [
    ["check", "expected", "got", "result"],
    ...results.map((r) => [r.check, r.expected, r.got, r.outcome]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join("  ")
      .trimEnd();
  return [
    line(rows[0]!),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.slice(1).map(line),
  ].join("\n");
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
    process.exit(2);
  }
  process.stdout.write(`Verifying client ${options.clientUrl} and target ${options.targetUrl}\n\n`);
  const results = await runChecks(options);
  const failed = results.filter((result) => result.outcome === "fail").length;
  process.stdout.write(`${table(results)}\n\n`);
  process.stdout.write(
    failed === 0 ? "The security shape holds.\n" : `${failed} check(s) failed.\n`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
}

if (require.main === module) {
  void main();
}
