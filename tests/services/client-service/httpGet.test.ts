import { once } from "node:events";
import http from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";
import { MAX_CONNECTIONS, httpGetter } from "../../../services/client-service/httpGet";
import { IDLE_CONNECTION_TIMEOUT_MS } from "../../../services/shared/lifecycle";

/** A plain Node server whose handler also sees how many requests came on the same connection. */
interface Server {
  url: URL;
  requests: number;
  connections: Socket[];
}

const started: http.Server[] = [];

async function serve(
  handle: (req: http.IncomingMessage, res: http.ServerResponse, onConnection: number) => void,
  configure: (server: http.Server) => void = () => undefined,
): Promise<Server> {
  const perSocket = new WeakMap<Socket, number>();
  const state: Server = { url: new URL("http://127.0.0.1"), requests: 0, connections: [] };
  const server = http.createServer((req, res) => {
    state.requests += 1;
    const count = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, count);
    handle(req, res, count);
  });
  server.on("connection", (socket) => state.connections.push(socket));
  configure(server);
  started.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  state.url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return state;
}

afterEach(async () => {
  await Promise.all(
    started.splice(0).map((server) => {
      const closed = once(server, "close");
      server.close();
      server.closeAllConnections();
      return closed;
    }),
  );
});

const signal = () => AbortSignal.timeout(5000);

describe("a GET on kept-alive connections", () => {
  it("is sent once more, on a new connection, when a reused connection is reset before any answer", async () => {
    // The first request on each connection is answered; any later one resets the connection,
    // as a server closing an idle connection just as a request arrives would.
    const server = await serve((req, res, onConnection) => {
      if (onConnection > 1) req.socket.destroy();
      else res.end("ok");
    });
    const get = httpGetter(server.url);
    expect((await get({}, signal())).status).toBe(200);
    const answer = await get({}, signal());
    expect(answer).toMatchObject({ status: 200, body: "ok" });
    expect(server.requests).toBe(3);
    expect(server.connections).toHaveLength(2);
  });

  it("is not sent again when a brand-new connection is reset", async () => {
    const server = await serve((req) => req.socket.destroy());
    const get = httpGetter(server.url);
    await expect(get({}, signal())).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(server.requests).toBe(1);
  });

  it("is sent at most twice, even when several kept-alive connections turn out stale", async () => {
    let resetting = false;
    const server = await serve((req, res, onConnection) => {
      if (resetting && onConnection > 1) req.socket.destroy();
      else res.end("ok");
    });
    const get = httpGetter(server.url);
    // Three requests at once leave three kept-alive connections idle in the pool.
    await Promise.all([1, 2, 3].map(() => get({}, signal())));
    expect(server.connections).toHaveLength(3);
    resetting = true;
    const before = server.requests;
    await expect(get({}, signal())).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(server.requests - before).toBe(2);
  });

  it(
    "closes an idle connection itself, even when the server never times it out",
    async () => {
      const server = await serve(
        (_req, res) => res.end("ok"),
        (plain) => {
          // No idle timeout and no Keep-Alive hint from the server.
          plain.keepAliveTimeout = 0;
        },
      );
      const get = httpGetter(server.url);
      const answer = await get({}, signal());
      expect(answer.headers["keep-alive"]).toBeUndefined();
      // The client's own idle timeout (4 s) is what closes it: the server never would.
      await once(server.connections[0]!, "close");
    },
    IDLE_CONNECTION_TIMEOUT_MS + 5000,
  );

  it("closes idle connections sooner than a Node server's default keep-alive timeout would", () => {
    expect(IDLE_CONNECTION_TIMEOUT_MS).toBeLessThan(http.createServer().keepAliveTimeout);
  });
});

describe("a GET to an https URL", () => {
  it("is sent over TLS, the first call loading what TLS needs", async () => {
    // A bare TCP server that records the first bytes it receives and hangs up: a TLS client
    // opens with a handshake record (0x16), never with the text of an HTTP request.
    const firstBytes: Buffer[] = [];
    const server = net.createServer((socket) => {
      socket.once("data", (chunk: Buffer) => {
        firstBytes.push(chunk);
        socket.destroy();
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const { port } = server.address() as AddressInfo;
      const get = httpGetter(new URL(`https://127.0.0.1:${port}/`));
      await expect(get({}, signal())).rejects.toThrow();
      expect(firstBytes).toHaveLength(1);
      expect(firstBytes[0]![0]).toBe(0x16);
    } finally {
      server.close();
    }
  });
});

describe("the connections to the target", () => {
  it(`are at most ${MAX_CONNECTIONS} at once; further calls wait for one and are all answered`, async () => {
    let open = 0;
    let mostOpen = 0;
    const server = await serve(
      (_req, res) => setTimeout(() => res.end("ok"), 20),
      (created) =>
        created.on("connection", (socket: Socket) => {
          open += 1;
          mostOpen = Math.max(mostOpen, open);
          socket.on("close", () => (open -= 1));
        }),
    );
    const get = httpGetter(server.url);
    const calls = MAX_CONNECTIONS * 2 + 10;
    const answers = await Promise.all(Array.from({ length: calls }, () => get({}, signal())));
    expect(answers.map((answer) => answer.status)).toEqual(Array(calls).fill(200));
    expect(mostOpen).toBe(MAX_CONNECTIONS);
  });
});

describe("a GET whose answer has begun", () => {
  it("is not sent again when a reused connection is reset in the middle of the answer", async () => {
    // The first request on each connection is answered; a later one gets its head and part of
    // its body, then the connection is reset (a TCP RST, which Node reports as ECONNRESET).
    const server = await serve((req, res, onConnection) => {
      if (onConnection === 1) {
        res.end("ok");
        return;
      }
      res.writeHead(200, { "content-length": "100" });
      res.write("partial", () => req.socket.resetAndDestroy());
    });
    const get = httpGetter(server.url);
    expect((await get({}, signal())).status).toBe(200);
    await expect(get({}, signal())).rejects.toThrow();
    expect(server.requests).toBe(2);
  });
});

describe("the size of an answer", () => {
  const answerOf = (bytes: number) =>
    serve((_req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end(Buffer.alloc(bytes, "a"));
    });

  it("may be 1 MiB (1 048 576 bytes)", async () => {
    const server = await answerOf(1_048_576);
    const answer = await httpGetter(server.url)({}, signal());
    expect(answer.body).toHaveLength(1_048_576);
  });

  it("is refused at 1 048 577 bytes, one byte over 1 MiB", async () => {
    const server = await answerOf(1_048_577);
    await expect(httpGetter(server.url)({}, signal())).rejects.toThrow(
      "answer larger than 1048576 bytes",
    );
  });
});
