import { generateKeyPair, jwtVerify } from "jose";
import { TokenIssuer } from "../../local/tokenIssuer";

describe("the token issuer", () => {
  it("signs with the key pair it is given, and publishes that key", async () => {
    const keyPair = await generateKeyPair("RS256", { extractable: true });
    const issuer = new TokenIssuer({ keyPair });
    const token = await issuer.issue({
      email: "caller@demo.iam.gserviceaccount.com",
      audience: "https://target.test",
      format: "full",
    });
    const { payload } = await jwtVerify(token, keyPair.publicKey, {
      audience: "https://target.test",
    });
    expect(payload.email).toBe("caller@demo.iam.gserviceaccount.com");
    const { keys } = await issuer.jwks();
    expect(keys).toHaveLength(1);
    expect(keys[0]!.kid).toBe(await issuer.currentKid());
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
