import type { Request } from "express";
import type { Express } from "express";
import { clientAppFromConfig } from "../../../services/client/app";
import { readClientConfig } from "../../../services/client/config";
import { EnvReader } from "../../../services/shared/env";
import type { RunningServer } from "../../../services/shared/lifecycle";
import { targetAppFromConfig } from "../../../services/target/app";
import { readTargetConfig } from "../../../services/target/config";
import { captureLogs } from "../../helpers/logs";
import {
  CLIENT_EMAIL,
  startMetadata,
  type TestMetadata,
  useMetadata,
} from "../../helpers/metadata";
import { closedPortUrl, TestServers } from "../../helpers/servers";

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

/** Starts counting identity tokens from zero for one test. */
function tokensIssuedDuring(): () => number {
  const before = metadata.stats.identityTokensIssued;
  return () => metadata.stats.identityTokensIssued - before;
}

beforeAll(async () => {
  metadata = await startMetadata(servers);
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

  it("never writes the token to its log", async () => {
    const client = await startClient({ TARGET_URL: target.url });
    await get(client);
    const token = metadata.issuer.issue({
      email: CLIENT_EMAIL,
      audience: AUDIENCE,
      format: "full",
    });
    const [header] = token.split(".");
    expect(logs.text()).not.toContain(header);
    expect(logs.text()).not.toMatch(/Bearer/);
  });

  it("passes the trace on to the target as a child span of the same trace", async () => {
    const seen: Request[] = [];
    const stub = await servers.stub((req, res) => {
      seen.push(req);
      res.json({});
    });
    const client = await startClient({ TARGET_URL: stub.url });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await get(client, "/", { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(seen[0]?.get("traceparent")).toMatch(
      new RegExp(`^00-${traceId}-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$`),
    );
  });

  it("sends the token in X-Serverless-Authorization when configured, leaving Authorization free", async () => {
    const seen: Request[] = [];
    const stub = await servers.stub((req, res) => {
      seen.push(req);
      res.json({});
    });
    const client = await startClient({
      TARGET_URL: stub.url,
      TOKEN_HEADER: "X-Serverless-Authorization",
    });
    expect((await get(client)).status).toBe(200);
    expect(seen[0]?.get("x-serverless-authorization")).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(seen[0]?.get("authorization")).toBeUndefined();
  });

  it("sends the token in Authorization by default", async () => {
    const seen: Request[] = [];
    const stub = await servers.stub((req, res) => {
      seen.push(req);
      res.json({});
    });
    const client = await startClient({ TARGET_URL: stub.url });
    await get(client);
    expect(seen[0]?.get("authorization")).toMatch(/^Bearer /);
    expect(seen[0]?.get("x-serverless-authorization")).toBeUndefined();
  });
});

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

  it("refetches once for many concurrent requests rejected with the same token", async () => {
    // The stub rejects every token signed with the key that was current when it started.
    const rejectedKid = metadata.issuer.currentKid;
    const stub = await servers.stub((req, res) => {
      const header = req.get("authorization")?.split(" ")[1]?.split(".")[0] ?? "";
      const { kid } = JSON.parse(Buffer.from(header, "base64url").toString()) as { kid: string };
      res.status(kid === rejectedKid ? 401 : 200).json({});
    });
    const client = await startClient({ TARGET_URL: stub.url });
    expect((await get(client)).status).toBe(502);
    metadata.issuer.rotate();
    const issued = tokensIssuedDuring();
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(client)));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(issued()).toBeLessThanOrEqual(1);
  });
});

describe("the client's answers when something fails", () => {
  it("answers 503 saying it could not get an identity token when the metadata server is down", async () => {
    const down = await closedPortUrl();
    process.env.GCE_METADATA_HOST = new URL(down).host;
    try {
      const client = await startClient({ TARGET_URL: target.url });
      const { status, body } = await get(client);
      expect(status).toBe(503);
      expect(body.error).toBe("identity_token_unavailable");
      expect(body.message).toMatch(/could not get an identity token/);
      expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    } finally {
      useMetadata(metadata);
    }
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
    const stub = await servers.stub((_req, res) => {
      res.status(403).send("Forbidden");
    });
    const client = await startClient({ TARGET_URL: stub.url });
    const { status, body } = await get(client);
    expect(status).toBe(502);
    expect(body.error).toBe("target_forbidden");
    expect(body.hint).toMatch(/roles\/run\.invoker/);
    expect(body.hint).toMatch(/propagate/);
    expect(body.targetStatus).toBe(403);
  });

  it("answers 502 when the target fails with a 5xx, without passing on its body", async () => {
    const stub = await servers.stub((_req, res) => {
      res.status(500).send("stack trace: secret internals");
    });
    const client = await startClient({ TARGET_URL: stub.url });
    const { status, body } = await get(client);
    expect(status).toBe(502);
    expect(body.error).toBe("target_error");
    expect(body.targetStatus).toBe(500);
    expect(JSON.stringify(body)).not.toContain("secret internals");
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
