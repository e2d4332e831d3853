import http from "node:http";
import net from "node:net";
import { randomBytes } from "node:crypto";
import { runLoad } from "../../bench/load";
import { type LocalStack, startLocalStack } from "../../local/stack";

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ basePort: 0 });
});
afterAll(() => stack.stop());

/** The places hostile input can arrive: both services directly, and the target's front end. */
const ENDPOINTS: Array<[string, () => string]> = [
  ["the client", () => stack.services.client!.url],
  ["the target", () => stack.services.target!.process.url],
  ["the target's front end", () => stack.services.target!.url],
];

/** Sends raw bytes and returns the status code of the answer. */
function rawStatus(url: string, request: string): Promise<number> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), "127.0.0.1", () => socket.write(request));
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk.toString()));
    socket.on("close", () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (match) resolve(Number(match[1]));
      else reject(new Error(`no HTTP answer: ${JSON.stringify(answer.slice(0, 80))}`));
    });
    socket.on("error", reject);
    socket.setTimeout(5000, () => socket.destroy());
  });
}

/** GET with arbitrary headers over Node's http client, which lets huge headers through. */
function statusWithHeaders(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("error", reject);
  });
}

async function stillServing(): Promise<void> {
  for (const [, url] of ENDPOINTS.slice(0, 2)) {
    expect((await fetch(`${url()}/health`)).status).toBe(200);
  }
  expect((await fetch(stack.services.client!.url)).status).toBe(200);
}

afterEach(stillServing);

describe.each(ENDPOINTS)("hostile input to %s", (_name, url) => {
  it("answers oversized headers with 431", async () => {
    expect(await statusWithHeaders(url(), { "x-padding": "a".repeat(64 * 1024) })).toBe(431);
  });

  it("answers a 1 MB bearer token with 431", async () => {
    const token = randomBytes(768 * 1024).toString("base64url");
    expect(await statusWithHeaders(url(), { authorization: `Bearer ${token}` })).toBe(431);
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
    expect(await hammer(stack.services.target!.url)).toEqual({ 401: 2000 });
  });

  it("all get 401 from the target itself, but the one naming nobody, refused with 403", async () => {
    expect(await hammer(stack.services.target!.process.url)).toEqual({ 401: 1500, 403: 500 });
  });
});
