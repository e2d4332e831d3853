/**
 * Test-only token minting: RSA keys generated per run, and ID tokens with any header or claim
 * changed, so each verification rule can be broken on purpose.
 */
import {
  createHmac,
  createSign,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";

export interface TestSigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as a JWK, as a key set publishes it. */
  jwk: object;
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

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
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

/** An RS256 token signed with `key`; `header` overrides the JOSE header. */
export function signToken(
  key: TestSigningKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const signingInput = `${encode({ alg: "RS256", kid: key.kid, typ: "JWT", ...header })}.${encode(claims)}`;
  const signature = createSign("RSA-SHA256").update(signingInput).sign(key.privateKey);
  return `${signingInput}.${signature.toString("base64url")}`;
}

/** An unsigned `alg: none` token. */
export function unsignedToken(claims: Record<string, unknown>, kid: string): string {
  return `${encode({ alg: "none", kid, typ: "JWT" })}.${encode(claims)}.`;
}

/** The classic key-confusion forgery: HS256 with the RSA public key's PEM as the HMAC secret. */
export function hs256WithPublicKey(key: TestSigningKey, claims: Record<string, unknown>): string {
  const signingInput = `${encode({ alg: "HS256", kid: key.kid, typ: "JWT" })}.${encode(claims)}`;
  const secret = key.publicKey.export({ format: "pem", type: "spki" });
  return `${signingInput}.${createHmac("sha256", secret).update(signingInput).digest("base64url")}`;
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
