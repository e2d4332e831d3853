/**
 * The client service: `GET /` calls the target with the client's identity and reports what
 * the target said and how long it took. Built from injected dependencies; never listens.
 */
import type { Express } from "express";
import { createServiceApp, getOnly, requestLog, requestTrace, sendError } from "../shared/httpApp";
import type { Logger } from "../shared/logger";
import type { ClientConfig } from "./config";
import { type CallTarget, createTargetCaller, TargetCallError } from "./targetCaller";

export interface ClientAppDependencies {
  logger: Logger;
  projectId?: string | undefined;
  callTarget: CallTarget;
}

export function createClientApp({ logger, projectId, callTarget }: ClientAppDependencies): Express {
  return createServiceApp({
    logger,
    projectId,
    routes: (app) => {
      getOnly(app, "/", async (_req, res) => {
        try {
          res.json(await callTarget(requestTrace(res)));
        } catch (error) {
          if (!(error instanceof TargetCallError)) throw error;
          requestLog(res).warn({ code: error.code, reason: error.reason }, error.message);
          sendError(res, error.status, error.code, error.message, {
            ...(error.hint !== undefined && { hint: error.hint }),
            ...(error.targetStatus !== undefined && { targetStatus: error.targetStatus }),
          });
        }
      });
    },
  });
}

/**
 * The app as the configuration describes it, with ID tokens from the metadata server: what
 * server.ts runs and what tests start.
 */
export function clientAppFromConfig(config: ClientConfig, logger: Logger): Express {
  return createClientApp({
    logger,
    projectId: config.projectId,
    callTarget: createTargetCaller(config, logger),
  });
}
