/**
 * The benchmark's baseline: the target's own app with nothing checking who calls. It exists to
 * measure what authentication costs and is bundled for the benchmark only: no image ships it,
 * and the shipped target has no mode without authentication.
 */
import { runService } from "../services/shared/main";
import { createTargetApp } from "../services/target/app";

void runService({
  name: "unauthenticated-target",
  readConfig: (env) => ({ port: env.port() }),
  createApp: (_config, logger) =>
    createTargetApp({
      logger,
      authMode: "none (benchmark baseline)",
      authenticate: async () => ({ email: undefined, subject: undefined }),
    }),
});
