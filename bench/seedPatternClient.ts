/**
 * The seed's pattern, kept as the benchmark's point of comparison: a metadata-server round trip
 * for every request, with nothing cached. Everything else is the real client, so the
 * difference measured is the token strategy alone.
 */
import { createClientApp } from "../services/client-service/app";
import { readClientConfig } from "../services/client-service/config";
import { googleIdTokenFetcher } from "../services/client-service/googleIdTokens";
import { createTargetCaller } from "../services/client-service/targetCaller";
import { runService } from "../services/shared/main";

void runService({
  name: "seed-pattern-client",
  readConfig: readClientConfig,
  createApp: (config, logger) =>
    createClientApp({
      logger,
      projectId: config.projectId,
      callTarget: createTargetCaller({
        ...config,
        tokens: { get: googleIdTokenFetcher(config.audience), invalidate: () => undefined },
      }),
    }),
});
