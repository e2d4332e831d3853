/**
 * Decoding and verifying Google-signed ID tokens (RS256 JWTs).
 *
 * Shared by the target's `verify` mode, its `cloud-run` mode (which only decodes what Cloud
 * Run forwards) and the local stand-in of Cloud Run's front end, so the rules exist once.
 * Error messages describe what is wrong with a token and never include the token itself.
 */
import { type KeyObject, verify as verifySignature } from "node:crypto";

/** A token that cannot be accepted; `message` is safe to return to the caller. */
export class TokenError extends Error {
  override readonly name = "TokenError";
}

export interface JwtHeader {
  alg?: unknown;
  kid?: unknown;
  typ?: unknown;
}

export interface IdTokenPayload {
  iss?: unknown;
  aud?: unknown;
  azp?: unknown;
  sub?: unknown;
  email?: unknown;
  email_verified?: unknown;
  iat?: unknown;
  exp?: unknown;
  nbf?: unknown;
}

export interface DecodedJwt {
  header: JwtHeader;
  payload: IdTokenPayload;
  /** `base64url(header).base64url(payload)`: the bytes the signature covers. */
  signingInput: string;
  signature: Buffer;
}

/** Cloud Run forwards a verified token with its signature replaced by this marker. */
export const REMOVED_SIGNATURE = "SIGNATURE_REMOVED_BY_GOOGLE";

/** Google's ID tokens are about 1 KB; anything far larger is not one. */
export const MAX_TOKEN_LENGTH = 8192;

/** Google's issuers, with and without scheme. */
export const GOOGLE_ISSUERS: readonly string[] = [
  "https://accounts.google.com",
  "accounts.google.com",
];

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  if (!BASE64URL.test(segment)) throw new TokenError(`token ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    throw new TokenError(`token ${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TokenError(`token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Splits and parses a compact JWS without checking anything it claims. */
export function decodeJwt(token: string): DecodedJwt {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenError("token is too long");
  const parts = token.split(".");
  if (parts.length !== 3) throw new TokenError("token is not a JWT (expected three segments)");
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  return {
    header: decodeSegment(headerPart, "header"),
    payload: decodeSegment(payloadPart, "payload"),
    signingInput: `${headerPart}.${payloadPart}`,
    signature: BASE64URL.test(signaturePart)
      ? Buffer.from(signaturePart, "base64url")
      : Buffer.alloc(0),
  };
}

/** Finds the public key for a `kid`; undefined when no such key is published. */
export type KeyLookup = (kid: string) => Promise<KeyObject | undefined>;

export interface VerifyOptions {
  keys: KeyLookup;
  /** Accepted `aud` values: the target's URL and any custom audiences. */
  audiences: readonly string[];
  issuers: readonly string[];
  /** Tolerance, in seconds, for clocks that disagree on `exp`, `iat` and `nbf`. */
  clockSkewSeconds: number;
  /** Current time in seconds; injectable for tests. */
  now?: () => number;
}

/** Who a verified token says the caller is. */
export interface VerifiedIdentity {
  email: string;
  subject: string;
  audience: string;
  expiresAt: number;
}

function numericClaim(payload: IdTokenPayload, name: "iat" | "exp" | "nbf"): number | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TokenError(`token claim ${name} is not a number`);
  }
  return value;
}

function checkTimes(payload: IdTokenPayload, now: number, skew: number): number {
  const exp = numericClaim(payload, "exp");
  const iat = numericClaim(payload, "iat");
  const nbf = numericClaim(payload, "nbf");
  if (exp === undefined || iat === undefined) throw new TokenError("token lacks exp or iat");
  if (now > exp + skew) throw new TokenError("token has expired");
  if (iat > now + skew) throw new TokenError("token is issued in the future");
  if (nbf !== undefined && nbf > now + skew) throw new TokenError("token is not valid yet");
  return exp;
}

function checkAudience(payload: IdTokenPayload, audiences: readonly string[]): string {
  const claimed = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  const match = claimed.find(
    (aud): aud is string => typeof aud === "string" && audiences.includes(aud),
  );
  if (match === undefined) throw new TokenError("token is for another audience");
  return match;
}

/** The identity a decoded ID token names, whether or not it was verified. */
export function identityClaims(payload: IdTokenPayload): { email?: string; subject?: string } {
  return {
    ...(typeof payload.email === "string" && { email: payload.email.toLowerCase() }),
    ...(typeof payload.sub === "string" && { subject: payload.sub }),
  };
}

/**
 * Verifies everything an ID token claims: algorithm, issuer, audience, validity window, a
 * verified e-mail, and finally the RS256 signature against the published key. Cheap checks
 * run first so garbage never costs a key fetch or an RSA operation.
 */
export async function verifyIdToken(
  token: string,
  options: VerifyOptions,
): Promise<VerifiedIdentity> {
  const { header, payload, signingInput, signature } = decodeJwt(token);
  // Pinning the algorithm defeats `alg: none` and HS256-with-the-public-key confusion.
  if (header.alg !== "RS256") throw new TokenError("token algorithm must be RS256");
  if (typeof header.kid !== "string" || header.kid === "")
    throw new TokenError("token has no key id");
  if (typeof payload.iss !== "string" || !options.issuers.includes(payload.iss)) {
    throw new TokenError("token is from an untrusted issuer");
  }
  const audience = checkAudience(payload, options.audiences);
  const now = options.now?.() ?? Date.now() / 1000;
  const expiresAt = checkTimes(payload, now, options.clockSkewSeconds);
  const { email, subject } = identityClaims(payload);
  if (email === undefined || subject === undefined)
    throw new TokenError("token lacks email or sub");
  if (payload.email_verified !== true) throw new TokenError("token e-mail is not verified");

  const key = await options.keys(header.kid);
  if (key === undefined) throw new TokenError("token is signed by an unknown key");
  if (
    signature.length === 0 ||
    !verifySignature("sha256", Buffer.from(signingInput), key, signature)
  ) {
    throw new TokenError("token signature is invalid");
  }
  return { email, subject, audience, expiresAt };
}
