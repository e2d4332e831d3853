/**
 * One authenticated call to the target, and the translation of every way it can fail into an
 * answer that tells the operator what to fix.
 *
 * The URL comes from configuration only; nothing in an incoming request can change it.
 * Redirects are never followed, so the token cannot be carried to another origin.
 */
import type { OutgoingHttpHeaders } from "node:http";
import type { ClientTokenHeader } from "../wiring";
import { AnswerError } from "../shared/answerError";
import { TOKEN_HEADERS } from "../shared/tokenHeaders";
import type { Logger } from "../shared/logger";
import { childTraceparent, type TraceContext } from "../shared/trace";
import { googleIdTokenFetcher } from "./googleIdTokens";
import { type HttpAnswer, httpGetter } from "./httpGet";
import { IdTokenCache, TokenUnavailableError } from "./idTokenCache";

export interface TargetAnswer {
  target: { url: string; status: number; body: unknown };
  latencyMs: number;
  /** True when the first token was rejected and a fresh one succeeded. */
  retriedWithFreshToken: boolean;
}

/**
 * A failed call. `status`, `code`, `message` and `hint` go to the caller; `reason` holds
 * internal detail for the log only.
 */
export class TargetCallError extends AnswerError<502 | 503 | 504> {
  override readonly name = "TargetCallError";
  constructor(
    status: 502 | 503 | 504,
    code: string,
    message: string,
    readonly hint: string | undefined,
    readonly reason: string,
    readonly targetStatus?: number,
  ) {
    super(status, code, message);
  }
}

export interface TargetCallerOptions {
  targetUrl: URL;
  /** What the ID tokens are for; named in the hint of a 401, which most often means the wrong one. */
  audience: string;
  tokenHeader: ClientTokenHeader;
  timeoutMs: number;
}

export type CallTarget = (trace: TraceContext) => Promise<TargetAnswer>;

/** Checked by name: the abort error is a DOMException, which may come from another realm. */
function isTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === "TimeoutError" || name === "AbortError";
}

function describeNetworkError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  return code ?? message ?? String(error);
}

/** The answer's JSON when it says it is JSON, its text otherwise. */
export function parseBody(answer: HttpAnswer): unknown {
  if ((answer.headers["content-type"] ?? "").includes("application/json")) {
    try {
      return JSON.parse(answer.body) as unknown;
    } catch {
      // Not really JSON: hand it on as text.
    }
  }
  return answer.body;
}

function rejection(answer: HttpAnswer, options: TargetCallerOptions): TargetCallError {
  const { status } = answer;
  const detail = `target answered HTTP ${status}`;
  if (status === 401) {
    return new TargetCallError(
      502,
      "target_rejected_token",
      "The target did not accept the client's ID token, even a freshly fetched one",
      `The token's audience is "${options.audience}"; it must equal the target's URL or one of its custom audiences (TARGET_AUDIENCE).`,
      detail,
      status,
    );
  }
  if (status === 403) {
    return new TargetCallError(
      502,
      "target_forbidden",
      "The target refused the client's identity",
      "Grant roles/run.invoker on the target to the client's service account; IAM changes can take a few minutes to propagate.",
      detail,
      status,
    );
  }
  if (status >= 300 && status < 400) {
    return new TargetCallError(
      502,
      "target_redirected",
      "The target answered with a redirect, which the client does not follow",
      "Set TARGET_URL to the target's final URL; the token is never sent to another location.",
      `${detail} to ${answer.headers.location ?? "nowhere"}`,
      status,
    );
  }
  return new TargetCallError(
    502,
    "target_error",
    `The target failed with HTTP ${status}`,
    status >= 500 ? "See the target's logs for this trace." : undefined,
    detail,
    status,
  );
}

/**
 * A signature base64-encoded, as it reads inside any longer encoded text. Where the encoding
 * starts decides how its bytes fall into groups of three, so there is one form for each of the
 * three ways, each cut to the characters that depend on the signature alone: those at either
 * end mix in its neighbours' bits.
 *
 * One form serves both alphabets. A signature's characters (letters, digits, "-" and "_") never
 * encode to "+" or "/", the only characters in which standard base64 and base64url differ, and
 * padding lies outside the forms.
 */
function base64Forms(signature: string): string[] {
  const bytes = Buffer.from(signature);
  return [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    return encoded.slice(offset === 0 ? 0 : 4, Math.floor((offset + bytes.length) / 3) * 4);
  });
}

/**
 * Whether the answer carries one of the tokens sent. The signature is what makes a token
 * usable, so finding it anywhere in the answer counts, whatever surrounds it; a target that
 * echoes request headers would otherwise hand the client's identity to anyone who calls it.
 * Echoed base64-encoded (a header dump, a debugging field), it is as usable, so that counts too.
 * Percent- or JSON-escaping leaves a signature's characters as they are; other encodings are
 * not looked for: this catches a careless echo, and a target set on leaking could encrypt.
 */
function echoesToken(answer: HttpAnswer, tokens: readonly SentToken[]): boolean {
  return tokens.some(({ echoForms }) => echoForms.some((form) => answer.body.includes(form)));
}

/** The forms in which an answer that carries `token` shows it (see echoesToken). */
function echoFormsOf(token: string): string[] {
  const signature = token.slice(token.lastIndexOf(".") + 1);
  // No signature, or one too short to fill a base64 form, leaves an empty form; every text
  // includes "", so empty forms are left out.
  return [signature, ...base64Forms(signature)].filter((form) => form.length > 0);
}

/**
 * A token as the calls send it: its headers and the forms an echo of it would take. Made once
 * per token rather than per call, since one token serves every call for most of an hour; a
 * call then allocates nothing for its credential, which keeps the client's garbage, and so its
 * collections and peak memory under load, lower.
 */
interface SentToken {
  token: string;
  headers: OutgoingHttpHeaders;
  echoForms: string[];
}

/** The request headers that carry `idToken`: in `tokenHeader`, or in both headers. */
export function tokenHeaders(tokenHeader: ClientTokenHeader, idToken: string): OutgoingHttpHeaders {
  const bearer = `Bearer ${idToken}`;
  const headers = tokenHeader === "both" ? TOKEN_HEADERS : [tokenHeader];
  return Object.fromEntries(headers.map((header) => [header, bearer]));
}

/**
 * The client's call: an ID token from the metadata server, cached, in `tokenHeader`; one retry
 * with a fresh token after a 401; the timeout over the whole call, retry included; and every
 * failure translated into an answer.
 */
export function createTargetCaller(options: TargetCallerOptions, logger: Logger): CallTarget {
  const { targetUrl, audience, tokenHeader, timeoutMs } = options;
  const get = httpGetter(targetUrl);
  const tokens = new IdTokenCache({
    fetchToken: googleIdTokenFetcher(audience),
    audience,
    onBackgroundFailure: (error) =>
      logger.warn({ reason: error.message }, "background ID-token refresh failed"),
  });

  let lastSent: SentToken | undefined;
  const sentToken = (idToken: string): SentToken =>
    lastSent?.token === idToken
      ? lastSent
      : (lastSent = {
          token: idToken,
          headers: tokenHeaders(tokenHeader, idToken),
          echoForms: echoFormsOf(idToken),
        });

  async function token(): Promise<string> {
    try {
      return await tokens.get();
    } catch (error) {
      if (!(error instanceof TokenUnavailableError)) throw error;
      throw new TargetCallError(
        503,
        "identity_token_unavailable",
        "The client could not get an identity token from the metadata server",
        error.unusable
          ? `The metadata server answered, but not with an unexpired ID token for "${audience}"; check that GCE_METADATA_HOST (if set) points at a metadata server, and that the machine's clock is right.`
          : "On Cloud Run this comes from the service's own service account; locally, check that the metadata stand-in runs and GCE_METADATA_HOST points at it.",
        error.message,
      );
    }
  }

  return async (trace) => {
    const started = performance.now();
    // A timer cleared when the call ends. AbortSignal.timeout's timer would stay behind for the
    // full timeout after every call: at a few thousand calls a second, tens of thousands of
    // them, held in memory and walked by the garbage collector.
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException("the call timed out", "TimeoutError")),
      timeoutMs,
    );
    /** The credentials sent, which must never come back out in what the client relays. */
    const sentTokens: SentToken[] = [];
    const send = async (): Promise<HttpAnswer> => {
      const sent = sentToken(await token());
      sentTokens.push(sent);
      return get(
        {
          ...sent.headers,
          traceparent: childTraceparent(trace),
          accept: "application/json",
        },
        controller.signal,
      );
    };
    try {
      let answer = await send();
      const retriedWithFreshToken = answer.status === 401;
      if (retriedWithFreshToken) {
        tokens.invalidate(sentTokens[0]!.token);
        answer = await send();
      }
      if (echoesToken(answer, sentTokens)) {
        throw new TargetCallError(
          502,
          "target_echoed_token",
          "The target's answer contains the client's ID token, so it is not passed on",
          "Make the target stop echoing request headers; the token is the client's identity.",
          `target answered HTTP ${answer.status} with the token in its body`,
          answer.status,
        );
      }
      if (answer.status < 200 || answer.status > 299) throw rejection(answer, options);
      return {
        target: { url: targetUrl.href, status: answer.status, body: parseBody(answer) },
        latencyMs: Math.round((performance.now() - started) * 100) / 100,
        retriedWithFreshToken,
      };
    } catch (error) {
      if (error instanceof TargetCallError) throw error;
      if (isTimeout(error)) {
        throw new TargetCallError(
          504,
          "target_timeout",
          `The target did not answer within ${timeoutMs} ms`,
          "Check the target's health and cold-start time, or raise TARGET_TIMEOUT_MS.",
          "timeout",
        );
      }
      throw new TargetCallError(
        502,
        "target_unreachable",
        "The client could not reach the target",
        "Check TARGET_URL and, with internal ingress, the client's network path to the target.",
        describeNetworkError(error),
      );
    } finally {
      clearTimeout(timer);
    }
  };
}
