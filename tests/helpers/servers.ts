/** Real HTTP servers on loopback for tests, closed together when the file's tests end. */
import express, { type Express, type Request, type RequestHandler } from "express";
import { listen, type RunningServer } from "../../services/shared/lifecycle";

export interface StubCounters {
  hits: () => number;
  waitForHits: (count: number) => Promise<void>;
}

export class TestServers {
  private readonly running: RunningServer[] = [];
  private readonly stoppers: Array<() => Promise<void>> = [];

  /** Stops something else with the servers, e.g. a stand-in that listens by itself. */
  adopt(stop: () => Promise<void>): void {
    this.stoppers.push(stop);
  }

  async serve(app: Express): Promise<RunningServer> {
    const server = await listen(app, 0, "127.0.0.1");
    this.running.push(server);
    return server;
  }

  /**
   * A server whose every request goes to `handler`, counting the requests it saw;
   * `waitForHits(n)` resolves once the n-th has arrived, so a test waits for the event itself.
   */
  async stub(handler: RequestHandler): Promise<RunningServer & StubCounters> {
    let hits = 0;
    const waiting: Array<{ count: number; arrived: () => void }> = [];
    const app = express();
    app.use((req, res, next) => {
      hits += 1;
      for (const waiter of waiting.filter(({ count }) => count <= hits)) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.arrived();
      }
      handler(req, res, next);
    });
    const server = await this.serve(app);
    const waitForHits = (count: number) =>
      count <= hits
        ? Promise.resolve()
        : new Promise<void>((arrived) => waiting.push({ count, arrived }));
    return Object.assign(server, { hits: () => hits, waitForHits });
  }

  /** A stub that answers every request with `{}` and keeps the requests, in the order they came. */
  async recorder(): Promise<RunningServer & StubCounters & { seen: Request[] }> {
    const seen: Request[] = [];
    const server = await this.stub((req, res) => {
      seen.push(req);
      res.json({});
    });
    return Object.assign(server, { seen });
  }

  async closeAll(): Promise<void> {
    await Promise.all([
      ...this.running.splice(0).map((server) => server.drain(100)),
      ...this.stoppers.splice(0).map((stop) => stop()),
    ]);
  }
}

/** A loopback URL on which nothing listens: bind a port, then release it. */
export async function closedPortUrl(): Promise<string> {
  const servers = new TestServers();
  const { url } = await servers.serve(express());
  await servers.closeAll();
  return url;
}
