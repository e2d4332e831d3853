/**
 * A logger whose lines are kept in memory, so tests can read what a service logged: the
 * services' own line format, written to an array instead of stdout.
 */
import pino from "pino";
import { type Logger, logFormat } from "../../services/shared/logger";

export interface CapturedLogs {
  logger: Logger;
  /** Everything logged so far, one JSON document per line. */
  text(): string;
  entries(): Array<Record<string, unknown>>;
}

export function captureLogs(service = "test"): CapturedLogs {
  const lines: string[] = [];
  const logger = pino(logFormat(service), { write: (line: string) => void lines.push(line) });
  // Everything, as a service started with LOG_LEVEL=debug logs it.
  logger.level = "debug";
  return {
    logger,
    text: () => lines.join(""),
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
