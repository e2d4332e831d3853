/**
 * The Express skeleton both services share: per-request trace context and logger, one access
 * log line per request in Cloud Logging's `httpRequest` shape, `GET /health`, JSON answers for
 * unknown routes and unsupported methods, and an error handler that never leaks internals.
 */
import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from "express";
import { HEALTH_PATH } from "../wiring";
import type { Logger } from "./logger";
import { type TraceContext, traceFromHeaders, traceLogFields } from "./trace";

export interface ServiceAppOptions {
  logger: Logger;
  /** Project id for Cloud Logging's trace field; omitted locally if unknown. */
  projectId?: string | undefined;
  /** Registers the service's own routes. */
  routes: (app: Express) => void;
}

interface RequestContext {
  log: Logger;
  trace: TraceContext;
}

const MAX_LOGGED_URL_LENGTH = 200;

/** The logger bound to this request's trace. */
export function requestLog(res: Response): Logger {
  return (res.locals as RequestContext).log;
}

/** The trace context this request arrived with. */
export function requestTrace(res: Response): TraceContext {
  return (res.locals as RequestContext).trace;
}

/** Every error answer has the same JSON shape: a stable code, a sentence, optional details. */
export function sendError(
  res: Response,
  status: number,
  error: string,
  message: string,
  details: Record<string, unknown> = {},
): void {
  res.status(status).json({ error, message, ...details });
}

/** Serves GET (and HEAD) on a path and answers 405 with `Allow` for any other method. */
export function getOnly(app: Express, path: string, handler: RequestHandler): void {
  app.get(path, handler);
  app.all(path, (req, res) => {
    res.set("Allow", "GET, HEAD");
    sendError(res, 405, "method_not_allowed", `${req.method} is not supported here; use GET`);
  });
}

function requestContext(logger: Logger, projectId: string | undefined): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const trace = traceFromHeaders(req.headers);
    // The request's logger is made when something is logged, not for every request: most
    // requests log nothing at the default level (probes) or at warn, and a pino child costs
    // its bindings' serialisation and garbage that, under load, raises the services' memory.
    let log: Logger | undefined;
    const traceLog = () => (log ??= logger.child(traceLogFields(trace, projectId)));
    res.locals.trace = trace;
    Object.defineProperty(res.locals, "log", { get: traceLog, enumerable: true });
    res.on("finish", () => {
      // Probes hit /health every few seconds; keep them out of the default log level.
      const level = req.path === HEALTH_PATH && res.statusCode === 200 ? "debug" : "info";
      if (!logger.isLevelEnabled(level)) return;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      traceLog()[level](
        {
          httpRequest: {
            requestMethod: req.method,
            requestUrl: req.originalUrl.slice(0, MAX_LOGGED_URL_LENGTH),
            status: res.statusCode,
            latency: `${seconds.toFixed(6)}s`,
            userAgent: req.get("user-agent")?.slice(0, MAX_LOGGED_URL_LENGTH),
          },
        },
        `${req.method} ${req.path.slice(0, MAX_LOGGED_URL_LENGTH)} ${res.statusCode}`,
      );
    });
    next();
  };
}

function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const candidate = typeof status === "number" ? status : statusCode;
  return typeof candidate === "number" && candidate >= 400 && candidate < 500
    ? candidate
    : undefined;
}

function handleError(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(error);
    return;
  }
  const status = clientErrorStatus(error);
  if (status !== undefined) {
    sendError(res, status, "bad_request", "The request could not be understood");
    return;
  }
  requestLog(res).error({ err: error }, "unhandled error while serving a request");
  sendError(res, 500, "internal_error", "The service failed to handle the request");
}

/**
 * An Express app that does not advertise itself (`X-Powered-By`) and sends no ETags: nothing
 * served here is cacheable, and a 304 would hide an answer from whoever checks it.
 */
export function hardenedExpress(): Express {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  return app;
}

export function createServiceApp({ logger, projectId, routes }: ServiceAppOptions): Express {
  const app = hardenedExpress();
  // Indented JSON: these answers are read by people running curl more than by programs.
  app.set("json spaces", 2);
  app.use(requestContext(logger, projectId));
  getOnly(app, HEALTH_PATH, (_req, res) => {
    res.json({ status: "ok" });
  });
  routes(app);
  app.use((req, res) => {
    sendError(res, 404, "not_found", `Nothing is served at ${req.path.slice(0, 100)}`);
  });
  app.use(handleError);
  return app;
}
