import { createPublicKey } from "node:crypto";
import { createLocalJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify } from "jose";
import { TokenIssuer } from "../../local/tokenIssuer";

describe("the token issuer", () => {
  it("signs with the one key it publishes, as a JWKS and as PEM under the same id", async () => {
    const issuer = new TokenIssuer();
    const token = await issuer.issue({
      email: "caller@demo.iam.gserviceaccount.com",
      audience: "https://target.test",
      format: "full",
    });
    const jwks = await issuer.jwks();
    expect(jwks.keys).toHaveLength(1);
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      audience: "https://target.test",
    });
    expect(payload.email).toBe("caller@demo.iam.gserviceaccount.com");
    const kid = await issuer.currentKid();
    expect(decodeProtectedHeader(token).kid).toBe(kid);
    expect(jwks.keys[0]!.kid).toBe(kid);
    const pem = (await issuer.pemCerts())[kid]!;
    await expect(jwtVerify(token, createPublicKey(pem))).resolves.toBeDefined();
  });

  it("signs with a key of its own otherwise, which another issuer's key does not verify", async () => {
    const other = await generateKeyPair("RS256");
    const token = await new TokenIssuer().issue({
      email: "caller@demo.iam.gserviceaccount.com",
      audience: "https://target.test",
      format: "full",
    });
    await expect(jwtVerify(token, other.publicKey)).rejects.toThrow(/signature/);
  });
});
