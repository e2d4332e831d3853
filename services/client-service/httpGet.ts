/**
 * One GET over Node's own HTTP stack with kept-alive connections.
 *
 * The client's hot path: `http.get` with a keep-alive agent answers many more requests per
 * second than the global `fetch` (docs/benchmarks.md has the figures). It also never follows
 * redirects, which is exactly what the client needs (the token must not travel elsewhere).
 *
 * Kept-alive connections race with the server closing them when idle: a request written to a
 * connection the server is just closing fails with ECONNRESET, although the server never saw it.
 * Two things keep that from reaching callers. Idle connections are closed here before a Node
 * server's default keep-alive timeout (5 s) would close them there; and a GET that fails that way
 * on a reused connection, before any answer, is sent once more on a new one. GET is idempotent,
 * so sending it again is safe.
 */
import http from "node:http";
import { IDLE_CONNECTION_TIMEOUT_MS } from "../shared/lifecycle";

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * At most this many connections to the target at once; further calls wait for one to be free.
 * Cloud Run sends an instance 80 requests at once by default, and one connection serves a call
 * in a few milliseconds. A bounded pool instead of one connection per request lowers both
 * services' peak memory under load and raises throughput (figures in docs/benchmarks.md).
 */
export const MAX_CONNECTIONS = 48;

/** Larger answers are cut off: the target's answers are small, and memory is not unlimited. */
export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
}

export type HttpGet = (
  headers: http.OutgoingHttpHeaders,
  signal: AbortSignal,
) => Promise<HttpAnswer>;

/** An HTTP or HTTPS agent, and the request function that goes with it. */
interface Transport {
  agent: http.Agent;
  request: typeof http.request;
}

/** A GET function bound to one URL, with its own pool of kept-alive connections. */
export function httpGetter(url: URL): HttpGet {
  const secure = url.protocol === "https:";
  const agentOptions = {
    keepAlive: true,
    // For a kept-alive agent this is how long a free socket may stay idle. An answer's
    // `Keep-Alive: timeout=N` shortens it further, but only when it is set.
    timeout: IDLE_CONNECTION_TIMEOUT_MS,
    maxSockets: MAX_CONNECTIONS,
  };
  // https, and with it TLS and its store of root certificates (about 5 MB resident), is loaded
  // by the first call rather than at start, where nothing needs it.
  let transport: Promise<Transport> | undefined;
  const connect = (): Promise<Transport> =>
    (transport ??= secure
      ? import("node:https").then((https) => ({
          agent: new https.Agent(agentOptions),
          request: https.request,
        }))
      : Promise.resolve({ agent: new http.Agent(agentOptions), request: http.request }));

  const attempt = async (
    headers: http.OutgoingHttpHeaders,
    signal: AbortSignal,
    mayRetry: boolean,
  ): Promise<HttpAnswer> => {
    const { agent, request } = await connect();
    return new Promise((resolve, reject) => {
      let answered = false;
      const outgoing = request(url, { method: "GET", agent, headers, signal }, (response) => {
        answered = true;
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
      outgoing.on("error", (error: NodeJS.ErrnoException) => {
        const staleConnection =
          error.code === "ECONNRESET" && outgoing.reusedSocket && !answered && !signal.aborted;
        if (mayRetry && staleConnection) resolve(attempt(headers, signal, false));
        else reject(error);
      });
      outgoing.end();
    });
  };

  return (headers, signal) => attempt(headers, signal, true);
}
