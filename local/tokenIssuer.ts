/**
 * The local stand-in for Google's token signing: RSA keys generated in memory at start (never
 * written anywhere), ID tokens shaped like the ones Cloud Run's metadata server returns, and
 * the public keys in the two forms Google publishes them.
 */
import {
  createHash,
  createSign,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { GOOGLE_ISSUERS } from "../services/shared/jwt";

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
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface TokenIssuerOptions {
  /** Seconds between `iat` and `exp`; Google uses one hour. */
  lifetimeSeconds?: number;
  /** Current time in seconds; injectable for tests. */
  now?: () => number;
}

/** How many keys stay published after rotation, as Google keeps the previous key listed. */
const PUBLISHED_KEYS = 2;

function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { kid: randomBytes(20).toString("hex"), privateKey, publicKey };
}

/** A stable 21-digit numeric id per e-mail, like a service account's unique id. */
export function uniqueIdFor(email: string): string {
  const digits = BigInt(`0x${createHash("sha256").update(email).digest("hex").slice(0, 16)}`);
  return `1${digits.toString().padStart(20, "0").slice(0, 20)}`;
}

function base64urlJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export class TokenIssuer {
  private keys: SigningKey[] = [newSigningKey()];
  readonly lifetimeSeconds: number;
  private readonly now: () => number;

  constructor(options: TokenIssuerOptions = {}) {
    this.lifetimeSeconds = options.lifetimeSeconds ?? 3600;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** The key new tokens are signed with. */
  get currentKid(): string {
    return this.keys[0]!.kid;
  }

  /** Signs with a new key from now on; the previous key stays published. */
  rotate(): string {
    this.keys = [newSigningKey(), ...this.keys].slice(0, PUBLISHED_KEYS);
    return this.currentKid;
  }

  issue({ email, audience, format, issuedAt }: IssueRequest): string {
    const key = this.keys[0]!;
    const iat = issuedAt ?? this.now();
    const subject = uniqueIdFor(email);
    const payload = {
      aud: audience,
      azp: subject,
      ...(format === "full" && { email, email_verified: true }),
      exp: iat + this.lifetimeSeconds,
      iat,
      iss: GOOGLE_ISSUERS[0],
      sub: subject,
    };
    const signingInput = `${base64urlJson({ alg: "RS256", kid: key.kid, typ: "JWT" })}.${base64urlJson(payload)}`;
    const signature = createSign("RSA-SHA256").update(signingInput).sign(key.privateKey);
    return `${signingInput}.${signature.toString("base64url")}`;
  }

  /** The public keys as a JSON Web Key Set, like https://www.googleapis.com/oauth2/v3/certs. */
  jwks(): { keys: object[] } {
    return {
      keys: this.keys.map(({ kid, publicKey }) => ({
        ...publicKey.export({ format: "jwk" }),
        kid,
        alg: "RS256",
        use: "sig",
      })),
    };
  }

  /**
   * The public keys as PEM by key id, like https://www.googleapis.com/oauth2/v1/certs. Google
   * serves X.509 certificates there; a PEM public key verifies the same way in Node's crypto,
   * which is what google-auth-library uses.
   */
  pemCerts(): Record<string, string> {
    return Object.fromEntries(
      this.keys.map(({ kid, publicKey }) => [
        kid,
        publicKey.export({ format: "pem", type: "spki" }).toString(),
      ]),
    );
  }
}
