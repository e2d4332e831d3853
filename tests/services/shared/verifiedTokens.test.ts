import { GOOGLE_ISSUERS } from "../../../services/shared/jwt";
import { cachingVerifier } from "../../../services/shared/verifiedTokens";
import {
  idTokenClaims,
  newSigningKey,
  nowSeconds,
  signToken,
  withCorruptedSignature,
} from "../../helpers/tokens";

const key = newSigningKey();
const AUDIENCE = "https://target.example.run.app";

/** A verifier over one key, counting how often it had to look the key up (once per full check). */
function setup(capacity?: number) {
  let clock = nowSeconds();
  let keyLookups = 0;
  const verify = cachingVerifier(
    {
      keys: async (kid) => {
        keyLookups += 1;
        return kid === key.kid ? key.publicKey : undefined;
      },
      audiences: [AUDIENCE],
      issuers: GOOGLE_ISSUERS,
      clockSkewSeconds: 30,
      now: () => clock,
    },
    capacity,
  );
  return { verify, lookups: () => keyLookups, advance: (seconds: number) => (clock += seconds) };
}

describe("the verified-token cache", () => {
  it("checks a token fully once, then answers the same token from memory", async () => {
    const t = setup();
    const token = signToken(key, idTokenClaims());
    const first = await t.verify(token);
    const again = await t.verify(token);
    expect(again).toEqual(first);
    expect(t.lookups()).toBe(1);
  });

  it("refuses a remembered token once it has expired", async () => {
    const t = setup();
    const token = signToken(key, idTokenClaims());
    await t.verify(token);
    t.advance(3600 + 31);
    await expect(t.verify(token)).rejects.toThrow("token has expired");
  });

  it("never remembers a failure, and a forged signature never hits the cache", async () => {
    const t = setup();
    const token = signToken(key, idTokenClaims());
    await t.verify(token);
    const forged = withCorruptedSignature(token);
    await expect(t.verify(forged)).rejects.toThrow("signature");
    await expect(t.verify(forged)).rejects.toThrow("signature");
    expect(t.lookups()).toBe(3);
  });

  it("forgets the oldest token when full", async () => {
    const t = setup(2);
    const tokens = [1, 2, 3].map((n) => signToken(key, idTokenClaims({ sub: String(n) })));
    for (const token of tokens) await t.verify(token);
    await t.verify(tokens[2]!);
    await t.verify(tokens[1]!);
    expect(t.lookups()).toBe(3);
    await t.verify(tokens[0]!);
    expect(t.lookups()).toBe(4);
  });
});
