import type { Request } from "express";
import { type FrontEnd, startFrontEnd } from "../../local/frontEnd";
import { TokenIssuer } from "../../local/tokenIssuer";
import { CLIENT_EMAIL, startMetadata, type TestMetadata } from "../helpers/metadata";
import { TestServers } from "../helpers/servers";

const OUTSIDER = "outsider@demo-project.iam.gserviceaccount.com";

const servers = new TestServers();
let metadata: TestMetadata;
let frontEnd: FrontEnd;
let received: Request[];
let upstreamHits: () => number;

beforeAll(async () => {
  metadata = await startMetadata(servers);
  const upstream = await servers.stub((req, res) => {
    received.push(req);
    res.json({ reached: true });
  });
  upstreamHits = upstream.hits;
  frontEnd = await startFrontEnd({
    upstream: upstream.url,
    jwksUrl: metadata.jwksUrl,
    invokers: [CLIENT_EMAIL],
  });
});
beforeEach(() => {
  received = [];
});
afterAll(async () => {
  await frontEnd.server.drain(100);
  await servers.closeAll();
});

function token(email = CLIENT_EMAIL, audience = frontEnd.url, issuedAt?: number): string {
  return metadata.issuer.issue({ email, audience, format: "full", ...(issuedAt && { issuedAt }) });
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

describe("the Cloud Run front-end stand-in", () => {
  it("forwards a valid invoker's request with the signature replaced by SIGNATURE_REMOVED_BY_GOOGLE", async () => {
    const valid = token();
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
      authorization: `Bearer ${token(CLIENT_EMAIL, "https://elsewhere.example")}`,
    });
    expect(result).toMatchObject({ status: 401, forwarded: false });
    expect(result.reason).toMatch(/audience/);
    expect(result.challenge).toMatch(/^Bearer error="invalid_token"/);
  });

  it("answers 401 to an expired token", async () => {
    const old = Math.floor(Date.now() / 1000) - 7200;
    const result = await call({
      authorization: `Bearer ${token(CLIENT_EMAIL, frontEnd.url, old)}`,
    });
    expect(result).toMatchObject({ status: 401, forwarded: false, reason: "token has expired" });
  });

  it("answers 401 to a token signed by a key it does not know", async () => {
    const stranger = new TokenIssuer().issue({
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
    const result = await call({ authorization: `Bearer ${token(OUTSIDER)}` });
    expect(result).toMatchObject({ status: 403, forwarded: false });
    expect(result.reason).toMatch(/outsider@.* does not hold roles\/run\.invoker/);
  });

  it("verifies X-Serverless-Authorization and passes a forged Authorization through unverified", async () => {
    const result = await call({
      "x-serverless-authorization": `Bearer ${token()}`,
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
      authorization: `Bearer ${token()}`,
    });
    expect(result).toMatchObject({ status: 401, forwarded: false });
  });

  it("accepts tokens signed with a rotated key once it refetches the published keys", async () => {
    // Its own stand-ins: the unknown-key test above already spent this front end's refetch.
    const own = await startMetadata(servers);
    const upstream = await servers.stub((_req, res) => res.json({}));
    const fresh = await startFrontEnd({
      upstream: upstream.url,
      jwksUrl: own.jwksUrl,
      invokers: [CLIENT_EMAIL],
    });
    const callWithNewToken = () =>
      fetch(fresh.url, {
        headers: {
          authorization: `Bearer ${own.issuer.issue({ email: CLIENT_EMAIL, audience: fresh.url, format: "full" })}`,
        },
      });
    expect((await callWithNewToken()).status).toBe(200);
    own.issuer.rotate();
    expect((await callWithNewToken()).status).toBe(200);
    expect(upstream.hits()).toBe(2);
    await fresh.server.drain(100);
  });

  it("answers 503 when the service behind it does not answer", async () => {
    const lonely = await startFrontEnd({
      upstream: "http://127.0.0.1:9",
      jwksUrl: metadata.jwksUrl,
      invokers: [CLIENT_EMAIL],
    });
    const response = await fetch(lonely.url, {
      headers: {
        authorization: `Bearer ${metadata.issuer.issue({ email: CLIENT_EMAIL, audience: lonely.url, format: "full" })}`,
      },
    });
    expect(response.status).toBe(503);
    await lonely.server.drain(100);
  });
});
