/**
 * The target service: answers `GET /` with the identity of the caller it saw.
 * Built from injected dependencies; it never listens (see server.ts).
 */
import type { Express, Response } from "express";
import { createServiceApp, getOnly, sendError } from "../shared/httpApp";
import type { Logger } from "../shared/logger";
import { headerSafe } from "../shared/text";
import { AuthError, type Authenticator, authenticatorFromConfig } from "./auth";
import type { TargetAuthMode } from "../wiring";
import type { TargetConfig } from "./config";

export interface TargetAppDependencies {
  logger: Logger;
  projectId?: string | undefined;
  /** How callers are authenticated, as the answer reports it: the AUTH_MODE in production. */
  authMode: TargetAuthMode;
  authenticate: Authenticator;
}

function sendAuthError(res: Response, error: AuthError): void {
  if (error.status === 401) {
    // RFC 6750: a request without credentials gets a bare challenge, a bad token says so.
    res.set(
      "WWW-Authenticate",
      error.code === "missing_token"
        ? 'Bearer realm="target"'
        : `Bearer realm="target", error="invalid_token", error_description="${headerSafe(error.message).replaceAll('"', "'")}"`,
    );
  }
  if (error.status === 503) res.set("Retry-After", "5");
  sendError(res, error.status, error.code, error.message);
}

export function createTargetApp({
  logger,
  projectId,
  authMode,
  authenticate,
}: TargetAppDependencies): Express {
  return createServiceApp({
    logger,
    projectId,
    routes: (app) => {
      getOnly(app, "/", async (req, res) => {
        let caller;
        try {
          caller = await authenticate(req.headers);
        } catch (error) {
          if (!(error instanceof AuthError)) throw error;
          sendAuthError(res, error);
          return;
        }
        res.json({ message: "Hello from the target", caller, authMode });
      });
    },
  });
}

/** The app as the configuration describes it: what server.ts runs and what tests start. */
export function targetAppFromConfig(config: TargetConfig, logger: Logger): Express {
  return createTargetApp({
    logger,
    projectId: config.projectId,
    authMode: config.authMode,
    authenticate: authenticatorFromConfig(config, logger),
  });
}
