/**
 * One GET over Node's own HTTP stack with kept-alive connections.
 *
 * The client's hot path: measured on loopback, `http.get` with a keep-alive agent answers about
 * three times as many requests per second as the global `fetch`. It also never follows
 * redirects, which is exactly what the client needs (the token must not travel elsewhere).
 */
import http from "node:http";
import https from "node:https";

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Larger answers are cut off: the target's answers are small, and memory is not unlimited. */
export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
}

export type HttpGet = (
  headers: http.OutgoingHttpHeaders,
  signal: AbortSignal,
) => Promise<HttpAnswer>;

/** A GET function bound to one URL, with its own pool of kept-alive connections. */
export function httpGetter(url: URL): HttpGet {
  const secure = url.protocol === "https:";
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const request = secure ? https.request : http.request;

  return (headers, signal) =>
    new Promise((resolve, reject) => {
      const outgoing = request(url, { method: "GET", agent, headers, signal }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            response.destroy(new BodyTooLargeError(`answer larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      });
      outgoing.on("error", reject);
      outgoing.end();
    });
}
