/**
 * The target call of the benchmark's baseline clients (no authentication, and the seed's token
 * on every request): the client's own connection pool (`httpGetter`), one timer over the whole
 * call, the trace context passed on and the answer's body read (`parseBody`), as the shipped
 * client does them, with whatever headers the baseline adds. Nothing is retried, and any failure is one
 * error: under the benchmark's load every call is expected to succeed, and failures are counted.
 */
import type { OutgoingHttpHeaders } from "node:http";
import type { ClientConfig } from "../services/client-service/config";
import { httpGetter } from "../services/client-service/httpGet";
import {
  type CallTarget,
  parseBody,
  TargetCallError,
} from "../services/client-service/targetCaller";
import { childTraceparent } from "../services/shared/trace";

export function baselineCall(
  config: ClientConfig,
  credentials: () => Promise<OutgoingHttpHeaders>,
): CallTarget {
  const get = httpGetter(config.targetUrl);
  return async (trace) => {
    const started = performance.now();
    // Cleared when the call ends, as the shipped client's is: a timer left behind per call
    // would cost memory and collector time that the comparison would then measure.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), config.timeoutMs);
    try {
      const headers = { ...(await credentials()), traceparent: childTraceparent(trace) };
      const answer = await get({ ...headers, accept: "application/json" }, controller.signal);
      return {
        target: {
          url: config.targetUrl.href,
          status: answer.status,
          body: parseBody(answer),
        },
        latencyMs: Math.round((performance.now() - started) * 100) / 100,
        retriedWithFreshToken: false,
      };
    } catch (error) {
      throw new TargetCallError(502, "target_error", "The call failed", undefined, String(error));
    } finally {
      clearTimeout(timer);
    }
  };
}
