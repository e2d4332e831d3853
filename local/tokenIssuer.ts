/**
 * The local stand-in for Google's token signing: RSA keys generated in memory at start (never
 * written anywhere), ID tokens shaped like the ones Cloud Run's metadata server returns, and
 * the public keys in the two forms Google publishes them. jose generates the keys, signs the
 * tokens and exports the public keys.
 */
import { createHash, randomBytes } from "node:crypto";
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from "jose";
import { GOOGLE_ISSUERS } from "../services/target-service/verification/idToken";

export type TokenFormat = "standard" | "full";

export interface IssueRequest {
  email: string;
  audience: string;
  format: TokenFormat;
  /** Seconds since the epoch; now unless a test wants an old token. */
  issuedAt?: number;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  /** The public key as published in the JWKS. */
  jwk: JWK;
  /** The public key as PEM (SPKI). */
  pem: string;
}

export interface TokenIssuerOptions {
  /** Seconds between `iat` and `exp`; Google uses one hour. */
  lifetimeSeconds?: number;
}

/** How many keys stay published after rotation, as Google keeps the previous key listed. */
const PUBLISHED_KEYS = 2;

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { modulusLength: 2048 });
  const kid = randomBytes(20).toString("hex");
  return {
    kid,
    privateKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" },
    pem: await exportSPKI(publicKey),
  };
}

/** A stable 21-digit numeric id per e-mail, like a service account's unique id. */
export function uniqueIdFor(email: string): string {
  const digits = BigInt(`0x${createHash("sha256").update(email).digest("hex").slice(0, 16)}`);
  return `1${digits.toString().padStart(20, "0").slice(0, 20)}`;
}

export class TokenIssuer {
  /** Newest first. Generating keys takes a moment, so it starts at construction. */
  private keys: Promise<SigningKey[]>;
  readonly lifetimeSeconds: number;

  constructor(options: TokenIssuerOptions = {}) {
    this.lifetimeSeconds = options.lifetimeSeconds ?? 3600;
    this.keys = newSigningKey().then((key) => [key]);
  }

  /** The id of the key new tokens are signed with. */
  async currentKid(): Promise<string> {
    return (await this.keys)[0]!.kid;
  }

  /** Signs with a new key from now on, keeping the previous key published; returns its id. */
  async rotate(): Promise<string> {
    const [fresh, published] = await Promise.all([newSigningKey(), this.keys]);
    this.keys = Promise.resolve([fresh, ...published].slice(0, PUBLISHED_KEYS));
    return fresh.kid;
  }

  async issue({ email, audience, format, issuedAt }: IssueRequest): Promise<string> {
    const [key] = await this.keys;
    const iat = issuedAt ?? Math.floor(Date.now() / 1000);
    const subject = uniqueIdFor(email);
    return new SignJWT({
      azp: subject,
      ...(format === "full" && { email, email_verified: true }),
    })
      .setProtectedHeader({ alg: "RS256", kid: key!.kid, typ: "JWT" })
      .setIssuer(GOOGLE_ISSUERS[0]!)
      .setAudience(audience)
      .setSubject(subject)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.lifetimeSeconds)
      .sign(key!.privateKey);
  }

  /** The public keys as a JSON Web Key Set, like https://www.googleapis.com/oauth2/v3/certs. */
  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: (await this.keys).map(({ jwk }) => jwk) };
  }

  /**
   * The public keys as PEM by key id, like https://www.googleapis.com/oauth2/v1/certs. Google
   * serves X.509 certificates there; a PEM public key verifies the same way in Node's crypto,
   * which is what google-auth-library uses.
   */
  async pemCerts(): Promise<Record<string, string>> {
    return Object.fromEntries((await this.keys).map(({ kid, pem }) => [kid, pem]));
  }
}
