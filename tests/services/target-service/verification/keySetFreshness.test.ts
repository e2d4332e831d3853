import { verifyIdToken } from "../../../../services/target-service/verification/idToken";
import { remoteKeySet } from "../../../../services/target-service/verification/remoteKeySet";
import { TestServers } from "../../../helpers/servers";
import { idTokenClaims, newSigningKey, signToken } from "../../../helpers/tokens";

const servers = new TestServers();
const key = newSigningKey();
afterEach(() => jest.restoreAllMocks());
afterAll(() => servers.closeAll());

describe("a key set whose publisher sends no Cache-Control", () => {
  it("is kept for one hour (3 600 s) and fetched again after that", async () => {
    const jwks = await servers.stub((_req, res) => {
      res.json({ keys: [key.jwk] });
    });
    const keys = remoteKeySet({ url: jwks.url });
    const start = Date.now();
    // Only Date.now moves: the key set reads its clock there, while jose checks the token's
    // own times against the real clock, so one token stays valid throughout.
    const claims = idTokenClaims();
    const token = await signToken(key, claims);
    const verifyAt = async (offsetMs: number) => {
      jest.spyOn(Date, "now").mockReturnValue(start + offsetMs);
      await verifyIdToken(token, {
        keys,
        audiences: [String(claims.aud)],
        issuers: ["https://accounts.google.com"],
        clockSkewSeconds: 30,
      });
    };
    await verifyAt(0);
    await verifyAt(3_599_000);
    expect(jwks.hits()).toBe(1);
    await verifyAt(3_601_000);
    expect(jwks.hits()).toBe(2);
  });
});
