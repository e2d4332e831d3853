/**
 * A published JSON Web Key Set, such as Google's https://www.googleapis.com/oauth2/v3/certs,
 * as jose's `createRemoteJWKSet` keeps it: fetched with a timeout, refetched when a token names
 * an unknown `kid` (at most once per cooldown), and one refetch shared by every lookup that
 * waits for it.
 *
 * jose's key set is built on the first lookup, not when the service starts: building it makes a
 * `Headers`, which loads Node.js's bundled fetch client (undici), about 30 ms of the target's
 * start and 6-7 MiB of its resident memory (docs/benchmarks.md). The first token waits for the
 * keys to be fetched anyway; nothing is fetched before it, then or now.
 *
 * Two things jose leaves to the application are added here, and nothing else:
 * - freshness as the publisher's `Cache-Control: max-age` says, where jose would use a fixed
 *   age (Google rotates on its own schedule and says how long its keys may be kept);
 * - a failed fetch is retried at most once per cooldown, where jose would try again on every
 *   lookup until the first fetch succeeds: a publisher that is down must not turn each request
 *   into another fetch.
 */
import { createRemoteJWKSet, customFetch, errors, type JWTVerifyGetKey } from "jose";
import type { Logger } from "../../shared/logger";

/** No key could be loaded to check a token, so no token can be verified right now. */
export class KeysUnavailableError extends Error {
  override readonly name = "KeysUnavailableError";
}

export interface RemoteKeySetOptions {
  url: string;
  logger?: Logger;
}

/** A fetch that has not answered after this long is given up. */
export const KEY_FETCH_TIMEOUT_MS = 5_000;

/** At most one fetch per this long, whatever asks for it: jose's own default. */
export const KEY_FETCH_COOLDOWN_MS = 30_000;

/** How long keys are kept when the publisher sends no usable `max-age`. */
const DEFAULT_MAX_AGE_MS = 3_600_000;

const MAX_AGE = /(?:^|,)\s*max-age=(\d+)\s*(?:,|$)/i;

function maxAgeMs(cacheControl: string | null, fallback: number): number {
  const seconds = MAX_AGE.exec(cacheControl ?? "")?.[1];
  return seconds === undefined ? fallback : Number(seconds) * 1000;
}

/** A key lookup for jose's `jwtVerify`, backed by the key set published at `url`. */
export function remoteKeySet(options: RemoteKeySetOptions): JWTVerifyGetKey {
  let lastFetchAt = Number.NEGATIVE_INFINITY;
  let freshUntil = 0;

  const coolingDown = () => Date.now() - lastFetchAt < KEY_FETCH_COOLDOWN_MS;

  // Every fetch jose makes comes through here: this is where the publisher's max-age is read
  // and where fetching too often is refused without touching the network.
  const fetchKeys: typeof fetch = async (input, init) => {
    if (coolingDown()) {
      throw new KeysUnavailableError("the key set was fetched moments ago; not fetching again yet");
    }
    lastFetchAt = Date.now();
    try {
      const response = await fetch(input, init);
      if (response.status === 200) {
        freshUntil =
          Date.now() + maxAgeMs(response.headers.get("cache-control"), DEFAULT_MAX_AGE_MS);
      } else {
        options.logger?.warn(
          { url: options.url, status: response.status },
          "the signing-key set answered with an error",
        );
      }
      return response;
    } catch (error) {
      options.logger?.warn(
        { url: options.url, reason: (error as Error).message },
        "could not fetch the signing-key set",
      );
      throw error;
    }
  };

  const url = new URL(options.url);
  let built: ReturnType<typeof createRemoteJWKSet> | undefined;
  const jwks = () =>
    (built ??= createRemoteJWKSet(url, {
      timeoutDuration: KEY_FETCH_TIMEOUT_MS,
      cooldownDuration: KEY_FETCH_COOLDOWN_MS,
      // Freshness is decided by the publisher's max-age below, not by a fixed age.
      cacheMaxAge: Number.POSITIVE_INFINITY,
      [customFetch]: fetchKeys,
    }));

  return async (header, token) => {
    const keySet = jwks();
    if (freshUntil > 0 && Date.now() >= freshUntil && !coolingDown()) {
      // Past its max-age: refresh before looking up. Should that fail, the keys already held
      // stay in use; they were valid a moment ago and Google lists keys well beyond their use.
      await keySet.reload().catch(() => undefined);
    }
    try {
      return await keySet(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) throw error;
      if (error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new KeysUnavailableError(`no signing keys could be loaded from ${options.url}`);
    }
  };
}
