/**
 * Remembering tokens already verified, so that a caller presenting the same ID token again
 * (a client reuses one token for most of an hour) costs a map lookup instead of an RSA
 * signature check.
 *
 * The cache is keyed by the whole token, signature included, so only the exact string that
 * passed every check can hit it; the expiry is checked again on every hit. Failures are never
 * cached. The cache is bounded: the oldest entry makes way for a new one.
 */
import { type VerifiedIdentity, verifyIdToken, type VerifyOptions } from "./idToken";

export type IdTokenVerifier = (token: string) => Promise<VerifiedIdentity>;

/** About a megabyte of tokens: far more distinct callers than one instance sees in an hour. */
export const VERIFIED_TOKEN_CAPACITY = 1000;

export function cachingVerifier(options: VerifyOptions): IdTokenVerifier {
  const verified = new Map<string, VerifiedIdentity>();
  return async (token) => {
    const known = verified.get(token);
    if (known !== undefined && Date.now() / 1000 < known.expiresAt + options.clockSkewSeconds) {
      return known;
    }
    verified.delete(token);
    const identity = await verifyIdToken(token, options);
    verified.set(token, identity);
    if (verified.size > VERIFIED_TOKEN_CAPACITY) verified.delete(verified.keys().next().value!);
    return identity;
  };
}
