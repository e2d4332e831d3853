/**
 * Google-signed ID tokens: verifying them (the target's `verify` mode and the local stand-in of
 * Cloud Run's front end) and reading the identity in a token Cloud Run has already verified.
 *
 * jose does all the JWS and JWT work: parsing, the RS256 signature, `crit`, issuer, audience
 * and the time claims. What jose leaves to the application are the rules Google's own verifier
 * adds, and those are written out here: a length bound, a lifetime of at most one day, `sub` and
 * `email` present, and `email_verified` exactly `true`.
 *
 * Every error message says what is wrong with a token in words chosen here; none repeats the
 * token or anything taken from it, so messages are safe to answer with and to log.
 */
import { decodeJwt, errors, type JWTPayload, jwtVerify, type JWTVerifyGetKey } from "jose";
import { asciiLowerCase } from "../../shared/text";

/** A token that cannot be accepted; `message` is safe to return to the caller. */
export class TokenError extends Error {
  override readonly name = "TokenError";
}

/** Cloud Run forwards a verified token with its signature replaced by this marker. */
export const REMOVED_SIGNATURE = "SIGNATURE_REMOVED_BY_GOOGLE";

/**
 * Google's ID tokens are about 1 KB. Node answers 431 to request headers over 16 KiB in total;
 * this bound is the application's own and well below that, so a token anywhere near the
 * header limit is refused here whatever the server's settings.
 */
export const MAX_TOKEN_LENGTH = 8192;

/** Google's issuers, with and without scheme. */
export const GOOGLE_ISSUERS: readonly string[] = [
  "https://accounts.google.com",
  "accounts.google.com",
];

/** Google's verifier refuses a token meant to live longer than a day; so does this one. */
export const MAX_LIFETIME_SECONDS = 86_400;

/**
 * Tolerance for clocks that disagree, for the target and the front-end stand-in alike. Google's
 * own verifier allows 300 s; Cloud Run's clocks are synchronised, so 30 s is plenty and keeps an
 * expired token's afterlife short.
 */
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;

export interface VerifyOptions {
  /** Finds the public key for a token's header: a remote key set, or a fixed key in tests. */
  keys: JWTVerifyGetKey;
  /** Accepted `aud` values, compared exactly. Read on every call, so it may grow after start. */
  audiences: readonly string[];
  /** Accepted `iss` values, compared exactly. */
  issuers: readonly string[];
  /** Tolerance, in seconds, for clocks that disagree on `exp`, `iat` and `nbf`. */
  clockSkewSeconds: number;
}

/** Who a verified token says the caller is. */
export interface VerifiedIdentity {
  email: string;
  subject: string;
  /** `exp`, in seconds since the epoch. */
  expiresAt: number;
}

function checkLength(token: string): void {
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new TokenError(`token is longer than ${MAX_TOKEN_LENGTH} characters`);
  }
}

const CLAIM_FAILURES: Record<string, string> = {
  aud: "token is for another audience",
  iss: "token is from an untrusted issuer",
  nbf: "token is not valid yet",
  iat: "token is issued in the future",
};

/** jose's verdict in this service's words; anything that is not about the token is passed on. */
function asTokenError(error: unknown): unknown {
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === "missing") return new TokenError(`token lacks the ${error.claim} claim`);
    if (error.reason === "invalid")
      return new TokenError(`token claim ${error.claim} is not a number`);
    return new TokenError(CLAIM_FAILURES[error.claim] ?? `token claim ${error.claim} is refused`);
  }
  if (error instanceof errors.JWTExpired) return new TokenError("token has expired");
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new TokenError("token algorithm must be RS256");
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenError("token signature is invalid");
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new TokenError("token is signed by an unknown key");
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    // No `kid`, or one that several published keys share: jose does not guess which to try.
    return new TokenError("token does not single out one of the signing keys");
  }
  if (error instanceof errors.JOSEError) {
    // Malformed compact serialisation, a header that is not JSON, a `crit` parameter this
    // service does not understand: jose's message may quote the token, so it is not used.
    return new TokenError("token is not a well-formed, understood JWT");
  }
  return error;
}

/** The rules Google's verifier applies on top of the signature and the standard claims. */
function googleRules(payload: JWTPayload): VerifiedIdentity {
  // jose has checked that both are present and numeric (requiredClaims and maxTokenAge).
  const exp = payload.exp!;
  const iat = payload.iat!;
  if (exp - iat > MAX_LIFETIME_SECONDS) throw new TokenError("token lives longer than one day");
  if (typeof payload.sub !== "string" || payload.sub === "") {
    throw new TokenError("token lacks the sub claim");
  }
  if (typeof payload.email !== "string" || payload.email === "") {
    throw new TokenError("token lacks the email claim");
  }
  if (payload.email_verified !== true) throw new TokenError("token e-mail is not verified");
  return { email: asciiLowerCase(payload.email), subject: payload.sub, expiresAt: exp };
}

/**
 * Verifies a Google ID token completely. Throws TokenError for a token that must be refused,
 * KeysUnavailableError when no key could be loaded to check it.
 */
export async function verifyIdToken(
  token: string,
  options: VerifyOptions,
): Promise<VerifiedIdentity> {
  checkLength(token);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, options.keys, {
      // Pinning the algorithm defeats `alg: none` and HS256-with-the-public-key confusion.
      algorithms: ["RS256"],
      issuer: [...options.issuers],
      audience: [...options.audiences],
      clockTolerance: options.clockSkewSeconds,
      requiredClaims: ["exp", "sub", "email"],
      // Requires a numeric `iat` and refuses one in the future beyond the tolerance. With the
      // lifetime rule below, no token that has not expired can be older than this anyway.
      maxTokenAge: MAX_LIFETIME_SECONDS,
    }));
  } catch (error) {
    throw asTokenError(error);
  }
  return googleRules(payload);
}

/**
 * The identity named by a token Cloud Run has verified and forwarded with its signature
 * removed. Nothing is checked but that it decodes: the front end did the checking.
 */
export function forwardedIdentity(token: string): { email?: string; subject?: string } {
  checkLength(token);
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    throw new TokenError("token is not a JWT");
  }
  return {
    ...(typeof payload.email === "string" && { email: asciiLowerCase(payload.email) }),
    ...(typeof payload.sub === "string" && { subject: payload.sub }),
  };
}
