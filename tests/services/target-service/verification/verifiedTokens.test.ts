import { errors, type JWTVerifyGetKey } from "jose";
import { GOOGLE_ISSUERS } from "../../../../services/target-service/verification/idToken";
import {
  cachingVerifier,
  VERIFIED_TOKEN_CAPACITY,
} from "../../../../services/target-service/verification/verifiedTokens";
import {
  idTokenClaims,
  newSigningKey,
  signToken,
  withCorruptedSignature,
} from "../../../helpers/tokens";

const key = newSigningKey();
const AUDIENCE = "https://target.example.run.app";

/** A verifier over one key, counting how often it had to look the key up (once per full check). */
function setup() {
  let keyLookups = 0;
  const keys: JWTVerifyGetKey = async (header) => {
    keyLookups += 1;
    if (header.kid !== key.kid) throw new errors.JWKSNoMatchingKey();
    return key.publicKey;
  };
  const verify = cachingVerifier({
    keys,
    audiences: [AUDIENCE],
    issuers: GOOGLE_ISSUERS,
    clockSkewSeconds: 30,
  });
  return { verify, lookups: () => keyLookups };
}

function token(overrides: Record<string, unknown> = {}): Promise<string> {
  return signToken(key, idTokenClaims({ aud: AUDIENCE, ...overrides }));
}

afterEach(() => jest.useRealTimers());

describe("the verified-token cache", () => {
  it("checks a token fully once, then answers the same token from memory", async () => {
    const t = setup();
    const valid = await token();
    const first = await t.verify(valid);
    const again = await t.verify(valid);
    expect(again).toEqual(first);
    expect(t.lookups()).toBe(1);
  });

  it("refuses a remembered token once it has expired", async () => {
    const t = setup();
    const valid = await token();
    await t.verify(valid);
    jest.useFakeTimers({ doNotFake: ["nextTick", "queueMicrotask", "setImmediate"] });
    jest.setSystemTime(Date.now() + (3600 + 31) * 1000);
    await expect(t.verify(valid)).rejects.toThrow("token has expired");
    expect(t.lookups()).toBe(2);
  });

  it("never remembers a failure, and a forged signature never hits the cache", async () => {
    const t = setup();
    const valid = await token();
    await t.verify(valid);
    const forged = withCorruptedSignature(valid);
    await expect(t.verify(forged)).rejects.toThrow("signature");
    await expect(t.verify(forged)).rejects.toThrow("signature");
    expect(t.lookups()).toBe(3);
  });

  it(`forgets the oldest token when full, at ${VERIFIED_TOKEN_CAPACITY} tokens`, async () => {
    const t = setup();
    const tokens = await Promise.all(
      Array.from({ length: VERIFIED_TOKEN_CAPACITY + 1 }, (_, n) => token({ sub: String(n) })),
    );
    for (const each of tokens) await t.verify(each);
    // The newest and the second oldest are still remembered...
    await t.verify(tokens[VERIFIED_TOKEN_CAPACITY]!);
    await t.verify(tokens[1]!);
    expect(t.lookups()).toBe(VERIFIED_TOKEN_CAPACITY + 1);
    // ...the oldest made way for the last one.
    await t.verify(tokens[0]!);
    expect(t.lookups()).toBe(VERIFIED_TOKEN_CAPACITY + 2);
  });
});
