/**
 * The benchmark's baseline: a target on the same Express skeleton as the real one that answers
 * everyone. It exists to measure what authentication costs and is bundled for the benchmark
 * only: no image ships it, and the shipped target has no mode without authentication.
 */
import { createServiceApp, getOnly } from "../services/shared/httpApp";
import { runService } from "../services/shared/main";

void runService({
  name: "unauthenticated-target",
  readConfig: (env) => ({ port: env.port() }),
  createApp: (_config, logger) =>
    createServiceApp({
      logger,
      routes: (app) => {
        getOnly(app, "/", (_req, res) => {
          res.json({ message: "Hello from the target", caller: {}, authMode: "none" });
        });
      },
    }),
});
