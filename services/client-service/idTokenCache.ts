/**
 * One ID token per audience, fetched once and reused until shortly before it expires.
 *
 * google-auth-library caches a token but neither merges concurrent fetches nor refreshes ahead
 * of time, so on its own a burst of requests after expiry becomes a burst of metadata calls.
 * Here every caller shares one in-flight fetch; a token close to expiry is still served while
 * a single background refresh replaces it, so requests never wait for the metadata server
 * except for the very first token or after a rejection.
 *
 * What the metadata server returns is checked before it is used: it must be a JWT for this
 * audience that has not expired. Anything else (an HTML error page, garbage, someone else's or
 * an expired token) is refused and never sent anywhere.
 */
import { decodeJwt } from "jose";
import { singleFlight } from "../shared/singleFlight";

/** Fetches a brand-new ID token for one audience. */
export type IdTokenFetcher = () => Promise<string>;

/** No token could be obtained; `message` says why, and never contains a token. */
export class TokenUnavailableError extends Error {
  override readonly name = "TokenUnavailableError";
  /** The metadata server answered, but not with a usable ID token (as opposed to not at all). */
  readonly unusable: boolean;
  constructor(message: string, { unusable = false } = {}) {
    super(message);
    this.unusable = unusable;
  }
}

export interface IdTokenCacheOptions {
  fetchToken: IdTokenFetcher;
  /** The audience every token must be for. */
  audience: string;
  /** Told when a background refresh fails (the current token is still served). */
  onBackgroundFailure: (error: TokenUnavailableError) => void;
}

/** A fetch that has not answered after this long is given up. */
const FETCH_TIMEOUT_MS = 5_000;

/** A background refresh starts when the token has less than this left (at most 1/4 of its life). */
const REFRESH_AHEAD_MS = 5 * 60_000;
/** No token goes out with less than this left (at most 1/10 of its life); callers wait instead. */
const MINIMUM_VALIDITY_MS = 30_000;

interface CachedToken {
  token: string;
  /** From here on, a background refresh replaces the token while it is still served. */
  refreshAt: number;
  /** From here on, the token is too close to expiry to hand out. */
  usableUntil: number;
}

/**
 * After an unusable answer the metadata server is not asked again for a second, then two,
 * four… up to thirty: an answer that is wrong once is likely wrong the next time too, and
 * asking again at once would turn every request into another metadata call.
 */
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;

interface Backoff {
  /** No fetch before this time. */
  until: number;
  delayMs: number;
  /** What callers get meanwhile: the unusable answer's fault. */
  error: TokenUnavailableError;
}

export class IdTokenCache {
  private current: CachedToken | undefined;
  /** Every caller that needs a new token while one is being fetched waits for that one. */
  private readonly refresh = singleFlight(() => this.fetch());
  /** The background refresh under way, if any: its failure is reported once, by itself. */
  private backgroundRefresh: Promise<void> | undefined;
  private backoff: Backoff | undefined;

  constructor(private readonly options: IdTokenCacheOptions) {}

  async get(): Promise<string> {
    const current = this.current;
    const now = Date.now();
    if (current && now < current.refreshAt) return current.token;
    if (current && now < current.usableUntil) {
      this.refreshInBackground(now);
      return current.token;
    }
    if (this.backoff && now < this.backoff.until) throw this.backoff.error;
    return this.refresh();
  }

  private refreshInBackground(now: number): void {
    if (this.backgroundRefresh || (this.backoff && now < this.backoff.until)) return;
    this.backgroundRefresh = this.refresh()
      .then(
        () => undefined,
        (error: TokenUnavailableError) => this.options.onBackgroundFailure(error),
      )
      .finally(() => {
        this.backgroundRefresh = undefined;
      });
  }

  /** The target rejected this token; the next `get` must not return it. */
  invalidate(token: string): void {
    // Only the token that failed is dropped, so many requests rejected with the same token
    // still cause a single refetch, and a newer token is never thrown away.
    if (this.current?.token === token) this.current = undefined;
  }

  private async fetch(): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${FETCH_TIMEOUT_MS} ms`)),
        FETCH_TIMEOUT_MS,
      );
    });
    let token: string;
    try {
      token = await Promise.race([this.options.fetchToken(), timeout]);
    } catch (error) {
      throw new TokenUnavailableError((error as Error).message);
    } finally {
      clearTimeout(timer);
    }
    try {
      this.current = this.schedule(token);
    } catch (error) {
      this.backOff(error as TokenUnavailableError);
      throw error;
    }
    this.backoff = undefined;
    return token;
  }

  private backOff(error: TokenUnavailableError): void {
    const delayMs = this.backoff
      ? Math.min(this.backoff.delayMs * 2, MAX_BACKOFF_MS)
      : FIRST_BACKOFF_MS;
    this.backoff = { until: Date.now() + delayMs, delayMs, error };
  }

  /**
   * When to refresh and when to stop using a token, once it has proved to be an unexpired ID
   * token for the audience. The margins are five minutes and thirty seconds for Google's
   * one-hour tokens, and shrink in proportion for shorter-lived ones, so a short token is still
   * used for most of its life.
   */
  private schedule(token: string): CachedToken {
    const now = Date.now();
    // The reasons below never quote the answer: it may be a token, if not the right one.
    const unusable = (reason: string) =>
      new TokenUnavailableError(`the metadata server's answer ${reason}`, { unusable: true });
    let claims;
    try {
      claims = decodeJwt(token);
    } catch {
      throw unusable("is not a JWT");
    }
    const { aud, exp, iat } = claims;
    if (aud !== this.options.audience)
      throw unusable(`is not a token for ${this.options.audience}`);
    if (typeof exp !== "number") throw unusable("has no expiry");
    const expiresAt = exp * 1000;
    if (expiresAt <= now) throw unusable("has expired");
    const lifetime = typeof iat === "number" ? (exp - iat) * 1000 : expiresAt - now;
    return {
      token,
      refreshAt: expiresAt - Math.min(REFRESH_AHEAD_MS, lifetime / 4),
      usableUntil: expiresAt - Math.min(MINIMUM_VALIDITY_MS, lifetime / 10),
    };
  }
}
