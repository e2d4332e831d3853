/**
 * The entry-point routine both services share: read configuration once, build the app, listen
 * on $PORT, and drain on SIGTERM or SIGINT. A configuration error or a busy port ends the
 * process at start with one log line that says what to fix.
 */
import type { Express } from "express";
import { ConfigError, EnvReader } from "./env";
import { listen } from "./lifecycle";
import { createLogger, type Logger } from "./logger";

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

export interface ServiceDefinition<Config> {
  name: string;
  /** Reads and validates the environment; throws ConfigError naming the variable. */
  readConfig(env: EnvReader): Config & { port: number };
  /** Builds the app from validated configuration; never listens. */
  createApp(config: Config, logger: Logger): Express;
  /** What the start-up line should say about the configuration (never secrets). */
  describe?(config: Config): Record<string, unknown>;
}

export async function runService<Config>(definition: ServiceDefinition<Config>): Promise<void> {
  const env = new EnvReader(process.env);
  const logger = createLogger(definition.name);

  let config: Config & { port: number };
  try {
    logger.level = env.oneOf("LOG_LEVEL", LOG_LEVELS, "info");
    config = definition.readConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.fatal(`${definition.name} cannot start: ${error.message}`);
    process.exit(1);
  }

  const app = definition.createApp(config, logger);
  // Cloud Run needs all interfaces; the local stack passes HOST=127.0.0.1 to stay on loopback.
  const host = env.optional("HOST") ?? "0.0.0.0";
  const running = await listen(app, config.port, host).catch((error: NodeJS.ErrnoException) => {
    const reason =
      error.code === "EADDRINUSE" ? `PORT ${config.port} is already in use` : error.message;
    logger.fatal(`${definition.name} cannot start: ${reason}`);
    process.exit(1);
  });

  // Written whatever LOG_LEVEL says: process managers and the local stack wait for this line.
  logger
    .child({}, { level: "info" })
    .info(
      { port: running.port, ...definition.describe?.(config) },
      `${definition.name} listening on port ${running.port}`,
    );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: finishing in-flight requests`);
    void running.drain().then(() => {
      logger.info(`${definition.name} stopped`);
      process.exit(0);
    });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
