/**
 * The seed's pattern, kept as the benchmark's point of comparison: a metadata-server round trip
 * for every request, with nothing cached, the token sent where TOKEN_HEADER says. The app, the
 * token fetch (`googleIdTokenFetcher`, which asks the metadata server on every call), the token's
 * headers and the connection pool are the shipped client's, so the difference measured is the
 * token strategy alone.
 */
import { createClientApp } from "../services/client-service/app";
import { readClientConfig } from "../services/client-service/config";
import { googleIdTokenFetcher } from "../services/client-service/googleIdTokens";
import { tokenHeaders } from "../services/client-service/targetCaller";
import { runService } from "../services/shared/main";
import { baselineCall } from "./baselineCall";

void runService({
  name: "seed-pattern-client",
  readConfig: readClientConfig,
  createApp: (config, logger) => {
    const fetchToken = googleIdTokenFetcher(config.audience);
    return createClientApp({
      logger,
      projectId: config.projectId,
      callTarget: baselineCall(config, async () =>
        tokenHeaders(config.tokenHeader, await fetchToken()),
      ),
    });
  },
});
