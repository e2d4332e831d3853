import type { Request, Response } from "express";
import type { Express } from "express";
import { clientAppFromConfig } from "../../../services/client-service/app";
import { readClientConfig } from "../../../services/client-service/config";
import { EnvReader } from "../../../services/shared/env";
import type { RunningServer } from "../../../services/shared/lifecycle";
import { targetAppFromConfig } from "../../../services/target-service/app";
import { readTargetConfig } from "../../../services/target-service/config";
import { captureLogs } from "../../helpers/logs";
import {
  CLIENT_EMAIL,
  startMetadata,
  type TestMetadata,
  useMetadata,
} from "../../helpers/metadata";
import { closedPortUrl, TestServers } from "../../helpers/servers";
import { tokenParts } from "../../helpers/tokens";

const AUDIENCE = "https://target.local.test";

const servers = new TestServers();
const logs = captureLogs("client");
let metadata: TestMetadata;
let target: RunningServer;

function clientApp(env: Record<string, string>): Express {
  const config = readClientConfig(new EnvReader({ TARGET_AUDIENCE: AUDIENCE, ...env }));
  return clientAppFromConfig(config, logs.logger);
}

async function startClient(env: Record<string, string>): Promise<RunningServer> {
  return servers.serve(clientApp(env));
}

/** The client's JSON answer: success and error fields together, for brevity in assertions. */
interface ClientAnswer {
  target: { url: string; status: number; body: { caller: { email: string } } };
  latencyMs: number;
  retriedWithFreshToken: boolean;
  error: string;
  message: string;
  hint: string;
  targetStatus: number;
}

async function get(server: RunningServer, path = "/", headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as ClientAnswer };
}

/** Fails if the text holds any token, or any segment of one, or a bearer header. */
function expectNoPartOf(tokens: string[], text: string): void {
  expect(tokens.length).toBeGreaterThan(0);
  for (const part of tokens.flatMap(tokenParts)) expect(text).not.toContain(part);
  expect(text).not.toMatch(/Bearer/i);
}

/** The token a request carried: what follows "Bearer " in its Authorization. */
function tokenOf(req: Request): string {
  return (req.get("authorization") ?? "").replace(/^Bearer /, "");
}

/** Starts counting identity tokens from zero for one test. */
function tokensIssuedDuring(): () => number {
  const before = metadata.stats.identityTokensIssued;
  return () => metadata.stats.identityTokensIssued - before;
}

let issue: jest.SpiedFunction<TestMetadata["issuer"]["issue"]>;

beforeAll(async () => {
  metadata = await startMetadata(servers);
  issue = jest.spyOn(metadata.issuer, "issue");
  useMetadata(metadata);
  // A real target that verifies the tokens itself against the stand-in's published keys.
  const config = readTargetConfig(
    new EnvReader({
      AUTH_MODE: "verify",
      AUDIENCES: AUDIENCE,
      JWKS_URL: metadata.jwksUrl,
      TOKEN_ISSUER: "https://accounts.google.com",
      ALLOWED_INVOKERS: CLIENT_EMAIL,
    }),
  );
  target = await servers.serve(targetAppFromConfig(config, captureLogs("target").logger));
});
// What a test changes in the shared stand-in, or in where google-auth-library looks for it,
// ends with the test.
afterEach(() => {
  metadata.faults.clear();
  useMetadata(metadata);
});
afterAll(() => servers.closeAll());

describe("the client calling a real target", () => {
  it("answers 200 with the target's answer naming the client's identity, and the latency", async () => {
    const client = await startClient({ TARGET_URL: target.url });
    const { status, body } = await get(client);
    expect(status).toBe(200);
    expect(body.target.status).toBe(200);
    expect(body.target.body.caller.email).toBe(CLIENT_EMAIL);
    expect(body.latencyMs).toBeGreaterThan(0);
    expect(body.retriedWithFreshToken).toBe(false);
  });

  it("fetches one token for 100 sequential requests", async () => {
    const issued = tokensIssuedDuring();
    const client = await startClient({ TARGET_URL: target.url });
    for (let i = 0; i < 100; i += 1) expect((await get(client)).status).toBe(200);
    expect(issued()).toBe(1);
  });

  it("fetches one token for 50 concurrent requests", async () => {
    const issued = tokensIssuedDuring();
    const client = await startClient({ TARGET_URL: target.url });
    const answers = await Promise.all(Array.from({ length: 50 }, () => get(client)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(200));
    expect(issued()).toBe(1);
  });

  it("passes the trace on to the target as a child span of the same trace", async () => {
    const stub = await servers.recorder();
    const { seen } = stub;
    const client = await startClient({ TARGET_URL: stub.url });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await get(client, "/", { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(seen[0]?.get("traceparent")).toMatch(
      new RegExp(`^00-${traceId}-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$`),
    );
  });

  it("sends the token in X-Serverless-Authorization when configured, leaving Authorization free", async () => {
    const stub = await servers.recorder();
    const { seen } = stub;
    const client = await startClient({
      TARGET_URL: stub.url,
      TOKEN_HEADER: "X-Serverless-Authorization",
    });
    expect((await get(client)).status).toBe(200);
    expect(seen[0]?.get("x-serverless-authorization")).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(seen[0]?.get("authorization")).toBeUndefined();
  });

  it("sends the same token in X-Serverless-Authorization and Authorization by default", async () => {
    const stub = await servers.recorder();
    const { seen } = stub;
    const client = await startClient({ TARGET_URL: stub.url });
    await get(client);
    expect(seen[0]?.get("authorization")).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(seen[0]?.get("x-serverless-authorization")).toBe(seen[0]?.get("authorization"));
  });

  it("sends the token in Authorization only when TOKEN_HEADER says authorization", async () => {
    const stub = await servers.recorder();
    const { seen } = stub;
    const client = await startClient({ TARGET_URL: stub.url, TOKEN_HEADER: "authorization" });
    await get(client);
    expect(seen[0]?.get("authorization")).toMatch(/^Bearer /);
    expect(seen[0]?.get("x-serverless-authorization")).toBeUndefined();
  });
});

/**
 * Has the metadata stand-in answer the next token fetch with a token issued 5 s ago: within the
 * same second the stand-in would sign the same claims into the very same token, and a test of
 * a refetch needs two different ones.
 */
async function answerNextFetchWithAnOlderToken(): Promise<string> {
  const older = await metadata.issuer.issue({
    email: CLIENT_EMAIL,
    audience: AUDIENCE,
    format: "full",
    issuedAt: Math.floor(Date.now() / 1000) - 5,
  });
  metadata.faults.answerIdentityRequests(1, older);
  return older;
}

describe("the client after a 401 from the target", () => {
  it("refetches the token once and retries once, then succeeds", async () => {
    const tokensSeen: string[] = [];
    const stub = await servers.stub((req, res) => {
      tokensSeen.push(req.get("authorization") ?? "");
      res.status(tokensSeen.length === 1 ? 401 : 200).json({ attempt: tokensSeen.length });
    });
    const client = await startClient({ TARGET_URL: stub.url });
    const issued = tokensIssuedDuring();
    const { status, body } = await get(client);
    expect(status).toBe(200);
    expect(body.retriedWithFreshToken).toBe(true);
    expect(stub.hits()).toBe(2);
    expect(issued()).toBe(2);
  });

  it("stops after one retry and answers 502 with a hint about the audience", async () => {
    const stub = await servers.stub((_req, res) => {
      res.status(401).json({ error: "invalid_token" });
    });
    const client = await startClient({ TARGET_URL: stub.url });
    const issued = tokensIssuedDuring();
    const { status, body } = await get(client);
    expect(status).toBe(502);
    expect(body.error).toBe("target_rejected_token");
    expect(body.hint).toContain(`"${AUDIENCE}"`);
    expect(body.hint).toMatch(/target's URL or one of its custom audiences/);
    expect(stub.hits()).toBe(2);
    expect(issued()).toBe(2);
  });

  it.each([
    ["the fresh token it retried with", 1],
    ["the token that was rejected", 0],
  ])(
    "answers 502 target_echoed_token when the answer to its retry echoes %s",
    async (_which, echoed) => {
      // The first fetch gets a token of its own, so that the retry's token is another string.
      const older = await answerNextFetchWithAnOlderToken();
      const seen: string[] = [];
      const stub = await servers.stub((req, res) => {
        seen.push(tokenOf(req));
        if (seen.length === 1) res.status(401).json({});
        else res.json({ echoed: seen[echoed] });
      });
      const { status, body } = await get(await startClient({ TARGET_URL: stub.url }));
      expect(seen).toHaveLength(2);
      expect(seen[0]).toBe(older);
      expect(seen[1]).not.toBe(older);
      expect(status).toBe(502);
      expect(body.error).toBe("target_echoed_token");
    },
  );

  it("refetches once for many concurrent requests rejected with the same token", async () => {
    const rejected = new Set<string>();
    const seen: string[] = [];
    const stub = await servers.stub((req, res) => {
      const token = (req.get("authorization") ?? "").replace(/^Bearer /, "");
      seen.push(token);
      res.status(rejected.has(token) ? 401 : 200).json({});
    });
    const client = await startClient({ TARGET_URL: stub.url });
    expect((await get(client)).status).toBe(200);
    const [cached] = seen;
    rejected.add(cached!);
    // The refetch gets a token of its own.
    const replacement = await answerNextFetchWithAnOlderToken();
    const issued = tokensIssuedDuring();
    seen.length = 0;
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(client)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    // Every request presented the rejected token, then the one replacement; no other fetch.
    expect(new Set(seen)).toEqual(new Set([cached, replacement]));
    expect(seen.filter((token) => token === replacement)).toHaveLength(20);
    expect(issued()).toBe(0);
  });
});

describe("the client's answers when something fails", () => {
  /** The client's answer when the target answers every call with `status` and `text`. */
  async function answerWhenTargetSays(status: number, text: string) {
    const stub = await servers.stub((_req, res) => {
      res.status(status).send(text);
    });
    return get(await startClient({ TARGET_URL: stub.url }));
  }

  it("answers 503 saying it could not get an identity token when the metadata server is down", async () => {
    const down = await closedPortUrl();
    process.env.GCE_METADATA_HOST = new URL(down).host;
    const client = await startClient({ TARGET_URL: target.url });
    const { status, body } = await get(client);
    expect(status).toBe(503);
    expect(body.error).toBe("identity_token_unavailable");
    expect(body.message).toMatch(/could not get an identity token/);
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
  });

  it("answers 502 when the target is unreachable", async () => {
    const client = await startClient({ TARGET_URL: await closedPortUrl() });
    const { status, body } = await get(client);
    expect(status).toBe(502);
    expect(body.error).toBe("target_unreachable");
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED/);
  });

  it("answers 504 when the target does not answer in time", async () => {
    // Never answers; closing the test servers ends the connection.
    const stub = await servers.stub(() => undefined);
    const client = await startClient({ TARGET_URL: stub.url, TARGET_TIMEOUT_MS: "200" });
    const { status, body } = await get(client);
    expect(status).toBe(504);
    expect(body.error).toBe("target_timeout");
  });

  it("answers 502 with a hint about roles/run.invoker when the target answers 403", async () => {
    const { status, body } = await answerWhenTargetSays(403, "Forbidden");
    expect(status).toBe(502);
    expect(body.error).toBe("target_forbidden");
    expect(body.hint).toMatch(/roles\/run\.invoker/);
    expect(body.hint).toMatch(/propagate/);
    expect(body.targetStatus).toBe(403);
  });

  it("answers 502 when the target fails with a 5xx, without passing on its body", async () => {
    const { status, body } = await answerWhenTargetSays(500, "stack trace: secret internals");
    expect(status).toBe(502);
    expect(body.error).toBe("target_error");
    expect(body.targetStatus).toBe(500);
    expect(JSON.stringify(body)).not.toContain("secret internals");
  });
});

describe("the client when the metadata server answers with something unusable", () => {
  it.each([
    ["an HTML page", async () => "<html><body>Service Unavailable</body></html>"],
    ["garbage", async () => "garbage"],
    [
      "an expired token",
      () =>
        metadata.issuer.issue({
          email: CLIENT_EMAIL,
          audience: AUDIENCE,
          format: "full",
          issuedAt: Math.floor(Date.now() / 1000) - 7200,
        }),
    ],
    [
      "a token for another audience",
      () =>
        metadata.issuer.issue({
          email: CLIENT_EMAIL,
          audience: `${AUDIENCE}.evil.example`,
          format: "full",
        }),
    ],
  ])("answers 503 identity_token_unavailable for %s and never sends it", async (_what, body) => {
    const stub = await servers.stub((_req, res) => {
      res.json({});
    });
    const client = await startClient({ TARGET_URL: stub.url });
    // google-auth-library retries a failed fetch; every attempt gets the same answer.
    metadata.faults.answerIdentityRequests(10, await body());
    const { status, body: answer } = await get(client);
    expect(status).toBe(503);
    expect(answer.error).toBe("identity_token_unavailable");
    expect(answer.hint).toMatch(
      /not with an unexpired ID token for "https:\/\/target\.local\.test"/,
    );
    expect(stub.hits()).toBe(0);
  });
});

describe("the client's logs", () => {
  /** Every token the stand-in has issued in this file so far. */
  const issued = () =>
    Promise.all(issue.mock.results.map((result) => result.value as Promise<string>));

  const expired = () =>
    metadata.issuer.issue({
      email: CLIENT_EMAIL,
      audience: AUDIENCE,
      format: "full",
      issuedAt: Math.floor(Date.now() / 1000) - 7200,
    });

  it.each([
    [
      "a 401 that a retry with a fresh token cures",
      200,
      "",
      (hits: number) => (hits === 1 ? 401 : 200),
    ],
    ["a 401 even after the retry", 502, "target_rejected_token", () => 401],
    ["a 403", 502, "target_forbidden", () => 403],
    ["a 5xx", 502, "target_error", () => 500],
    ["a target that does not answer in time", 504, "target_timeout", () => 0],
  ])("hold no part of any token after %s", async (_path, expectedStatus, loggedCode, statusFor) => {
    let hits = 0;
    const stub = await servers.stub((_req, res) => {
      hits += 1;
      const status = statusFor(hits);
      if (status !== 0) res.status(status).json({});
    });
    // Long enough that a target which answers never times out on a busy machine.
    const client = await startClient({ TARGET_URL: stub.url, TARGET_TIMEOUT_MS: "3000" });
    expect((await get(client)).status).toBe(expectedStatus);
    if (loggedCode !== "") expect(logs.text()).toContain(`"code":"${loggedCode}"`);
    expectNoPartOf(await issued(), logs.text());
  });

  it("hold no part of any token after the target was unreachable", async () => {
    const client = await startClient({ TARGET_URL: await closedPortUrl() });
    expect((await get(client)).status).toBe(502);
    expect(logs.text()).toContain('"code":"target_unreachable"');
    expectNoPartOf(await issued(), logs.text());
  });

  it("hold no part of an expired token the metadata server handed out", async () => {
    const stale = await expired();
    metadata.faults.answerIdentityRequests(10, stale);
    const client = await startClient({ TARGET_URL: target.url });
    expect((await get(client)).status).toBe(503);
    expect(logs.text()).toContain('"code":"identity_token_unavailable"');
    expectNoPartOf([stale, ...(await issued())], logs.text());
  });
});

describe("the client's outgoing URL", () => {
  it("cannot be steered by anything in the incoming request", async () => {
    const elsewhere = await servers.stub((_req, res) => {
      res.json({ stolen: true });
    });
    const client = await startClient({ TARGET_URL: target.url });
    const attempts = [
      get(client, `/?url=${encodeURIComponent(elsewhere.url)}`),
      get(client, `/?target=${encodeURIComponent(elsewhere.url)}`, {
        host: new URL(elsewhere.url).host,
      }),
      get(client, "/", {
        "x-forwarded-host": new URL(elsewhere.url).host,
        "x-target-url": elsewhere.url,
      }),
    ];
    for (const answer of await Promise.all(attempts)) {
      expect(answer.status).toBe(200);
      expect(answer.body.target.url).toBe(new URL(target.url).href);
    }
    const other = await fetch(`${client.url}/${encodeURIComponent(elsewhere.url)}`);
    expect(other.status).toBe(404);
    expect(elsewhere.hits()).toBe(0);
  });

  it("does not follow a redirect, so the token never reaches another origin", async () => {
    const elsewhere = await servers.stub((_req, res) => {
      res.json({ stolen: true });
    });
    const redirecting = await servers.stub((_req, res) => {
      res.redirect(307, `${elsewhere.url}/collect`);
    });
    const client = await startClient({ TARGET_URL: redirecting.url });
    const { status, body } = await get(client);
    expect(status).toBe(502);
    expect(body.error).toBe("target_redirected");
    expect(elsewhere.hits()).toBe(0);
  });
});

describe("the client and a target that echoes request headers", () => {
  it.each([
    ["as JSON", (req: Request, res: Response) => res.json({ headers: req.headers })],
    [
      "as text, Authorization only",
      (req: Request, res: Response) => res.type("text/plain").send(req.get("authorization")),
    ],
    [
      "as JSON, the signature only",
      (req: Request, res: Response) =>
        res.json({ signature: req.get("authorization")!.split(".")[2] }),
    ],
  ])("answers 502 target_echoed_token and never relays its own token (%s)", async (_how, echo) => {
    const stub = await servers.stub((req, res) => echo(req, res));
    const client = await startClient({ TARGET_URL: stub.url });
    const issuedBefore = issue.mock.results.length;
    const response = await fetch(client.url);
    const text = await response.text();
    const sent = await Promise.all(
      issue.mock.results.slice(issuedBefore).map((result) => result.value as Promise<string>),
    );
    expect(response.status).toBe(502);
    expect((JSON.parse(text) as ClientAnswer).error).toBe("target_echoed_token");
    expectNoPartOf(sent, text);
  });
});

describe("the client and a target that echoes a token base64-encoded", () => {
  // Inside a longer encoded text a token can start at any of three byte offsets, and each
  // offset encodes it differently: all three are tried, in either alphabet.
  it.each(
    [0, 1, 2].flatMap((offset) =>
      (["base64", "base64url"] as const).map((encoding) => [offset, encoding] as const),
    ),
  )(
    "answers 502 target_echoed_token for its token starting at byte %i of a %s-encoded text",
    async (offset, encoding) => {
      const stub = await servers.stub((req, res) => {
        const echoed = `${"x".repeat(offset)}${tokenOf(req)}`;
        res.json({ echoed: Buffer.from(echoed).toString(encoding) });
      });
      const { status, body } = await get(await startClient({ TARGET_URL: stub.url }));
      expect(status).toBe(502);
      expect(body.error).toBe("target_echoed_token");
    },
  );

  it("answers 502 target_echoed_token for the request's headers as base64 in a text answer", async () => {
    const stub = await servers.stub((req, res) => {
      res.type("text/plain").send(Buffer.from(JSON.stringify(req.headers)).toString("base64"));
    });
    const { status, body } = await get(await startClient({ TARGET_URL: stub.url }));
    expect(status).toBe(502);
    expect(body.error).toBe("target_echoed_token");
  });

  /** The part of a token anyone may read: its header and claims, up to the signature. */
  const unsigned = (token: string) => token.slice(0, token.lastIndexOf(".") + 1);
  const base64 = (text: string) => Buffer.from(text).toString("base64");

  it.each([
    [
      "base64 of a token it did not send",
      async () =>
        base64(
          await metadata.issuer.issue({
            email: CLIENT_EMAIL,
            audience: "https://elsewhere.example",
            format: "full",
          }),
        ),
    ],
    ["its token without the signature", async (token: string) => unsigned(token)],
    ["base64 of its token without the signature", async (token: string) => base64(unsigned(token))],
    [
      "base64url of its token without the signature",
      async (token: string) => Buffer.from(unsigned(token)).toString("base64url"),
    ],
  ])("relays an answer holding %s", async (_what, echo) => {
    const echoed: string[] = [];
    const stub = await servers.stub((req, res) => {
      void echo(tokenOf(req)).then((text) => {
        echoed.push(text);
        res.json({ echoed: text });
      });
    });
    const { status, body } = await get(await startClient({ TARGET_URL: stub.url }));
    expect(status).toBe(200);
    expect(echoed).toHaveLength(1);
    expect(body.target.body).toEqual({ echoed: echoed[0] });
  });
});

describe("the client's retry with a fresh token", () => {
  it.each([403, 500, 400, 404])(
    "is not made after a %i: one call to the target with one token",
    async (status) => {
      const stub = await servers.stub((_req, res) => {
        res.status(status).json({});
      });
      const client = await startClient({ TARGET_URL: stub.url });
      const tokens = tokensIssuedDuring();
      expect((await get(client)).status).toBe(502);
      expect(stub.hits()).toBe(1);
      expect(tokens()).toBe(1);
    },
  );
});
