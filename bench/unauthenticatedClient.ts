/**
 * The benchmark's unauthenticated baseline client: the client's own app and call, with no
 * credential at all. No token is fetched and none is sent; everything else (the connection
 * pool, the timeout, the trace context, the answer's shape) is the client's own code, so the
 * difference measured is authentication alone. Bundled for the benchmark only: no image ships
 * it, and the shipped client always authenticates.
 */
import { createClientApp } from "../services/client-service/app";
import { readClientConfig } from "../services/client-service/config";
import { targetCall } from "../services/client-service/targetCaller";
import { runService } from "../services/shared/main";

void runService({
  name: "unauthenticated-client",
  readConfig: readClientConfig,
  createApp: (config, logger) =>
    createClientApp({
      logger,
      projectId: config.projectId,
      callTarget: targetCall(config, async (send) => ({
        answer: await send({}),
        retriedWithFreshToken: false,
        sentTokens: [],
      })),
    }),
});
