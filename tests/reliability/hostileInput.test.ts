import net from "node:net";
import { randomBytes } from "node:crypto";
import { runLoad } from "../../bench/load";
import { sharedLocalStack } from "../helpers/localStack";

const stack = sharedLocalStack();

/** The places hostile input can arrive: both services directly, and the target's front end. */
const ENDPOINTS: Array<[string, () => string]> = [
  ["the client", () => stack().services.client!.url],
  ["the target", () => stack().services.target!.process.url],
  ["the target's front end", () => stack().services.target!.url],
];

/** The status of one exchange of raw bytes, or undefined when no answer arrived. */
function exchange(url: string, request: string): Promise<number | undefined> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), "127.0.0.1", () => socket.write(request));
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk.toString()));
    // A server may answer and close before reading all of a large request; writing the rest
    // then fails (EPIPE, ECONNRESET). That is the exchange ending, not the test failing.
    socket.on("error", () => undefined);
    socket.on("close", () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      resolve(match ? Number(match[1]) : undefined);
    });
    socket.setTimeout(5000, () => socket.destroy());
  });
}

/**
 * Sends raw bytes and returns the status code of the answer. A server that closes a connection
 * with part of the request unread resets it, and the reset can destroy the answer before the
 * client reads it (RFC 9112, section 9.6): an exchange that ends with no answer at all is
 * therefore tried again, up to five times. Any answer that does arrive is the result.
 */
async function rawStatus(url: string, request: string): Promise<number> {
  for (let attempt = 1; attempt <= 5; attempt += 1) {
    const status = await exchange(url, request);
    if (status !== undefined) return status;
  }
  throw new Error("five exchanges ended without an answer");
}

/** A GET carrying one header of the given value. */
function getWithHeader(name: string, value: string): string {
  return `GET / HTTP/1.1\r\nHost: x\r\n${name}: ${value}\r\nConnection: close\r\n\r\n`;
}

async function stillServing(): Promise<void> {
  for (const [, url] of ENDPOINTS.slice(0, 2)) {
    expect((await fetch(`${url()}/health`)).status).toBe(200);
  }
  expect((await fetch(stack().services.client!.url)).status).toBe(200);
}

afterEach(stillServing);

describe.each(ENDPOINTS)("hostile input to %s", (_name, url) => {
  it("answers oversized headers with 431", async () => {
    expect(await rawStatus(url(), getWithHeader("x-padding", "a".repeat(64 * 1024)))).toBe(431);
  });

  it("answers a 1 MB bearer token with 431", async () => {
    const token = randomBytes(768 * 1024).toString("base64url");
    expect(token.length).toBe(1024 * 1024);
    expect(await rawStatus(url(), getWithHeader("authorization", `Bearer ${token}`))).toBe(431);
  });

  it.each(["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"])(
    "answers the unsupported method %s with a 4xx",
    async (method) => {
      const target = method === "CONNECT" ? "127.0.0.1:443" : "/";
      const status = await rawStatus(
        url(),
        `${method} ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
    },
  );

  it.each([
    ["a broken percent-encoding", "/%E0%A4%A"],
    ["a control character", "/\u0001"],
    ["a path that is not a path", "*"],
    ["a doubled slash", "//evil.example/"],
    ["a NUL byte", "/%00"],
  ])("answers a malformed URL (%s) with a 4xx", async (_what, path) => {
    const status = await rawStatus(
      url(),
      `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
  });

  it("answers a malformed request line with 400", async () => {
    expect(await rawStatus(url(), "NOT HTTP AT ALL\r\n\r\n")).toBe(400);
  });
});

describe("thousands of garbage tokens", () => {
  const garbage = [
    "Bearer x.y.z",
    `Bearer ${randomBytes(600).toString("base64url")}`,
    "Bearer a.b.c.d",
    // Decodes to empty header and payload: not a Google token, and it names nobody.
    "Bearer e30.e30.e30",
  ];

  async function hammer(url: string): Promise<Record<number, number>> {
    const results = await Promise.all(
      garbage.map((authorization) =>
        runLoad({ url, concurrency: 25, requests: 500, headers: { authorization } }),
      ),
    );
    const statuses: Record<number, number> = {};
    for (const result of results) {
      expect(result.errors).toEqual({});
      for (const [status, count] of Object.entries(result.statuses)) {
        statuses[Number(status)] = (statuses[Number(status)] ?? 0) + count;
      }
    }
    return statuses;
  }

  it("all get 401 from the target's front end", async () => {
    expect(await hammer(stack().services.target!.url)).toEqual({ 401: 2000 });
  });

  it("all get 401 from the target itself, which verifies every token", async () => {
    expect(await hammer(stack().services.target!.process.url)).toEqual({ 401: 2000 });
  });
});
