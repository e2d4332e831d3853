import type { Express } from "express";
import { EnvReader } from "../../../services/shared/env";
import {
  MAX_LIFETIME_SECONDS,
  MAX_TOKEN_LENGTH,
} from "../../../services/target-service/verification/idToken";
import type { RunningServer } from "../../../services/shared/lifecycle";
import { createTargetApp } from "../../../services/target-service/app";
import {
  authenticatorFromConfig,
  verifyingAuthenticator,
} from "../../../services/target-service/auth";
import { readTargetConfig } from "../../../services/target-service/config";
import { captureLogs } from "../../helpers/logs";
import { emailNearMisses } from "../../helpers/nearMisses";
import { TestServers } from "../../helpers/servers";
import {
  hs256WithPublicKey,
  idTokenClaims,
  newSigningKey,
  nowSeconds,
  signToken,
  tokenParts,
  tokensAround,
  unsignedToken,
  withCorruptedSignature,
  withRemovedSignature,
} from "../../helpers/tokens";

const AUDIENCE = "https://target.example.run.app";
const CUSTOM_AUDIENCE = "https://custom.example";
const CLIENT = "client@demo-project.iam.gserviceaccount.com";
const ISSUER = "https://accounts.google.com";

const servers = new TestServers();
const trusted = newSigningKey();
const stranger = newSigningKey();
const logs = captureLogs("target");
/** Configured as a user would for Google's tokens: default issuers, only the key URL local. */
let target: RunningServer;
/** Configured with JWKS_URL and TOKEN_ISSUER, as for another issuer. */
let targetWithOwnIssuer: RunningServer;

const ENV = {
  AUTH_MODE: "verify",
  AUDIENCES: `${AUDIENCE},${CUSTOM_AUDIENCE}`,
  ALLOWED_INVOKERS: CLIENT,
};

function app(authenticate: ReturnType<typeof authenticatorFromConfig>): Express {
  return createTargetApp({ logger: logs.logger, authMode: "verify", authenticate });
}

beforeAll(async () => {
  const jwks = await servers.stub((_req, res) => {
    res.set("Cache-Control", "public, max-age=3600").json({ keys: [trusted.jwk] });
  });
  const googleDefaults = readTargetConfig(new EnvReader(ENV));
  if (googleDefaults.authMode !== "verify") throw new Error("expected verify mode");
  target = await servers.serve(
    app(
      verifyingAuthenticator(
        { ...googleDefaults.verify, jwksUrl: jwks.url },
        googleDefaults.allowedInvokers,
        logs.logger,
      ),
    ),
  );
  const ownIssuer = readTargetConfig(
    new EnvReader({ ...ENV, JWKS_URL: jwks.url, TOKEN_ISSUER: ISSUER }),
  );
  targetWithOwnIssuer = await servers.serve(app(authenticatorFromConfig(ownIssuer, logs.logger)));
});
afterAll(() => servers.closeAll());

async function call(headers: Record<string, string>, server = target) {
  const response = await fetch(server.url, { headers });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}

/** A validly signed token whose claims differ from a good one's by `overrides`. */
function signed(overrides: Record<string, unknown>): Promise<string> {
  return signToken(trusted, idTokenClaims(overrides));
}

async function expectAccepted(token: string, server = target): Promise<void> {
  const { status, body } = await call(bearer(token), server);
  expect({ status, caller: body.caller }).toEqual({
    status: 200,
    caller: { email: CLIENT, subject: "111111111111111111111" },
  });
}

describe("a target in verify mode", () => {
  it("answers 200 naming the caller's e-mail for a valid token", async () => {
    const { status, body } = await call(bearer(await signed({})));
    expect(status).toBe(200);
    expect(body.caller).toEqual({ email: CLIENT, subject: "111111111111111111111" });
    expect(body.authMode).toBe("verify");
  });

  it("accepts both of Google's issuer spellings by default", async () => {
    await expectAccepted(await signed({ iss: "https://accounts.google.com" }));
    await expectAccepted(await signed({ iss: "accounts.google.com" }));
  });

  it("accepts a token for a configured custom audience", async () => {
    await expectAccepted(await signed({ aud: CUSTOM_AUDIENCE }));
  });

  it("with TOKEN_ISSUER set, accepts that issuer and refuses Google's other spelling", async () => {
    await expectAccepted(await signed({ iss: ISSUER }), targetWithOwnIssuer);
    const other = await call(
      bearer(await signed({ iss: "accounts.google.com" })),
      targetWithOwnIssuer,
    );
    expect(other.status).toBe(401);
    expect(other.body.message).toMatch(/untrusted issuer/);
  });

  it("accepts tokens off by less than the 30 s clock skew: expired 10 s ago, issued 20 s ahead", async () => {
    const now = nowSeconds();
    await expectAccepted(await signed({ iat: now - 3610, exp: now - 10 }));
    await expectAccepted(await signed({ iat: now + 20, exp: now + 3620 }));
  });

  it("accepts a token that lives exactly one day", async () => {
    const now = nowSeconds();
    await expectAccepted(await signed({ iat: now, exp: now + MAX_LIFETIME_SECONDS }));
  });

  it(`accepts a token of at most ${MAX_TOKEN_LENGTH} characters`, async () => {
    const { within } = await tokensAround(trusted, idTokenClaims(), MAX_TOKEN_LENGTH);
    expect(within.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    await expectAccepted(within);
  });

  type Rejection = [string, () => Promise<Record<string, string>>, number, RegExp];
  const byClaims = (overrides: Record<string, unknown>) => async () =>
    bearer(await signed(overrides));
  const now = nowSeconds();

  /** Tokens whose claims differ from a good one's, each refused with 401 for `reason`. */
  const refusedClaims = (
    reason: RegExp,
    cases: Array<[string, Record<string, unknown>]>,
  ): Rejection[] => cases.map(([name, overrides]) => [name, byClaims(overrides), 401, reason]);

  const nearMisses: Rejection[] = [
    // Audiences that share a prefix or a suffix with a real one, or differ only in form.
    ...refusedClaims(/another audience/, [
      ["an audience extending the real one", { aud: `${AUDIENCE}.evil.example` }],
      ["an audience the real one extends", { aud: AUDIENCE.slice(0, -1) }],
      ["an audience ending with the real one", { aud: `https://evil.example/${AUDIENCE}` }],
      [
        "an audience with the real one's host as a suffix",
        { aud: "https://eviltarget.example.run.app" },
      ],
      ["the real audience with a trailing slash", { aud: `${AUDIENCE}/` }],
      ["the real audience in capitals", { aud: AUDIENCE.toUpperCase() }],
      ["an audience list holding only a near miss", { aud: [`${AUDIENCE}.evil.example`] }],
    ]),
    // Issuers that share a prefix or a suffix with Google's.
    ...refusedClaims(/untrusted issuer/, [
      ["an issuer extending Google's", { iss: "https://accounts.google.com.evil.example" }],
      ["an issuer Google's extends", { iss: "https://accounts.google.co" }],
      ["an issuer ending with Google's", { iss: "https://evil.accounts.google.com" }],
      ["an issuer ending with Google's scheme-less form", { iss: "evilaccounts.google.com" }],
      ["Google's issuer over http", { iss: "http://accounts.google.com" }],
      ["Google's issuer with a trailing slash", { iss: "https://accounts.google.com/" }],
    ]),
    // The time claims: present, numeric, and within the rules.
    ["a token without exp", byClaims({ exp: undefined }), 401, /lacks the exp claim/],
    [
      "a token whose exp is a string",
      byClaims({ exp: String(now + 3600) }),
      401,
      /exp is not a number/,
    ],
    ["a token without iat", byClaims({ iat: undefined }), 401, /lacks the iat claim/],
    ["a token whose iat is a string", byClaims({ iat: String(now) }), 401, /iat is not a number/],
    [
      "a token issued 60 s in the future, beyond the skew",
      byClaims({ iat: now + 60, exp: now + 3660 }),
      401,
      /issued in the future/,
    ],
    [
      "a token that lives one second longer than a day",
      byClaims({ iat: now, exp: now + MAX_LIFETIME_SECONDS + 1 }),
      401,
      /longer than one day/,
    ],
    ["an expired token", byClaims({ iat: now - 7200, exp: now - 3600 }), 401, /expired/],
    [
      "a token expired 60 s ago, beyond the skew",
      byClaims({ iat: now - 3660, exp: now - 60 }),
      401,
      /expired/,
    ],
    ["a token that is not valid yet", byClaims({ nbf: now + 600 }), 401, /not valid yet/],
    // Identity claims.
    ["a token without sub", byClaims({ sub: undefined }), 401, /lacks the sub claim/],
    ["a token with an empty sub", byClaims({ sub: "" }), 401, /lacks the sub claim/],
    ["a token whose sub is a number", byClaims({ sub: 111111111111 }), 401, /lacks the sub claim/],
    ["a token without an e-mail", byClaims({ email: undefined }), 401, /lacks the email claim/],
    ...refusedClaims(/not verified/, [
      ['a token with email_verified as the string "true"', { email_verified: "true" }],
      ["a token without email_verified", { email_verified: undefined }],
      ["a token with email_verified false", { email_verified: false }],
      ["a token with email_verified 1", { email_verified: 1 }],
    ]),
    // Invoker e-mails that contain, or are contained in, the allowed one.
    ...emailNearMisses(CLIENT).map(([how, email]): Rejection => [
      `a caller whose e-mail ${how}`,
      byClaims({ email }),
      403,
      /is not allowed/,
    ]),
    // The length bound, the application's own.
    [
      `a valid token just over ${MAX_TOKEN_LENGTH} characters`,
      async () => bearer((await tokensAround(trusted, idTokenClaims(), MAX_TOKEN_LENGTH)).over),
      401,
      /longer than 8192 characters/,
    ],
  ];

  const forgeries: Rejection[] = [
    [
      "a bad signature",
      async () => bearer(withCorruptedSignature(await signed({}))),
      401,
      /signature is invalid/,
    ],
    [
      "a token signed by another key under the trusted key id",
      async () =>
        bearer(await signToken(stranger, idTokenClaims(), { header: { kid: trusted.kid } })),
      401,
      /signature is invalid/,
    ],
    [
      "a token signed by an unknown key",
      async () => bearer(await signToken(stranger, idTokenClaims())),
      401,
      /unknown key/,
    ],
    ["an alg none token", async () => bearer(unsignedToken(idTokenClaims())), 401, /RS256/],
    [
      "an HS256 token keyed with the public key",
      async () => bearer(await hs256WithPublicKey(trusted, idTokenClaims())),
      401,
      /RS256/,
    ],
    [
      "a token naming a critical header parameter it does not understand",
      async () =>
        bearer(
          await signToken(trusted, idTokenClaims(), {
            header: {
              crit: ["https://example.com/must-understand"],
              "https://example.com/must-understand": true,
            },
            crit: { "https://example.com/must-understand": true },
          }),
        ),
      401,
      /not a well-formed, understood JWT/,
    ],
    [
      "a malformed Authorization header",
      async () => ({ authorization: "Basic dXNlcjpwYXNz" }),
      401,
      /Bearer scheme/,
    ],
    ["Bearer with no token", async () => ({ authorization: "Bearer " }), 401, /no token/],
    ["a token that is not a JWT", async () => bearer("not-a-jwt"), 401, /not a well-formed/],
    [
      "a token whose payload is not JSON (its signature is checked first)",
      async () =>
        bearer(`${Buffer.from('{"alg":"RS256"}').toString("base64url")}.bm90IGpzb24.c2ln`),
      401,
      /signature is invalid/,
    ],
    ["a missing Authorization header", async () => ({}), 401, /requires a Google-signed ID token/],
  ];

  it.each([...nearMisses, ...forgeries])(
    "refuses %s, never repeating the token",
    async (_name, headers, expectedStatus, reason) => {
      const sent = await headers();
      const { status, body } = await call(sent);
      expect(status).toBe(expectedStatus);
      expect(body.message).toMatch(reason);
      const token = sent.authorization?.split(" ")[1];
      for (const part of token ? tokenParts(token) : []) {
        expect(JSON.stringify(body)).not.toContain(part);
        expect(logs.text()).not.toContain(part);
      }
    },
  );

  it("challenges a request without a token with a bare WWW-Authenticate: Bearer", async () => {
    const { headers } = await call({});
    expect(headers.get("www-authenticate")).toBe('Bearer realm="target"');
  });

  it("says invalid_token in WWW-Authenticate for a bad token", async () => {
    const { headers } = await call(bearer(await signToken(stranger, idTokenClaims())));
    expect(headers.get("www-authenticate")).toMatch(
      /^Bearer realm="target", error="invalid_token"/,
    );
  });
});

describe("a target in verify mode whose key set cannot be loaded", () => {
  const own = new TestServers();
  let lonely: RunningServer;
  beforeAll(async () => {
    const failing = await own.stub((_req, res) => {
      res.status(500).end();
    });
    const config = readTargetConfig(
      new EnvReader({ ...ENV, JWKS_URL: failing.url, TOKEN_ISSUER: ISSUER }),
    );
    lonely = await own.serve(app(authenticatorFromConfig(config, logs.logger)));
  });
  afterAll(() => own.closeAll());

  it("answers 503 keys_unavailable, not 401, for a valid-looking token", async () => {
    const { status, body, headers } = await call(bearer(await signed({})), lonely);
    expect(status).toBe(503);
    expect(body.error).toBe("keys_unavailable");
    expect(headers.get("retry-after")).toBe("5");
  });

  it("still answers 401 to a garbage token, which fails before any key is needed", async () => {
    expect((await call(bearer("a.b.c"), lonely)).status).toBe(401);
  });
});

describe("a target in verify mode whose key set holds two keys", () => {
  let twoKeys: RunningServer;
  beforeAll(async () => {
    const jwks = await servers.stub((_req, res) => res.json({ keys: [trusted.jwk, stranger.jwk] }));
    twoKeys = await servers.serve(
      app(
        verifyingAuthenticator(
          { audiences: [AUDIENCE], issuers: [ISSUER], jwksUrl: jwks.url, clockSkewSeconds: 30 },
          [CLIENT],
          logs.logger,
        ),
      ),
    );
  });

  it("answers 401, not 503, to a token without a key id, while one naming its key is accepted", async () => {
    await expectAccepted(await signed({}), twoKeys);
    const withoutKid = await signToken(trusted, idTokenClaims(), { header: { kid: undefined } });
    const { status, body } = await call(bearer(withoutKid), twoKeys);
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_token");
    expect(body.message).toBe("token does not single out one of the signing keys");
  });
});

describe("a target in verify mode, at the documented limits", () => {
  it("accepts a token that lives 86 400 s, one day, and refuses one that lives 86 401 s", async () => {
    const now = nowSeconds();
    await expectAccepted(await signed({ iat: now, exp: now + 86_400 }));
    const longer = await call(bearer(await signed({ iat: now, exp: now + 86_401 })));
    expect(longer.status).toBe(401);
    expect(longer.body.message).toMatch(/longer than one day/);
  });

  it("refuses a token whose e-mail is empty", async () => {
    const empty = await call(bearer(await signed({ email: "" })));
    expect(empty.status).toBe(401);
    expect(empty.body.message).toMatch(/lacks the email claim/);
  });

  it("names the caller by its e-mail lower-cased", async () => {
    await expectAccepted(await signed({ email: "Client@Demo-Project.IAM.gserviceaccount.com" }));
  });

  it.each(["RS512", "PS256", "RS384"])("refuses a token signed with %s", async (alg) => {
    const other = await call(
      bearer(await signToken(trusted, idTokenClaims(), { header: { alg } })),
    );
    expect(other.status).toBe(401);
    expect(other.body.message).toMatch(/must be RS256/);
  });
});

describe("which header a target in verify mode checks", () => {
  it("verifies Authorization and ignores X-Serverless-Authorization, which Cloud Run has stripped", async () => {
    const token = await signed({});
    const served = await call({
      "x-serverless-authorization": `Bearer ${withRemovedSignature(token)}`,
      authorization: `Bearer ${token}`,
    });
    expect(served.status).toBe(200);
    expect(served.body.caller).toEqual({ email: CLIENT, subject: "111111111111111111111" });
  });

  it("refuses a stripped token in Authorization even beside a valid X-Serverless-Authorization", async () => {
    const token = await signed({});
    const refused = await call({
      "x-serverless-authorization": `Bearer ${token}`,
      authorization: `Bearer ${withRemovedSignature(token)}`,
    });
    expect(refused.status).toBe(401);
  });

  it("answers 401 without a token when only X-Serverless-Authorization carries one", async () => {
    const refused = await call({ "x-serverless-authorization": `Bearer ${await signed({})}` });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe("missing_token");
  });
});

describe("a verifying target's allow-list", () => {
  let kelvinTarget: RunningServer;
  beforeAll(async () => {
    const jwks = await servers.stub((_req, res) => res.json({ keys: [trusted.jwk] }));
    kelvinTarget = await servers.serve(
      app(
        verifyingAuthenticator(
          { audiences: [AUDIENCE], issuers: [ISSUER], jwksUrl: jwks.url, clockSkewSeconds: 30 },
          ["kelvin@demo-project.iam.gserviceaccount.com"],
          logs.logger,
        ),
      ),
    );
  });

  it("refuses an e-mail with U+212A KELVIN SIGN in place of k, and admits the e-mail with k", async () => {
    const as = async (email: string) =>
      (await call(bearer(await signed({ email })), kelvinTarget)).status;
    expect(await as("\u212Aelvin@demo-project.iam.gserviceaccount.com")).toBe(403);
    expect(await as("kelvin@demo-project.iam.gserviceaccount.com")).toBe(200);
  });
});
