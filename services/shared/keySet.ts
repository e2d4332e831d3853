/**
 * A cached view of a JSON Web Key Set published over HTTPS, such as Google's
 * https://www.googleapis.com/oauth2/v3/certs.
 *
 * Keys are fetched once and kept for the `max-age` the publisher allows. A token naming an
 * unknown `kid` triggers a refetch (keys rotate), but at most once per cooldown, so a flood of
 * made-up key ids cannot turn into a flood of fetches. Concurrent refreshes share one request.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import type { Logger } from "./logger";
import { singleFlight } from "./singleFlight";

/** No keys could be loaded at all, so no token can be verified right now. */
export class KeysUnavailableError extends Error {
  override readonly name = "KeysUnavailableError";
}

export interface RemoteKeySetOptions {
  url: string;
  /** Minimum time between two refetches triggered by unknown key ids. */
  refetchCooldownMs?: number;
  /** Cache lifetime when the publisher sends no usable `Cache-Control: max-age`. */
  defaultMaxAgeMs?: number;
  timeoutMs?: number;
  logger?: Logger;
  now?: () => number;
}

interface Jwk {
  kid?: unknown;
  kty?: unknown;
  use?: unknown;
}

const MAX_AGE = /(?:^|,)\s*max-age=(\d+)/i;

function maxAgeMs(cacheControl: string | null, fallback: number): number {
  const seconds = MAX_AGE.exec(cacheControl ?? "")?.[1];
  return seconds === undefined ? fallback : Number(seconds) * 1000;
}

function parseKeys(body: unknown): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  const list = (body as { keys?: unknown })?.keys;
  if (!Array.isArray(list)) throw new Error("the key set has no keys array");
  for (const jwk of list as Jwk[]) {
    if (typeof jwk.kid !== "string" || jwk.kty !== "RSA" || (jwk.use ?? "sig") !== "sig") continue;
    try {
      keys.set(jwk.kid, createPublicKey({ key: jwk as never, format: "jwk" }));
    } catch {
      // One malformed key must not hide the others.
    }
  }
  return keys;
}

export class RemoteKeySet {
  private keys = new Map<string, KeyObject>();
  private freshUntil = 0;
  private lastUnknownKidRefetch = Number.NEGATIVE_INFINITY;
  /** Concurrent refreshes share one request. */
  private readonly refresh = singleFlight(() => this.fetchKeys());
  private readonly now: () => number;
  private readonly refetchCooldownMs: number;
  private readonly defaultMaxAgeMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: RemoteKeySetOptions) {
    this.now = options.now ?? Date.now;
    this.refetchCooldownMs = options.refetchCooldownMs ?? 30_000;
    this.defaultMaxAgeMs = options.defaultMaxAgeMs ?? 3_600_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** Usable as a `KeyLookup`: `keys: (kid) => keySet.getKey(kid)`. */
  async getKey(kid: string): Promise<KeyObject | undefined> {
    const now = this.now();
    if (now >= this.freshUntil) {
      await this.refresh();
    } else if (!this.keys.has(kid) && now - this.lastUnknownKidRefetch >= this.refetchCooldownMs) {
      this.lastUnknownKidRefetch = now;
      await this.refresh();
    }
    if (this.keys.size === 0) {
      throw new KeysUnavailableError(`no signing keys could be loaded from ${this.options.url}`);
    }
    return this.keys.get(kid);
  }

  private async fetchKeys(): Promise<void> {
    try {
      const response = await fetch(this.options.url, {
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { accept: "application/json" },
      });
      if (!response.ok) throw new Error(`the key set answered HTTP ${response.status}`);
      const keys = parseKeys(await response.json());
      if (keys.size === 0) throw new Error("the key set holds no RSA signing keys");
      this.keys = keys;
      this.freshUntil =
        this.now() + maxAgeMs(response.headers.get("cache-control"), this.defaultMaxAgeMs);
    } catch (error) {
      // Keep serving the keys we have; try again after the cooldown rather than per request.
      this.freshUntil = this.now() + this.refetchCooldownMs;
      this.options.logger?.warn(
        { url: this.options.url, reason: (error as Error).message },
        "could not refresh signing keys",
      );
    }
  }
}
