import { EnvReader } from "../../../services/shared/env";
import type { RunningServer } from "../../../services/shared/lifecycle";
import { authenticatorFromConfig } from "../../../services/target-service/auth";
import { createTargetApp } from "../../../services/target-service/app";
import { readTargetConfig } from "../../../services/target-service/config";
import { captureLogs } from "../../helpers/logs";
import { emailNearMisses } from "../../helpers/nearMisses";
import { TestServers } from "../../helpers/servers";
import { MAX_TOKEN_LENGTH } from "../../../services/target-service/verification/idToken";
import {
  idTokenClaims,
  newSigningKey,
  signToken,
  tokensAround,
  withRemovedSignature,
} from "../../helpers/tokens";

const CLIENT = "client@demo-project.iam.gserviceaccount.com";
const OTHER = "other@demo-project.iam.gserviceaccount.com";

const servers = new TestServers();
const key = newSigningKey();
const logs = captureLogs("target");

async function startTarget(env: Record<string, string>): Promise<RunningServer> {
  const config = readTargetConfig(new EnvReader({ AUTH_MODE: "cloud-run", ...env }));
  return servers.serve(
    createTargetApp({
      logger: logs.logger,
      authMode: config.authMode,
      authenticate: authenticatorFromConfig(config, logs.logger),
    }),
  );
}

/** A token as Cloud Run's front end forwards it. */
async function forwarded(email: string): Promise<string> {
  return withRemovedSignature(await signToken(key, idTokenClaims({ email })));
}

let target: RunningServer;
beforeAll(async () => {
  target = await startTarget({ ALLOWED_INVOKERS: CLIENT });
});
afterAll(() => servers.closeAll());

async function call(server: RunningServer, headers: Record<string, string>) {
  const response = await fetch(server.url, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("a target in cloud-run mode", () => {
  it("names the caller from the forwarded token whose signature Cloud Run removed", async () => {
    const { status, body } = await call(target, {
      authorization: `Bearer ${await forwarded(CLIENT)}`,
    });
    expect(status).toBe(200);
    expect(body.caller).toEqual({ email: CLIENT, subject: "111111111111111111111" });
    expect(body.authMode).toBe("cloud-run");
  });

  it("takes X-Serverless-Authorization over Authorization", async () => {
    const { status, body } = await call(target, {
      "x-serverless-authorization": `Bearer ${await forwarded(CLIENT)}`,
      authorization: `Bearer ${await forwarded(OTHER)}`,
    });
    expect(status).toBe(200);
    expect((body.caller as { email: string }).email).toBe(CLIENT);
  });

  it("does not fall back to Authorization when X-Serverless-Authorization is malformed", async () => {
    const { status } = await call(target, {
      "x-serverless-authorization": "Basic Zm9vOmJhcg==",
      authorization: `Bearer ${await forwarded(CLIENT)}`,
    });
    expect(status).toBe(401);
  });

  it("rejects a request without a token with 401", async () => {
    const { status, body } = await call(target, {});
    expect(status).toBe(401);
    expect(body.error).toBe("missing_token");
  });

  it("rejects an undecodable token with 401", async () => {
    const { status, body } = await call(target, { authorization: "Bearer eyJub3Q.a.token" });
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_token");
  });

  it("enforces ALLOWED_INVOKERS with 403 even though IAM let the caller through", async () => {
    const { status, body } = await call(target, {
      authorization: `Bearer ${await forwarded(OTHER)}`,
    });
    expect(status).toBe(403);
    expect(body.error).toBe("caller_not_allowed");
  });

  it.each(emailNearMisses(CLIENT))(
    "refuses with 403 a caller whose e-mail %s",
    async (_how, email) => {
      const { status, body } = await call(target, {
        authorization: `Bearer ${await forwarded(email)}`,
      });
      expect(status).toBe(403);
      expect(body.error).toBe("caller_not_allowed");
    },
  );

  it(`refuses a forwarded token longer than ${MAX_TOKEN_LENGTH} characters with 401`, async () => {
    const { within, over } = await tokensAround(
      key,
      idTokenClaims({ email: CLIENT }),
      MAX_TOKEN_LENGTH,
      withRemovedSignature,
    );
    expect((await call(target, { authorization: `Bearer ${within}` })).status).toBe(200);
    const refused = await call(target, { authorization: `Bearer ${over}` });
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/longer than 8192 characters/);
  });

  it("compares invoker e-mails without regard to case", async () => {
    const { status } = await call(target, {
      authorization: `Bearer ${await forwarded(CLIENT.toUpperCase())}`,
    });
    expect(status).toBe(200);
  });

  it("answers /health without a token", async () => {
    const response = await fetch(`${target.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });
});
