/**
 * Listening and graceful shutdown.
 *
 * Cloud Run sends SIGTERM and kills the container 10 seconds later. On the signal the server
 * stops accepting connections, lets requests already in flight finish, closes keep-alive
 * connections as soon as they fall idle, and gives up on stragglers before Cloud Run would.
 */
import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Express } from "express";

export interface RunningServer {
  server: Server;
  port: number;
  /** Base URL on loopback, for tests and local tools. */
  url: string;
  /** Stops accepting, waits for in-flight requests (at most `deadlineMs`), then resolves. */
  drain(deadlineMs?: number): Promise<void>;
}

/**
 * How long a caller keeps an idle kept-alive connection: less than the 5 s after which a Node
 * server (as both services are) closes one. A caller that closes first never writes a request
 * into a connection the server is closing at that moment.
 */
export const IDLE_CONNECTION_TIMEOUT_MS = 4_000;

/** Comfortably inside Cloud Run's 10 s between SIGTERM and SIGKILL. */
export const DEFAULT_DRAIN_DEADLINE_MS = 8000;

export function listen(app: Express, port: number, host: string): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    let draining = false;

    // Node hands CONNECT to a separate event and drops the connection if nobody listens;
    // answer it like any other unsupported method instead.
    server.on("connect", (_req, socket: Socket) => {
      socket.end(
        "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n\r\n",
      );
    });

    // Before the app sees the request, which may answer it at once: a request that arrives on
    // a kept-alive connection while draining is still served, but its connection closes after.
    server.prependListener("request", (_req, res) => {
      if (draining) res.setHeader("Connection", "close");
    });

    const drain = (deadlineMs = DEFAULT_DRAIN_DEADLINE_MS): Promise<void> =>
      new Promise((done) => {
        draining = true;
        const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs);
        deadline.unref();
        // Responses finishing from now on leave idle keep-alive connections behind; close them
        // promptly so `close` does not wait for the keep-alive timeout.
        const closeIdle = setInterval(() => server.closeIdleConnections(), 50);
        closeIdle.unref();
        server.close(() => {
          clearTimeout(deadline);
          clearInterval(closeIdle);
          done();
        });
      });

    server.once("error", reject);
    server.once("listening", () => {
      server.off("error", reject);
      const { port: bound } = server.address() as AddressInfo;
      resolve({ server, port: bound, url: `http://127.0.0.1:${bound}`, drain });
    });
  });
}
