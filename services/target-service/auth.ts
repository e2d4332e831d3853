/**
 * How the target decides who is calling, one authenticator per AUTH_MODE.
 *
 * Each turns request headers into a Caller or an AuthError whose message is safe to send back:
 * it says what is wrong and never repeats the token.
 */
import type { IncomingHttpHeaders } from "node:http";
import { AnswerError } from "../shared/answerError";
import { type BearerCredential, bearerFromHeader, bearerFromHeaders } from "../shared/bearer";
import { forwardedIdentity, TokenError } from "./verification/idToken";
import type { Logger } from "../shared/logger";
import { KeysUnavailableError, remoteKeySet } from "./verification/remoteKeySet";
import { cachingVerifier } from "./verification/verifiedTokens";
import type { TargetConfig, VerifySettings } from "./config";

export interface Caller {
  email: string | undefined;
  subject: string | undefined;
}

export class AuthError extends AnswerError<401 | 403 | 503> {
  override readonly name = "AuthError";
}

export type Authenticator = (headers: IncomingHttpHeaders) => Promise<Caller>;

function invalid(message: string): AuthError {
  return new AuthError(401, "invalid_token", message);
}

/** The bearer token, or a 401 saying why there is none. */
function requireToken(credential: BearerCredential): string {
  if (credential.kind === "missing") {
    throw new AuthError(401, "missing_token", "This service requires a Google-signed ID token");
  }
  if (credential.kind === "malformed") throw invalid(credential.reason);
  return credential.token;
}

/**
 * Defence in depth on top of IAM: Owners and Editors hold run.invoker too. The e-mail must equal
 * an allowed one exactly (both are lower-cased); no prefix, suffix or substring matches.
 */
function enforceAllowList(caller: Caller, allowedInvokers: readonly string[]): Caller {
  if (caller.email === undefined || !allowedInvokers.includes(caller.email)) {
    throw new AuthError(
      403,
      "caller_not_allowed",
      `${caller.email ?? "A caller without an e-mail"} is not allowed to invoke this service`,
    );
  }
  return caller;
}

/**
 * Cloud Run's front end has already verified the token and the invoker role; it forwards the
 * token with the signature removed, so all that is left is to read who the caller is.
 */
export function cloudRunAuthenticator(allowedInvokers: readonly string[]): Authenticator {
  return async (headers) => {
    const token = requireToken(bearerFromHeaders(headers));
    let caller: Caller;
    try {
      const { email, subject } = forwardedIdentity(token);
      caller = { email, subject };
    } catch (error) {
      if (error instanceof TokenError) throw invalid(error.message);
      throw error;
    }
    return enforceAllowList(caller, allowedInvokers);
  };
}

/**
 * The target checks every token itself, whatever stands in front of it. The token is read from
 * `Authorization` only: Cloud Run verifies `X-Serverless-Authorization` when it is present,
 * removes its signature and passes `Authorization` to the container untouched, so that is the
 * header that still carries a signature to check. A stripped, unsigned or foreign token there
 * is refused, even if Cloud Run's invoker check was turned off.
 */
export function verifyingAuthenticator(
  settings: VerifySettings,
  allowedInvokers: readonly string[],
  logger: Logger,
): Authenticator {
  const verify = cachingVerifier({
    ...settings,
    keys: remoteKeySet({ url: settings.jwksUrl, logger }),
  });
  return async (headers) => {
    const token = requireToken(bearerFromHeader(headers, "authorization"));
    try {
      const { email, subject } = await verify(token);
      return enforceAllowList({ email, subject }, allowedInvokers);
    } catch (error) {
      if (error instanceof TokenError) throw invalid(error.message);
      if (error instanceof KeysUnavailableError) {
        throw new AuthError(
          503,
          "keys_unavailable",
          "Signing keys are unavailable; try again shortly",
        );
      }
      throw error;
    }
  };
}

/** The authenticator the configuration asks for. */
export function authenticatorFromConfig(config: TargetConfig, logger: Logger): Authenticator {
  return config.authMode === "verify"
    ? verifyingAuthenticator(config.verify, config.allowedInvokers, logger)
    : cloudRunAuthenticator(config.allowedInvokers);
}
