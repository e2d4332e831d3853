import http from "node:http";
import net from "node:net";
import type { Request } from "express";
import { type FrontEnd, startFrontEnd } from "../../local/frontEnd";
import { TokenIssuer } from "../../local/tokenIssuer";
import { CLIENT_EMAIL, startMetadata, type TestMetadata } from "../helpers/metadata";
import { emailNearMisses } from "../helpers/nearMisses";
import { closedPortUrl, TestServers } from "../helpers/servers";
import { fakeClockOnly } from "../helpers/clock";
import { tokenParts } from "../helpers/tokens";

const OUTSIDER = "outsider@demo-project.iam.gserviceaccount.com";

const servers = new TestServers();
let metadata: TestMetadata;
let frontEnd: FrontEnd;
let received: Request[];
let upstreamHits: () => number;
let upstreamPort: string;
/** Another origin on this machine, which nothing sent to the front end may ever reach. */
let elsewhere: Awaited<ReturnType<TestServers["stub"]>>;

/** Starts a front end that stops with the other servers. */
async function frontEndFor(options: Parameters<typeof startFrontEnd>[0]): Promise<FrontEnd> {
  const started = await startFrontEnd(options);
  servers.adopt(() => started.server.drain(100));
  return started;
}

/**
 * A front end of its own, before a service that answers `{}` and keeps what it receives; by
 * default it admits the client with the shared metadata server's keys.
 */
async function ownFrontEnd(options: Partial<Parameters<typeof startFrontEnd>[0]> = {}) {
  const upstream = await servers.recorder();
  const started = await frontEndFor({
    upstream: upstream.url,
    jwksUrl: metadata.jwksUrl,
    invokers: [CLIENT_EMAIL],
    ...options,
  });
  return { upstream, frontEnd: started };
}

beforeAll(async () => {
  metadata = await startMetadata(servers);
  const upstream = await servers.stub((req, res) => {
    received.push(req);
    // Hop-by-hop headers on the way back, which the front end must not relay.
    res.set({
      Connection: "x-upstream-hop",
      "X-Upstream-Hop": "for this connection only",
      "Proxy-Authenticate": "Basic",
      "X-End-To-End": "kept",
    });
    res.json({ reached: true });
  });
  upstreamHits = upstream.hits;
  upstreamPort = String(upstream.port);
  elsewhere = await servers.stub((_req, res) => res.json({ stolen: true }));
  frontEnd = await frontEndFor({
    upstream: upstream.url,
    jwksUrl: metadata.jwksUrl,
    invokers: [CLIENT_EMAIL],
  });
});
beforeEach(() => {
  received = [];
});
afterEach(() => jest.useRealTimers());
afterAll(() => servers.closeAll());

function token(email = CLIENT_EMAIL, audience = frontEnd.url, issuedAt?: number): Promise<string> {
  return metadata.issuer.issue({ email, audience, format: "full", ...(issuedAt && { issuedAt }) });
}

/** Calls a front end of its own with a token for it that names `email`. */
async function fetchAs(server: FrontEnd, email = CLIENT_EMAIL): Promise<Response> {
  return fetch(server.url, {
    headers: { authorization: `Bearer ${await token(email, server.url)}` },
  });
}

async function call(headers: Record<string, string>) {
  const hitsBefore = upstreamHits();
  const response = await fetch(`${frontEnd.url}/some/path?q=1`, { headers });
  await response.text();
  return {
    status: response.status,
    reason: response.headers.get("x-local-front-end-reason"),
    challenge: response.headers.get("www-authenticate"),
    forwarded: upstreamHits() > hitsBefore,
  };
}

/** A request with exactly this request-target and these headers, over Node's own client. */
function rawGet(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "127.0.0.1", port: new URL(frontEnd.url).port, path, headers, agent: false },
      (response) => {
        response.resume();
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers }),
        );
      },
    );
    request.on("error", reject);
    request.end();
  });
}

describe("the Cloud Run front-end stand-in", () => {
  it("forwards a valid invoker's request with the signature replaced by SIGNATURE_REMOVED_BY_GOOGLE", async () => {
    const valid = await token();
    const result = await call({ authorization: `Bearer ${valid}` });
    expect(result).toMatchObject({ status: 200, forwarded: true });
    const [header, payload, signature] = received[0]!
      .get("authorization")!
      .replace("Bearer ", "")
      .split(".");
    expect(signature).toBe("SIGNATURE_REMOVED_BY_GOOGLE");
    expect(`${header}.${payload}`).toBe(valid.split(".").slice(0, 2).join("."));
    expect(received[0]!.originalUrl).toBe("/some/path?q=1");
  });

  it("answers 403 to a request without a credential, forwarding nothing", async () => {
    expect(await call({})).toMatchObject({
      status: 403,
      forwarded: false,
      reason: "no credential",
    });
  });

  it("answers 401 to a token for another audience", async () => {
    const result = await call({
      authorization: `Bearer ${await token(CLIENT_EMAIL, "https://elsewhere.example")}`,
    });
    expect(result).toMatchObject({ status: 401, forwarded: false });
    expect(result.reason).toMatch(/audience/);
    expect(result.challenge).toMatch(/^Bearer error="invalid_token"/);
  });

  it.each([
    ["extends its URL", (url: string) => `${url}.evil.example`],
    ["extends its URL's port", (url: string) => `${url}0`],
    ["its URL extends", (url: string) => url.slice(0, -1)],
    ["ends with its URL", (url: string) => `http://evil.example/${url}`],
    ["is its URL with a path", (url: string) => `${url}/some/path`],
    ["is its URL over https", (url: string) => url.replace("http:", "https:")],
  ])("answers 401 to a token whose audience %s", async (_how, audienceFor) => {
    const result = await call({
      authorization: `Bearer ${await token(CLIENT_EMAIL, audienceFor(frontEnd.url))}`,
    });
    expect(result).toMatchObject({ status: 401, forwarded: false });
    expect(result.reason).toMatch(/another audience/);
  });

  it("answers 401 to an expired token", async () => {
    const old = Math.floor(Date.now() / 1000) - 7200;
    const result = await call({
      authorization: `Bearer ${await token(CLIENT_EMAIL, frontEnd.url, old)}`,
    });
    expect(result).toMatchObject({ status: 401, forwarded: false, reason: "token has expired" });
  });

  it("says why it refused in its answer's text as well as in a header, never quoting the token", async () => {
    const expired = await token(CLIENT_EMAIL, frontEnd.url, Math.floor(Date.now() / 1000) - 7200);
    const response = await fetch(frontEnd.url, { headers: { authorization: `Bearer ${expired}` } });
    const text = await response.text();
    const reason = response.headers.get("x-local-front-end-reason");
    expect(response.status).toBe(401);
    expect(reason).toBe("token has expired");
    expect(text).toContain("(local front end: token has expired)");
    for (const part of tokenParts(expired)) expect(`${reason} ${text}`).not.toContain(part);
  });

  it("answers 401 to a token signed by a key it does not know", async () => {
    const stranger = await new TokenIssuer().issue({
      email: CLIENT_EMAIL,
      audience: frontEnd.url,
      format: "full",
    });
    const result = await call({ authorization: `Bearer ${stranger}` });
    expect(result).toMatchObject({
      status: 401,
      forwarded: false,
      reason: "token is signed by an unknown key",
    });
  });

  it("answers 403 to a verified identity that is not an invoker", async () => {
    const result = await call({ authorization: `Bearer ${await token(OUTSIDER)}` });
    expect(result).toMatchObject({ status: 403, forwarded: false });
    expect(result.reason).toMatch(/outsider@.* does not hold roles\/run\.invoker/);
  });

  it.each(emailNearMisses(CLIENT_EMAIL))(
    "answers 403 to a verified identity whose e-mail %s",
    async (_how, email) => {
      const result = await call({ authorization: `Bearer ${await token(email)}` });
      expect(result).toMatchObject({ status: 403, forwarded: false });
      expect(result.reason).toMatch(/does not hold roles\/run\.invoker/);
    },
  );

  it("verifies X-Serverless-Authorization and passes a forged Authorization through unverified", async () => {
    const result = await call({
      "x-serverless-authorization": `Bearer ${await token()}`,
      authorization: "Bearer forged.by.someone",
    });
    expect(result).toMatchObject({ status: 200, forwarded: true });
    expect(received[0]!.get("authorization")).toBe("Bearer forged.by.someone");
    expect(received[0]!.get("x-serverless-authorization")).toMatch(
      /\.SIGNATURE_REMOVED_BY_GOOGLE$/,
    );
  });

  it("rejects a forged X-Serverless-Authorization even beside a valid Authorization", async () => {
    const result = await call({
      "x-serverless-authorization": "Bearer forged.by.someone",
      authorization: `Bearer ${await token()}`,
    });
    expect(result).toMatchObject({ status: 401, forwarded: false });
  });
});

describe("where the front-end stand-in forwards to", () => {
  it("takes only the path and query of an absolute-form request target, never its origin", async () => {
    const other = new URL(elsewhere.url);
    const { status } = await rawGet(`http://${other.host}/steal?q=1`, {
      authorization: `Bearer ${await token()}`,
    });
    expect(status).toBe(200);
    expect(received.map((req) => req.originalUrl)).toEqual(["/steal?q=1"]);
    expect(elsewhere.hits()).toBe(0);
  });

  it("treats a request target starting with //host as a path on its own service", async () => {
    const other = new URL(elsewhere.url);
    const { status } = await rawGet(`//${other.host}/steal`, {
      authorization: `Bearer ${await token()}`,
      host: other.host,
    });
    expect(status).toBe(200);
    expect(received.map((req) => req.originalUrl)).toEqual([`//${other.host}/steal`]);
    expect(elsewhere.hits()).toBe(0);
  });

  it("answers 400 to a request target that is no path, forwarding nothing", async () => {
    const { status } = await rawGet("ftp://127.0.0.1/file", {
      authorization: `Bearer ${await token()}`,
    });
    expect(status).toBe(400);
    expect(received).toEqual([]);
  });
});

describe("the headers the front-end stand-in relays", () => {
  it("drops hop-by-hop request headers, and those Connection names, keeping the rest", async () => {
    await rawGet("/", {
      authorization: `Bearer ${await token()}`,
      connection: "keep-alive, x-client-hop",
      "x-client-hop": "for this connection only",
      "keep-alive": "timeout=5",
      "proxy-authorization": "Basic c2VjcmV0",
      te: "trailers",
      "x-end-to-end": "kept",
    });
    const headers = received[0]!.headers;
    expect(headers["x-client-hop"]).toBeUndefined();
    expect(headers["keep-alive"]).toBeUndefined();
    expect(headers["proxy-authorization"]).toBeUndefined();
    expect(headers.te).toBeUndefined();
    expect(headers.connection ?? "").not.toMatch(/x-client-hop/);
    expect(headers["x-end-to-end"]).toBe("kept");
  });

  it("drops hop-by-hop answer headers, and those Connection names, keeping the rest", async () => {
    const { status, headers } = await rawGet("/", { authorization: `Bearer ${await token()}` });
    expect(status).toBe(200);
    expect(headers["x-upstream-hop"]).toBeUndefined();
    expect(headers["proxy-authenticate"]).toBeUndefined();
    expect(headers.connection ?? "").not.toMatch(/x-upstream-hop/);
    expect(headers["x-end-to-end"]).toBe("kept");
  });
});

describe("a front-end stand-in of its own", () => {
  it("accepts tokens signed with a rotated key once its cooldown lets it refetch the keys", async () => {
    const own = await startMetadata(servers);
    const { upstream, frontEnd: fresh } = await ownFrontEnd({ jwksUrl: own.jwksUrl });
    const callWithNewToken = async () =>
      fetch(fresh.url, {
        headers: {
          authorization: `Bearer ${await own.issuer.issue({ email: CLIENT_EMAIL, audience: fresh.url, format: "full" })}`,
        },
      });
    expect((await callWithNewToken()).status).toBe(200);
    await own.issuer.rotate();
    // Keys are refetched for an unknown key id at most every 30 s; let that pass.
    fakeClockOnly();
    jest.setSystemTime(Date.now() + 31_000);
    expect((await callWithNewToken()).status).toBe(200);
    expect(upstream.hits()).toBe(2);
  });

  it("answers 503 when the service behind it does not answer", async () => {
    const lonely = await frontEndFor({
      upstream: "http://127.0.0.1:9",
      jwksUrl: metadata.jwksUrl,
      invokers: [CLIENT_EMAIL],
    });
    expect((await fetchAs(lonely)).status).toBe(503);
  });
});

/** Sends `request` as raw bytes on a connection of its own and returns the whole answer. */
function rawExchange(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(frontEnd.url).port), "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.write(request);
  });
}

describe("what the front-end stand-in lets through to the service", () => {
  it.each(["GET", "HEAD", "DELETE", "OPTIONS"])(
    "forwards a chunked %s body framed, so a request hidden in it never reaches the service",
    async (method) => {
      const hidden = "GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n";
      const chunk = `${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\n`;
      const answer = await rawExchange(
        `${method} /outer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await token()}\r\n` +
          `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk}`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      // A request after it reuses the kept-alive connection to the service, behind anything
      // smuggled on that connection, so by its answer every request the service got is seen.
      expect((await call({ authorization: `Bearer ${await token()}` })).status).toBe(200);
      expect(received.map((request) => request.originalUrl)).toEqual(["/outer", "/some/path?q=1"]);
    },
  );

  it("admits an invoker listed in upper case, comparing e-mails lower-cased", async () => {
    const { frontEnd: shouting } = await ownFrontEnd({
      invokers: ["CLIENT@DEMO-PROJECT.IAM.GSERVICEACCOUNT.COM"],
    });
    expect((await fetchAs(shouting)).status).toBe(200);
  });

  it("refuses an e-mail with U+212A KELVIN SIGN where an invoker has k, without Unicode case folding", async () => {
    const { upstream, frontEnd: kelvin } = await ownFrontEnd({
      invokers: ["kelvin@demo-project.iam.gserviceaccount.com"],
    });
    const statusAs = async (email: string) => (await fetchAs(kelvin, email)).status;
    expect(await statusAs("\u212Aelvin@demo-project.iam.gserviceaccount.com")).toBe(403);
    expect(await statusAs("kelvin@demo-project.iam.gserviceaccount.com")).toBe(200);
    expect(upstream.hits()).toBe(1);
  });

  it.each([
    ["U+212A KELVIN SIGN", "\u212Aelvin@demo-project.iam.gserviceaccount.com"],
    ["a line feed", "out\nsider@demo-project.iam.gserviceaccount.com"],
    ["a NUL", "out\u0000sider@demo-project.iam.gserviceaccount.com"],
  ])(
    "answers 403 in plain words to a verified non-invoker whose e-mail holds %s",
    async (_what, email) => {
      const response = await fetch(frontEnd.url, {
        headers: { authorization: `Bearer ${await token(email)}` },
      });
      const body = await response.text();
      expect(response.status).toBe(403);
      expect(response.headers.get("x-local-front-end-reason")).toMatch(
        /^[\x20-\x7e]+ does not hold roles\/run\.invoker$/,
      );
      expect(body).not.toMatch(/at .*\.(ts|js):\d+/);
    },
  );

  it("refuses a token that expired 35 s ago and accepts one that expired 25 s ago: the documented 30 s skew", async () => {
    // The stand-in's tokens live 3600 s, so one issued 3635 s ago expired 35 s ago.
    const now = Math.floor(Date.now() / 1000);
    const expiredBeyondSkew = await token(CLIENT_EMAIL, frontEnd.url, now - 3635);
    const expiredWithinSkew = await token(CLIENT_EMAIL, frontEnd.url, now - 3625);
    expect((await call({ authorization: `Bearer ${expiredBeyondSkew}` })).status).toBe(401);
    expect((await call({ authorization: `Bearer ${expiredWithinSkew}` })).status).toBe(200);
  });

  it.each([
    ["the address of the service behind it", () => `http://127.0.0.1:${upstreamPort}`],
    ["its port on IPv6 loopback", () => `http://[::1]:${new URL(frontEnd.url).port}`],
    ["its port on 0.0.0.0", () => `http://0.0.0.0:${new URL(frontEnd.url).port}`],
    ["its URL with two slashes", () => `${frontEnd.url}//`],
    ["its URL in upper case", () => frontEnd.url.toUpperCase()],
    ["its address without a port", () => "http://127.0.0.1"],
    ["its address without a port, with a trailing slash", () => "http://127.0.0.1/"],
    ["localhost without a port", () => "http://localhost"],
  ])("answers 401 to a token whose audience is %s, which it does not serve", async (_what, aud) => {
    const result = await call({ authorization: `Bearer ${await token(CLIENT_EMAIL, aud())}` });
    expect(result).toMatchObject({ status: 401, forwarded: false });
  });
});

describe("a front-end stand-in whose key set cannot be loaded", () => {
  it("answers 503, not 401, to a valid token, forwarding nothing", async () => {
    const { upstream, frontEnd: keyless } = await ownFrontEnd({ jwksUrl: await closedPortUrl() });
    const response = await fetchAs(keyless);
    expect(response.status).toBe(503);
    expect(response.headers.get("x-local-front-end-reason")).toBe("signing keys are unavailable");
    expect(upstream.hits()).toBe(0);
  });
});

describe("a front-end stand-in with the invoker check off", () => {
  it("forwards every request untouched, credentials included, as Cloud Run with invokerIamDisabled", async () => {
    const { upstream, frontEnd: open } = await ownFrontEnd({ invokerIamDisabled: true });
    const { seen } = upstream;
    const signed = await token(CLIENT_EMAIL, open.url);
    const none = await fetch(open.url);
    const forged = await fetch(open.url, {
      headers: {
        "x-serverless-authorization": "Bearer forged.token.here",
        authorization: `Bearer ${signed}`,
      },
    });
    expect([none.status, forged.status]).toEqual([200, 200]);
    expect(seen[0]?.get("authorization")).toBeUndefined();
    expect(seen[1]?.get("x-serverless-authorization")).toBe("Bearer forged.token.here");
    expect(seen[1]?.get("authorization")).toBe(`Bearer ${signed}`);
  });
});
