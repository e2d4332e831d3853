/**
 * The benchmark's unauthenticated baseline client: the client's app around a call that fetches
 * no token and sends none (bench/baselineCall.ts), so the difference measured is authentication
 * alone. Bundled for the benchmark only: no image ships it, and the shipped client always
 * authenticates.
 */
import { createClientApp } from "../services/client-service/app";
import { readClientConfig } from "../services/client-service/config";
import { runService } from "../services/shared/main";
import { baselineCall } from "./baselineCall";

void runService({
  name: "unauthenticated-client",
  readConfig: readClientConfig,
  createApp: (config, logger) =>
    createClientApp({
      logger,
      projectId: config.projectId,
      callTarget: baselineCall(config, async () => ({})),
    }),
});
