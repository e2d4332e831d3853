/**
 * Test-only token minting: RSA keys generated per run, and ID tokens with any header or claim
 * changed, so each verification rule can be broken on purpose. jose signs every token.
 */
import { generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { type JWK, SignJWT, UnsecuredJWT } from "jose";

export interface TestSigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as a JWK, as a key set publishes it. */
  jwk: JWK;
}

export function newSigningKey(kid = randomBytes(8).toString("hex")): TestSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    kid,
    privateKey,
    publicKey,
    jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" },
  };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Claims of a valid Google ID token for a service account. */
export function idTokenClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowSeconds();
  return {
    iss: "https://accounts.google.com",
    aud: "https://target.example.run.app",
    azp: "111111111111111111111",
    sub: "111111111111111111111",
    email: "client@demo-project.iam.gserviceaccount.com",
    email_verified: true,
    iat,
    exp: iat + 3600,
    ...overrides,
  };
}

export interface SignOptions {
  /** Overrides or adds JOSE header parameters. */
  header?: Record<string, unknown>;
  /** Extension header parameters jose may accept as critical while signing. */
  crit?: Record<string, boolean>;
}

/** A token signed with `key`'s private key: RS256 unless the header says otherwise. */
export function signToken(
  key: TestSigningKey,
  claims: Record<string, unknown>,
  { header = {}, crit }: SignOptions = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT", ...header })
    .sign(key.privateKey, crit && { crit });
}

/** An unsigned `alg: none` token. */
export function unsignedToken(claims: Record<string, unknown>): string {
  return new UnsecuredJWT(claims).encode();
}

/** The classic key-confusion forgery: HS256 with the RSA public key's PEM as the HMAC secret. */
export function hs256WithPublicKey(
  key: TestSigningKey,
  claims: Record<string, unknown>,
): Promise<string> {
  const secret = Buffer.from(key.publicKey.export({ format: "pem", type: "spki" }));
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: key.kid }).sign(secret);
}

/** The token as Cloud Run forwards it: signature replaced. */
export function withRemovedSignature(token: string): string {
  return `${token.split(".").slice(0, 2).join(".")}.SIGNATURE_REMOVED_BY_GOOGLE`;
}

/** The same token with its signature's bytes flipped. */
export function withCorruptedSignature(token: string): string {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const bytes = Buffer.from(signature, "base64url");
  bytes[0] = bytes[0]! ^ 0xff;
  return `${header}.${payload}.${bytes.toString("base64url")}`;
}

/**
 * Two valid tokens either side of a length bound, made so by a padding claim: the longest that
 * is at most `bound` characters, and the shortest that is longer (base64url grows in steps, so
 * each is within a few characters of the bound). `shape` turns a signed token into what is
 * measured and returned, e.g. the token as Cloud Run forwards it.
 */
export async function tokensAround(
  key: TestSigningKey,
  claims: Record<string, unknown>,
  bound: number,
  shape: (token: string) => string = (token) => token,
): Promise<{ within: string; over: string }> {
  const make = async (padding: number) =>
    shape(await signToken(key, { ...claims, padding: "p".repeat(padding) }));
  // The smallest padding that makes the token longer than the bound.
  let low = 0;
  let high = bound;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if ((await make(middle)).length > bound) high = middle;
    else low = middle + 1;
  }
  return { within: await make(low - 1), over: await make(low) };
}

/** Every part of a token that must never appear in a log: the whole, and each segment. */
export function tokenParts(token: string): string[] {
  return [token, ...token.split(".").filter((part) => part.length >= 8)];
}
