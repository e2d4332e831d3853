/**
 * The pattern most tutorials show, kept only as the benchmark's point of comparison: a new
 * ID-token client for every request, so every request waits for a metadata-server round trip.
 * Everything else is the real client, so the difference measured is the token strategy alone.
 */
import { GoogleAuth } from "google-auth-library";
import { createClientApp } from "../services/client/app";
import { readClientConfig } from "../services/client/config";
import type { TokenSource } from "../services/client/idTokenCache";
import { createTargetCaller } from "../services/client/targetCaller";
import { runService } from "../services/shared/main";

function tokenPerRequest(audience: string): TokenSource {
  const auth = new GoogleAuth();
  return {
    get: async () => {
      const client = await auth.getIdTokenClient(audience);
      return client.idTokenProvider.fetchIdToken(audience);
    },
    invalidate: () => undefined,
  };
}

void runService({
  name: "naive-client",
  readConfig: readClientConfig,
  createApp: (config, logger) =>
    createClientApp({
      logger,
      projectId: config.projectId,
      callTarget: createTargetCaller({ ...config, tokens: tokenPerRequest(config.audience) }),
    }),
});
