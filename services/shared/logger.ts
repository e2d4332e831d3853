/**
 * JSON logs in the shape Cloud Logging reads from a container's stdout: `severity`, `message`,
 * `time`, and the trace fields. Headers are never logged; the redaction list is a second line
 * of defence for anything that carries a credential by mistake.
 */
import pino, { type Logger, type LoggerOptions } from "pino";
import { TOKEN_HEADERS } from "./tokenHeaders";

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
  ...TOKEN_HEADERS.flatMap((header) => [
    `headers[${JSON.stringify(header)}]`,
    `req.headers[${JSON.stringify(header)}]`,
  ]),
];

/** The shape of every line a service named `service` logs, wherever the lines go. */
export function logFormat(service: string): LoggerOptions {
  return {
    messageKey: "message",
    base: { service },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: {
      level: (label) => ({ severity: SEVERITY[label] ?? "DEFAULT" }),
    },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  };
}

/** The service's logger: lines in logFormat, written to stdout as they are logged. */
export function createLogger(service: string): Logger {
  return pino(logFormat(service), pino.destination({ dest: 1, sync: true }));
}
