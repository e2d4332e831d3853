import { GoogleAuth, OAuth2Client } from "google-auth-library";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { FAKE_ACCESS_TOKEN } from "../../local/metadataServer";
import { CLIENT_EMAIL, startMetadata, type TestMetadata, useMetadata } from "../helpers/metadata";
import { TestServers } from "../helpers/servers";

const servers = new TestServers();
let metadata: TestMetadata;

beforeAll(async () => {
  metadata = await startMetadata(servers);
});
afterAll(() => servers.closeAll());

const IDENTITY = "/computeMetadata/v1/instance/service-accounts/default/identity";

function get(path: string, headers: Record<string, string> = { "Metadata-Flavor": "Google" }) {
  return fetch(`${metadata.url}${path}`, { headers });
}

describe("the metadata-server stand-in", () => {
  it("refuses a request without Metadata-Flavor: Google with 403", async () => {
    const response = await get(`${IDENTITY}?audience=https://a.example`, {});
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/Metadata-Flavor/);
  });

  it("refuses a request with the wrong Metadata-Flavor value", async () => {
    expect(
      (await get("/computeMetadata/v1/instance", { "Metadata-Flavor": "google" })).status,
    ).toBe(403);
  });

  it("refuses a request carrying X-Forwarded-For, as proxied requests are refused on Cloud Run", async () => {
    const response = await get(`${IDENTITY}?audience=https://a.example`, {
      "Metadata-Flavor": "Google",
      "X-Forwarded-For": "203.0.113.7",
    });
    expect(response.status).toBe(403);
  });

  it("answers 400 for an identity request without an audience", async () => {
    const response = await get(IDENTITY);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/audience/);
  });

  it("sends Metadata-Flavor: Google on every answer, refusals included", async () => {
    for (const response of [
      await get("/computeMetadata/v1/instance"),
      await get("/computeMetadata/v1/instance", {}),
      await get("/computeMetadata/v1/nothing-here"),
      await get("/oauth2/v3/certs", {}),
    ]) {
      expect(response.headers.get("metadata-flavor")).toBe("Google");
    }
  });

  it("answers the detection ping, project id, e-mail and a clearly fake access token", async () => {
    expect((await get("/computeMetadata/v1/instance")).status).toBe(200);
    expect(await (await get("/computeMetadata/v1/project/project-id")).text()).toBe("demo-project");
    expect(
      await (await get("/computeMetadata/v1/instance/service-accounts/default/email")).text(),
    ).toBe(CLIENT_EMAIL);
    const token = (await (
      await get("/computeMetadata/v1/instance/service-accounts/default/token")
    ).json()) as {
      access_token: string;
    };
    expect(token.access_token).toBe(FAKE_ACCESS_TOKEN);
    expect(token.access_token).toMatch(/fake/);
  });

  it("issues a full-format RS256 ID token with Google's claims, valid for one hour", async () => {
    const response = await get(`${IDENTITY}?audience=https://a.example&format=full`);
    const token = await response.text();
    const payload = decodeJwt(token);
    expect(decodeProtectedHeader(token)).toMatchObject({
      alg: "RS256",
      kid: await metadata.issuer.currentKid(),
    });
    expect(payload).toMatchObject({
      iss: "https://accounts.google.com",
      aud: "https://a.example",
      email: CLIENT_EMAIL,
      email_verified: true,
    });
    expect(payload.sub).toMatch(/^\d{21}$/);
    expect(payload.azp).toBe(payload.sub);
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it("leaves the e-mail out of a standard-format token", async () => {
    const payload = decodeJwt(await (await get(`${IDENTITY}?audience=https://a.example`)).text());
    expect(payload.email).toBeUndefined();
    expect(payload.aud).toBe("https://a.example");
  });

  it("answers for its own account by name and for no other account", async () => {
    const own = `/computeMetadata/v1/instance/service-accounts/${CLIENT_EMAIL}/identity?audience=x`;
    expect((await get(own)).status).toBe(200);
    const other =
      "/computeMetadata/v1/instance/service-accounts/someone@else.example/identity?audience=x";
    expect((await get(other)).status).toBe(404);
  });

  it("publishes its keys as a JWKS and as PEM, with Cache-Control: max-age", async () => {
    const jwks = await get("/oauth2/v3/certs", {});
    expect(jwks.headers.get("cache-control")).toMatch(/max-age=\d+/);
    const { keys } = (await jwks.json()) as {
      keys: Array<{ kid: string; kty: string; alg: string }>;
    };
    const kid = await metadata.issuer.currentKid();
    expect(keys).toEqual([expect.objectContaining({ kid, kty: "RSA", alg: "RS256" })]);
    const pem = await get("/oauth2/v1/certs", {});
    expect(pem.headers.get("cache-control")).toMatch(/max-age=\d+/);
    const certs = (await pem.json()) as Record<string, string>;
    expect(certs[kid]).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it("keeps publishing the previous key after a rotation, and signs with the new one", async () => {
    const own = await startMetadata(servers);
    const before = await own.issuer.currentKid();
    const after = await own.issuer.rotate();
    expect(after).not.toBe(before);

    const jwks = (await (await fetch(own.jwksUrl)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid)).toEqual([after, before]);
    const pem = (await (await fetch(`${own.url}/oauth2/v1/certs`)).json()) as object;
    expect(Object.keys(pem)).toEqual([after, before]);
    const token = await (
      await fetch(`${own.url}${IDENTITY}?audience=x&format=full`, {
        headers: { "Metadata-Flavor": "Google" },
      })
    ).text();
    expect(decodeProtectedHeader(token).kid).toBe(after);
  });

  it("answers identity requests with an injected body, then with tokens again", async () => {
    const own = await startMetadata(servers);
    own.faults.answerIdentityRequests(1, "<html>not a token</html>");
    const identity = () =>
      fetch(`${own.url}${IDENTITY}?audience=x`, { headers: { "Metadata-Flavor": "Google" } });
    const injected = await identity();
    expect(injected.status).toBe(200);
    expect(await injected.text()).toBe("<html>not a token</html>");
    expect(decodeJwt(await (await identity()).text()).aud).toBe("x");
  });
});

describe("unmodified google-auth-library against the stand-in", () => {
  it("gets an ID token for the requested audience and verifies it against the stand-in's PEM keys", async () => {
    useMetadata(metadata);
    const client = await new GoogleAuth().getIdTokenClient("https://target.example");
    const headers = await client.getRequestHeaders();
    const token = (headers.get("authorization") ?? "").replace(/^Bearer /, "");
    expect(decodeJwt(token)).toMatchObject({
      aud: "https://target.example",
      email: CLIENT_EMAIL,
    });

    const verifier = new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: `${metadata.url}/oauth2/v1/certs` },
    });
    const ticket = await verifier.verifyIdToken({
      idToken: token,
      audience: "https://target.example",
    });
    expect(ticket.getPayload()?.email).toBe(CLIENT_EMAIL);
  });
});
