/**
 * google-auth-library's documented pattern, as the benchmark's point of comparison: one
 * ID-token client for the audience, created once with `getIdTokenClient(audience)`, and
 * `client.request()` for every call, which adds the cached token (fetching a new one when it is
 * missing or close to expiry) and sends the request through the library's own HTTP stack. The
 * app around it is the project's client app, so the difference measured is the token handling
 * and the HTTP call.
 */
import { GoogleAuth, type IdTokenClient } from "google-auth-library";
import { createClientApp } from "../services/client-service/app";
import { type ClientConfig, readClientConfig } from "../services/client-service/config";
import { type CallTarget, TargetCallError } from "../services/client-service/targetCaller";
import { runService } from "../services/shared/main";
import { childTraceparent } from "../services/shared/trace";

function documentedPattern(config: ClientConfig): CallTarget {
  let client: Promise<IdTokenClient> | undefined;
  return async (trace) => {
    const started = performance.now();
    client ??= new GoogleAuth().getIdTokenClient(config.audience);
    try {
      const response = await (
        await client
      ).request({
        url: config.targetUrl.href,
        headers: { traceparent: childTraceparent(trace), accept: "application/json" },
        timeout: config.timeoutMs,
      });
      return {
        target: { url: config.targetUrl.href, status: response.status, body: response.data },
        latencyMs: Math.round((performance.now() - started) * 100) / 100,
        retriedWithFreshToken: false,
      };
    } catch (error) {
      throw new TargetCallError(502, "target_error", "The call failed", undefined, String(error));
    }
  };
}

void runService({
  name: "documented-pattern-client",
  readConfig: readClientConfig,
  createApp: (config, logger) =>
    createClientApp({ logger, projectId: config.projectId, callTarget: documentedPattern(config) }),
});
