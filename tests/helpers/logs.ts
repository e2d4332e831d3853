/** A logger whose lines are kept in memory, so tests can read what a service logged. */
import { createLogger, type Logger } from "../../services/shared/logger";

export interface CapturedLogs {
  logger: Logger;
  /** Everything logged so far, one JSON document per line. */
  text(): string;
  entries(): Array<Record<string, unknown>>;
}

export function captureLogs(service = "test"): CapturedLogs {
  const lines: string[] = [];
  const logger = createLogger({
    service,
    destination: { write: (line: string) => void lines.push(line) },
  });
  // Everything, as a service started with LOG_LEVEL=debug logs it.
  logger.level = "debug";
  return {
    logger,
    text: () => lines.join(""),
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
