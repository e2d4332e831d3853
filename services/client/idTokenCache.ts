/**
 * One ID token per audience, fetched once and reused until shortly before it expires.
 *
 * google-auth-library caches a token but neither merges concurrent fetches nor refreshes ahead
 * of time, so on its own a burst of requests after expiry becomes a burst of metadata calls.
 * Here every caller shares one in-flight fetch; a token close to expiry is still served while
 * a single background refresh replaces it, so requests never wait for the metadata server
 * except for the very first token or after a rejection.
 */
import { decodeJwt } from "../shared/jwt";
import { singleFlight } from "../shared/singleFlight";

/** Fetches a brand-new ID token for one audience. */
export type IdTokenFetcher = () => Promise<string>;

/** No token could be obtained; `message` says why, and never contains a token. */
export class TokenUnavailableError extends Error {
  override readonly name = "TokenUnavailableError";
}

export interface IdTokenCacheOptions {
  fetchToken: IdTokenFetcher;
  /** Start a background refresh when the token has less than this left (at most a quarter of its life). */
  refreshAheadMs?: number;
  /** Never hand out a token with less than this left (at most a tenth of its life); wait instead. */
  minimumValidityMs?: number;
  /** Give up on a fetch after this long. */
  fetchTimeoutMs?: number;
  /** Told when a background refresh fails (the current token is still served). */
  onBackgroundFailure?: (error: TokenUnavailableError) => void;
  now?: () => number;
}

interface CachedToken {
  token: string;
  /** From here on, a background refresh replaces the token while it is still served. */
  refreshAt: number;
  /** From here on, the token is too close to expiry to hand out. */
  usableUntil: number;
}

/** What the target caller needs from a token source. */
export interface TokenSource {
  get(): Promise<string>;
  /** The target rejected this token; the next `get` must not return it. */
  invalidate(token: string): void;
}

/** Used when a token has no readable lifetime: treat it as short-lived rather than trust it long. */
const UNKNOWN_LIFETIME_MS = 5 * 60_000;

export class IdTokenCache implements TokenSource {
  private current: CachedToken | undefined;
  /** Every caller that needs a new token while one is being fetched waits for that one. */
  private readonly refresh = singleFlight(() => this.fetch());
  private readonly now: () => number;
  private readonly refreshAheadMs: number;
  private readonly minimumValidityMs: number;
  private readonly fetchTimeoutMs: number;

  constructor(private readonly options: IdTokenCacheOptions) {
    this.now = options.now ?? Date.now;
    this.refreshAheadMs = options.refreshAheadMs ?? 5 * 60_000;
    this.minimumValidityMs = options.minimumValidityMs ?? 30_000;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 5_000;
  }

  async get(): Promise<string> {
    const current = this.current;
    const now = this.now();
    if (current && now < current.refreshAt) return current.token;
    if (current && now < current.usableUntil) {
      this.refresh().catch((error: TokenUnavailableError) =>
        this.options.onBackgroundFailure?.(error),
      );
      return current.token;
    }
    return this.refresh();
  }

  invalidate(token: string): void {
    // Only the token that failed is dropped, so many requests rejected with the same token
    // still cause a single refetch, and a newer token is never thrown away.
    if (this.current?.token === token) this.current = undefined;
  }

  private async fetch(): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.fetchTimeoutMs} ms`)),
        this.fetchTimeoutMs,
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
    this.current = this.schedule(token);
    return token;
  }

  /**
   * When to refresh and when to stop using a token. The margins are five minutes and thirty
   * seconds for Google's one-hour tokens, and shrink in proportion for shorter-lived ones, so
   * a short token is still used for most of its life.
   */
  private schedule(token: string): CachedToken {
    const now = this.now();
    let expiresAt = now + UNKNOWN_LIFETIME_MS;
    let lifetime = UNKNOWN_LIFETIME_MS;
    try {
      const { exp, iat } = decodeJwt(token).payload;
      if (typeof exp === "number") {
        expiresAt = exp * 1000;
        lifetime = typeof iat === "number" ? (exp - iat) * 1000 : expiresAt - now;
      }
    } catch {
      // Not a JWT we can read: keep the short default.
    }
    return {
      token,
      refreshAt: expiresAt - Math.min(this.refreshAheadMs, lifetime / 4),
      usableUntil: expiresAt - Math.min(this.minimumValidityMs, lifetime / 10),
    };
  }
}
