import type { Express } from "express";
import { EnvReader } from "../../../services/shared/env";
import type { RunningServer } from "../../../services/shared/lifecycle";
import { authenticatorFromConfig } from "../../../services/target/auth";
import { createTargetApp } from "../../../services/target/app";
import { readTargetConfig } from "../../../services/target/config";
import { captureLogs } from "../../helpers/logs";
import { TestServers } from "../../helpers/servers";
import {
  hs256WithPublicKey,
  idTokenClaims,
  newSigningKey,
  nowSeconds,
  signToken,
  unsignedToken,
  withCorruptedSignature,
} from "../../helpers/tokens";

const AUDIENCE = "https://target.example.run.app";
const CLIENT = "client@demo-project.iam.gserviceaccount.com";
const ISSUER = "https://accounts.google.com";

const servers = new TestServers();
const trusted = newSigningKey();
const stranger = newSigningKey();
const logs = captureLogs("target");
let jwks: RunningServer & { hits: () => number };
let target: RunningServer;

function targetApp(jwksUrl: string): Express {
  const config = readTargetConfig(
    new EnvReader({
      AUTH_MODE: "verify",
      AUDIENCES: `${AUDIENCE},https://custom.example`,
      JWKS_URL: jwksUrl,
      TOKEN_ISSUER: ISSUER,
      ALLOWED_INVOKERS: CLIENT,
    }),
  );
  return createTargetApp({
    logger: logs.logger,
    authMode: config.authMode,
    authenticate: authenticatorFromConfig(config, logs.logger),
  });
}

beforeAll(async () => {
  jwks = await servers.stub((_req, res) => {
    res.set("Cache-Control", "public, max-age=3600").json({ keys: [trusted.jwk] });
  });
  target = await servers.serve(targetApp(`${jwks.url}/certs`));
});
afterAll(() => servers.closeAll());

async function call(headers: Record<string, string>) {
  const response = await fetch(target.url, { headers });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

describe("a target in verify mode", () => {
  it("answers 200 naming the caller's e-mail for a valid token", async () => {
    const { status, body } = await call(bearer(signToken(trusted, idTokenClaims())));
    expect(status).toBe(200);
    expect(body.caller).toEqual({ email: CLIENT, subject: "111111111111111111111" });
    expect(body.authMode).toBe("verify");
  });

  it("accepts a token for a configured custom audience", async () => {
    const token = signToken(trusted, idTokenClaims({ aud: "https://custom.example" }));
    expect((await call(bearer(token))).status).toBe(200);
  });

  it("accepts a token whose issuer lacks the scheme only when that issuer is trusted", async () => {
    const token = signToken(trusted, idTokenClaims({ iss: "accounts.google.com" }));
    // This target trusts exactly TOKEN_ISSUER, so Google's scheme-less form is refused here.
    expect((await call(bearer(token))).status).toBe(401);
  });

  const rejections: Array<[string, () => Record<string, string>, number, RegExp]> = [
    [
      "a bad signature",
      () => bearer(withCorruptedSignature(signToken(trusted, idTokenClaims()))),
      401,
      /signature/,
    ],
    [
      "a token signed by another key under the trusted key id",
      () => bearer(signToken(stranger, idTokenClaims(), { kid: trusted.kid })),
      401,
      /signature/,
    ],
    [
      "a token signed by an unknown key",
      () => bearer(signToken(stranger, idTokenClaims())),
      401,
      /unknown key/,
    ],
    [
      "an expired token",
      () =>
        bearer(
          signToken(trusted, idTokenClaims({ iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 })),
        ),
      401,
      /expired/,
    ],
    [
      "a token that is not valid yet",
      () => bearer(signToken(trusted, idTokenClaims({ nbf: nowSeconds() + 600 }))),
      401,
      /not valid yet/,
    ],
    [
      "a token issued in the future",
      () =>
        bearer(
          signToken(trusted, idTokenClaims({ iat: nowSeconds() + 600, exp: nowSeconds() + 4200 })),
        ),
      401,
      /future/,
    ],
    [
      "a token for another audience",
      () => bearer(signToken(trusted, idTokenClaims({ aud: "https://elsewhere.example" }))),
      401,
      /audience/,
    ],
    [
      "a token from another issuer",
      () => bearer(signToken(trusted, idTokenClaims({ iss: "https://evil.example" }))),
      401,
      /issuer/,
    ],
    ["an alg none token", () => bearer(unsignedToken(idTokenClaims(), trusted.kid)), 401, /RS256/],
    [
      "an HS256 token keyed with the public key",
      () => bearer(hs256WithPublicKey(trusted, idTokenClaims())),
      401,
      /RS256/,
    ],
    [
      "a token whose e-mail is not verified",
      () => bearer(signToken(trusted, idTokenClaims({ email_verified: false }))),
      401,
      /not verified/,
    ],
    [
      "a token without an e-mail",
      () => bearer(signToken(trusted, idTokenClaims({ email: undefined }))),
      401,
      /email/,
    ],
    [
      "a caller not in ALLOWED_INVOKERS",
      () =>
        bearer(
          signToken(
            trusted,
            idTokenClaims({ email: "intruder@demo-project.iam.gserviceaccount.com" }),
          ),
        ),
      403,
      /intruder@.* is not allowed/,
    ],
    [
      "a malformed Authorization header",
      () => ({ authorization: "Basic dXNlcjpwYXNz" }),
      401,
      /Bearer scheme/,
    ],
    ["Bearer with no token", () => ({ authorization: "Bearer " }), 401, /no token/],
    ["a token that is not a JWT", () => bearer("not-a-jwt"), 401, /three segments/],
    [
      "a token whose payload is not JSON",
      () => bearer(`${Buffer.from('{"alg":"RS256"}').toString("base64url")}.bm90IGpzb24.c2ln`),
      401,
      /not JSON/,
    ],
    ["a missing Authorization header", () => ({}), 401, /requires a Google-signed ID token/],
  ];

  it.each(rejections)("rejects %s", async (_name, headers, expectedStatus, reason) => {
    const sent = headers();
    const { status, body } = await call(sent);
    expect(status).toBe(expectedStatus);
    expect(body.message).toMatch(reason);
    const token = sent.authorization?.split(" ")[1];
    if (token) {
      expect(JSON.stringify(body)).not.toContain(token);
      expect(logs.text()).not.toContain(token);
    }
  });

  it("challenges a request without a token with a bare WWW-Authenticate: Bearer", async () => {
    const { headers } = await call({});
    expect(headers.get("www-authenticate")).toBe('Bearer realm="target"');
  });

  it("says invalid_token in WWW-Authenticate for a bad token", async () => {
    const { headers } = await call(bearer(signToken(stranger, idTokenClaims())));
    expect(headers.get("www-authenticate")).toMatch(
      /^Bearer realm="target", error="invalid_token"/,
    );
  });

  it("tolerates clocks that disagree by less than the configured skew", async () => {
    const token = signToken(
      trusted,
      idTokenClaims({ iat: nowSeconds() - 3610, exp: nowSeconds() - 10 }),
    );
    expect((await call(bearer(token))).status).toBe(200);
  });
});

describe("the key set behind verify mode", () => {
  it("is fetched once and then served from cache", async () => {
    const servers2 = new TestServers();
    const keys = await servers2.stub((_req, res) => {
      res.set("Cache-Control", "max-age=3600").json({ keys: [trusted.jwk] });
    });
    const app = await servers2.serve(targetApp(keys.url));
    for (let i = 0; i < 20; i += 1) {
      const response = await fetch(app.url, {
        headers: bearer(signToken(trusted, idTokenClaims())),
      });
      expect(response.status).toBe(200);
    }
    expect(keys.hits()).toBe(1);
    await servers2.closeAll();
  });

  it("is refetched for an unknown key id, at most once per cooldown", async () => {
    const servers2 = new TestServers();
    const rotated = newSigningKey();
    let published = [trusted.jwk];
    const keys = await servers2.stub((_req, res) => {
      res.set("Cache-Control", "max-age=3600").json({ keys: published });
    });
    const app = await servers2.serve(targetApp(keys.url));
    const first = await fetch(app.url, { headers: bearer(signToken(trusted, idTokenClaims())) });
    expect(first.status).toBe(200);
    expect(keys.hits()).toBe(1);

    // The publisher rotates; the first token under the new kid triggers one refetch.
    published = [rotated.jwk, trusted.jwk];
    const afterRotation = await fetch(app.url, {
      headers: bearer(signToken(rotated, idTokenClaims())),
    });
    expect(afterRotation.status).toBe(200);
    expect(keys.hits()).toBe(2);

    // Made-up key ids inside the cooldown cost nothing.
    for (let i = 0; i < 10; i += 1) {
      const forged = await fetch(app.url, {
        headers: bearer(signToken(stranger, idTokenClaims())),
      });
      expect(forged.status).toBe(401);
    }
    expect(keys.hits()).toBe(2);
    await servers2.closeAll();
  });

  it("answers 503, not 401, for a valid-looking token while no keys can be loaded", async () => {
    const servers2 = new TestServers();
    const keys = await servers2.stub((_req, res) => {
      res.status(500).end();
    });
    const app = await servers2.serve(targetApp(keys.url));
    const response = await fetch(app.url, { headers: bearer(signToken(trusted, idTokenClaims())) });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toBe("keys_unavailable");
    // A garbage token is still a 401: it fails before any key is needed.
    const garbage = await fetch(app.url, { headers: bearer("a.b.c") });
    expect(garbage.status).toBe(401);
    await servers2.closeAll();
  });
});
