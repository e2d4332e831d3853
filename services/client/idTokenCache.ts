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

/** Fetches a brand-new ID token for one audience. */
export type IdTokenFetcher = () => Promise<string>;

/** No token could be obtained; `message` says why, and never contains a token. */
export class TokenUnavailableError extends Error {
  override readonly name = "TokenUnavailableError";
}

export interface IdTokenCacheOptions {
  fetchToken: IdTokenFetcher;
  /** Start a background refresh when the token has less than this left. */
  refreshAheadMs?: number;
  /** Never hand out a token with less than this left; wait for a new one instead. */
  minimumValidityMs?: number;
  /** Give up on a fetch after this long. */
  fetchTimeoutMs?: number;
  /** Told when a background refresh fails (the current token is still served). */
  onBackgroundFailure?: (error: TokenUnavailableError) => void;
  now?: () => number;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Used when a token has no readable `exp`: treat it as short-lived rather than trusting it long. */
const UNKNOWN_EXPIRY_LIFETIME_MS = 5 * 60_000;

export class IdTokenCache {
  private current: CachedToken | undefined;
  private inflight: Promise<string> | undefined;
  private readonly now: () => number;
  private readonly refreshAheadMs: number;
  private readonly minimumValidityMs: number;
  private readonly fetchTimeoutMs: number;
  /** How many fetches were started; reported by the benchmark and asserted by tests. */
  fetchCount = 0;

  constructor(private readonly options: IdTokenCacheOptions) {
    this.now = options.now ?? Date.now;
    this.refreshAheadMs = options.refreshAheadMs ?? 5 * 60_000;
    this.minimumValidityMs = options.minimumValidityMs ?? 30_000;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 5_000;
  }

  async get(): Promise<string> {
    const current = this.current;
    const remaining = current ? current.expiresAt - this.now() : 0;
    if (current && remaining > this.refreshAheadMs) return current.token;
    if (current && remaining > this.minimumValidityMs) {
      this.refresh().catch((error: TokenUnavailableError) =>
        this.options.onBackgroundFailure?.(error),
      );
      return current.token;
    }
    return this.refresh();
  }

  /**
   * The target rejected `token`: forget it, unless a newer token has already replaced it, so
   * that many requests failing with the same token still cause a single refetch.
   */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  private refresh(): Promise<string> {
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetch(): Promise<string> {
    this.fetchCount += 1;
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
    this.current = { token, expiresAt: this.expiryOf(token) };
    return token;
  }

  private expiryOf(token: string): number {
    try {
      const { exp } = decodeJwt(token).payload;
      if (typeof exp === "number") return exp * 1000;
    } catch {
      // Not a JWT we can read; fall through to a short lifetime.
    }
    return this.now() + UNKNOWN_EXPIRY_LIFETIME_MS;
  }
}
