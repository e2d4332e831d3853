/**
 * JSON logs in the shape Cloud Logging reads from a container's stdout: `severity`, `message`,
 * `time`, and the trace fields. Headers are never logged; the redaction list is a second line
 * of defence for anything that carries a credential by mistake.
 */
import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

const SEVERITY: Record<string, string> = {
  trace: "DEBUG",
  debug: "DEBUG",
  info: "INFO",
  warn: "WARNING",
  error: "ERROR",
  fatal: "CRITICAL",
};

/** Field paths that could hold a credential; their values are replaced before writing. */
const REDACTED_PATHS = [
  "token",
  "idToken",
  "authorization",
  "headers.authorization",
  'headers["x-serverless-authorization"]',
  "req.headers.authorization",
  'req.headers["x-serverless-authorization"]',
];

export interface LoggerOptions {
  service: string;
  /** Where lines go; stdout unless a test captures them. */
  destination?: DestinationStream;
}

export function createLogger({ service, destination }: LoggerOptions): Logger {
  return pino(
    {
      messageKey: "message",
      base: { service },
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: {
        level: (label) => ({ severity: SEVERITY[label] ?? "DEFAULT" }),
      },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
