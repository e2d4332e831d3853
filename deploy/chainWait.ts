/**
 * The wait for a working chain: calls the client's `GET /` until it answers 200 with the target
 * naming the client's account as its caller, for a bounded time, reporting progress as it goes.
 *
 * `pulumi up` runs it from a resource hook after the grant or either service changes, and
 * `npm run verify -- --wait <duration>` runs the very same function. It imports nothing from
 * Pulumi, so the verifier's bundle stays small, and nothing from the services: it only reads
 * the client's answer as any caller would.
 */

/** The chain's two ends as the stack's outputs give them. */
export interface ChainEndpoints {
  clientUrl: string;
  /** The account the target must name as its caller, e.g. `s2s-client@p.iam.gserviceaccount.com`. */
  clientAccount: string;
}

/** One look at the client: what it answered, in a line, and what to check when it is wrong. */
export interface ChainObservation {
  ready: boolean;
  /** What was seen, e.g. `502 target_forbidden (the target answered 403)`. */
  seen: string;
  /** What to check; empty when the chain works. */
  advice: string;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface ChainWaitOptions {
  /** How long to wait in all before giving up. */
  timeoutMs: number;
  /** Called with one line per change of what is seen, and at least every 30 s. */
  report: (line: string) => void;
  /** The pause between two calls of the client. */
  intervalMs?: number;
  clock?: Clock;
}

export interface ChainReady {
  elapsedMs: number;
  attempts: number;
}

/** The wait ran out; the message says what was seen last and what to check. */
export class ChainNotReadyError extends Error {
  override readonly name = "ChainNotReadyError";
  constructor(
    readonly lastSeen: ChainObservation,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_INTERVAL_MS = 5_000;
const REPORT_EVERY_MS = 30_000;
/** The most one call of the client may take. */
const REQUEST_TIMEOUT_MS = 15_000;

const UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** `90s`, `5m` or `1h` in milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})(s|m|h)$/.exec(text.trim());
  if (match === null) return undefined;
  return Number(match[1]) * UNITS_MS[match[2] as keyof typeof UNITS_MS];
}

/** A duration the way a person reads it: `45s`, `2m05s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
}

/** `text` ended with a full stop, unless it ends with one of its own: another may follow. */
export function withFullStop(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** The fields of the client's JSON answer this module reads; anything else is ignored. */
interface ClientAnswer {
  error?: unknown;
  /** The client's own reading of a refusal: what the target's 401 or 403 means. */
  hint?: unknown;
  targetStatus?: unknown;
  target?: { body?: { caller?: { email?: unknown } } };
}

function parsed(body: string): ClientAnswer {
  try {
    const value = JSON.parse(body) as unknown;
    return typeof value === "object" && value !== null ? (value as ClientAnswer) : {};
  } catch {
    return {};
  }
}

/** The caller the target named in the client's answer, if the answer has that shape. */
export function callerNamed(body: string): string | undefined {
  const email = parsed(body).target?.body?.caller?.email;
  return typeof email === "string" ? email : undefined;
}

/**
 * What an answer of the client means for the chain. The client turns the target's refusals
 * into 502s that carry the target's status and a hint; the client knows what a 401 or 403 of
 * the target means (the audience, the grant), so its hint is the advice. What only a deployer
 * sees is said here: 404 is internal ingress reached from outside the VPC, 5xx the logs.
 */
export function observe(
  status: number,
  body: string,
  { clientAccount }: Pick<ChainEndpoints, "clientAccount">,
): ChainObservation {
  const answer = parsed(body);
  const caller = callerNamed(body);
  const account = clientAccount.toLowerCase();
  if (status === 200) {
    if (caller?.toLowerCase() === account)
      return { ready: true, seen: `200, caller ${caller}`, advice: "" };
    return {
      ready: false,
      seen: `200, caller ${caller ?? "not named"}`,
      advice: `the target must name ${account}: check the client's service account and the target's ALLOWED_INVOKERS`,
    };
  }
  const code = typeof answer.error === "string" ? ` ${answer.error}` : "";
  const targetStatus = typeof answer.targetStatus === "number" ? answer.targetStatus : undefined;
  const seen = `${status}${code}${targetStatus === undefined ? "" : ` (the target answered ${targetStatus})`}`;
  const relevant = targetStatus ?? status;
  const hint = typeof answer.hint === "string" ? answer.hint : undefined;
  const advice =
    (targetStatus === 401 || targetStatus === 403) && hint !== undefined
      ? hint
      : targetStatus === 404
        ? "404 from the target means its ingress refused the client: with targetIngress=internal the client must call it through clientVpcSubnet"
        : relevant >= 500
          ? "5xx means a service failed: read the client's and the target's logs (gcloud run services logs read <service> --region <region>)"
          : "unexpected answer: check the client URL and the services' logs";
  return { ready: false, seen, advice };
}

/** One call of the client; a network failure is an observation too, never a crash. */
async function lookAtChain(endpoints: ChainEndpoints): Promise<ChainObservation> {
  try {
    const response = await fetch(endpoints.clientUrl, {
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return observe(response.status, await response.text(), endpoints);
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const name = (error as Error).name;
    const what =
      cause ?? (name === "TimeoutError" ? "no answer in time" : (error as Error).message);
    return {
      ready: false,
      seen: `no answer from the client (${what})`,
      advice:
        "check the client URL, that this machine can reach it, and the client's logs; set waitForChain to false for a deployer that cannot reach the client",
    };
  }
}

/**
 * Calls the client until the chain works or `timeoutMs` has passed. Resolves with how long it
 * took; rejects with a ChainNotReadyError naming what was seen last and what to check.
 */
export async function callUntilChainWorks(
  endpoints: ChainEndpoints,
  options: ChainWaitOptions,
): Promise<ChainReady> {
  const clock = options.clock ?? realClock;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const started = clock.now();
  const elapsed = () => clock.now() - started;
  const bound = formatDuration(options.timeoutMs);
  options.report(
    `Waiting up to ${bound} for ${endpoints.clientUrl} to answer 200 naming ${endpoints.clientAccount}`,
  );
  let attempts = 0;
  let lastReport: { seen: string; at: number } | undefined;
  for (;;) {
    attempts += 1;
    // Every call gets its full time, so the last one says as much as the first: the wait can
    // overrun its bound by at most one call.
    const seen = await lookAtChain(endpoints);
    if (seen.ready) {
      options.report(`The chain works after ${formatDuration(elapsed())}: ${seen.seen}`);
      return { elapsedMs: elapsed(), attempts };
    }
    if (elapsed() >= options.timeoutMs) {
      throw new ChainNotReadyError(
        seen,
        `the client did not answer 200 naming ${endpoints.clientAccount} within ${bound} (${attempts} calls); last seen: ${seen.seen}. ${withFullStop(seen.advice.charAt(0).toUpperCase() + seen.advice.slice(1))}`,
      );
    }
    if (lastReport?.seen !== seen.seen || clock.now() - lastReport.at >= REPORT_EVERY_MS) {
      options.report(`  ${formatDuration(elapsed())} of ${bound}: ${seen.seen}; ${seen.advice}`);
      lastReport = { seen: seen.seen, at: clock.now() };
    }
    await clock.sleep(Math.min(intervalMs, Math.max(0, options.timeoutMs - elapsed())));
  }
}
