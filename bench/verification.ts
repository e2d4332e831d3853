/**
 * What verifying one fresh token costs: the target's `verify` mode (jose, plus the Google rules
 * on top) against google-auth-library's `OAuth2Client.verifyIdToken`, on the same tokens signed
 * by the same key.
 *
 * Each verifier gets the keys the way Google publishes them for it: jose reads the JSON Web Key
 * Set, google-auth-library the map of X.509 certificates (https://www.googleapis.com/oauth2/v1/certs
 * serves certificates, and the library parses whatever it gets there on every verification).
 * The signing key and its certificate are made with the openssl command at run time, in a
 * temporary directory removed afterwards, and the tokens, shaped like the metadata server's,
 * are signed here with that key. Both have their keys cached before timing starts, they
 * alternate in rounds, and neither sees a token twice in a row, so no cache of verified tokens
 * is involved. Reported per token: wall time (one verification at a time) and the CPU time the
 * process spent, all threads included, since jose's signature check runs on libuv's pool.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { OAuth2Client } from "google-auth-library";
import { exportJWK, importPKCS8, importX509, type JWK, SignJWT } from "jose";
import { uniqueIdFor } from "../local/tokenIssuer";
import {
  DEFAULT_CLOCK_SKEW_SECONDS,
  GOOGLE_ISSUERS,
  verifyIdToken,
} from "../services/target-service/verification/idToken";
import { remoteKeySet } from "../services/target-service/verification/remoteKeySet";
import { median, round } from "./measure";
import type { Progress } from "./progress";

export interface VerifierCost {
  /** Wall time per token, one verification awaited after another, in µs. */
  wallMicroseconds: number;
  /** CPU time per token, every thread of the process, in µs. */
  cpuMicroseconds: number;
}

export interface VerificationResult {
  jose: VerifierCost;
  googleAuthLibrary: VerifierCost;
  /** jose ÷ google-auth-library, per measure: below 1 is cheaper. */
  ratio: { wall: number; cpu: number };
  distinctTokens: number;
}

const AUDIENCE = "https://target.bench.example";
const EMAIL = "s2s-client@bench-project.iam.gserviceaccount.com";

/** An RSA key and a self-signed X.509 certificate for it, from the openssl command. */
function keyAndCertificate(): { keyPem: string; certificatePem: string } {
  const directory = mkdtempSync(path.join(os.tmpdir(), "bench-signing-key-"));
  try {
    const key = path.join(directory, "key.pem");
    const certificate = path.join(directory, "certificate.pem");
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key);
    openssl(
      "req",
      ...["-new", "-x509", "-key", key, "-subj", "/CN=bench-signing-key", "-days", "1"],
      ...["-out", certificate],
    );
    return {
      keyPem: readFileSync(key, "utf8"),
      certificatePem: readFileSync(certificate, "utf8"),
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Signs ID tokens for AUDIENCE as EMAIL with the key, and publishes the key as a JWKS. */
async function signerFor(keyPem: string, certificatePem: string) {
  const privateKey = await importPKCS8(keyPem, "RS256");
  const publicKey = await importX509(certificatePem, "RS256", { extractable: true });
  const kid = "bench-signing-key";
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const subject = uniqueIdFor(EMAIL);
  return {
    kid,
    jwks: { keys: [jwk] },
    sign: (issuedAt: number) =>
      new SignJWT({ azp: subject, email: EMAIL, email_verified: true })
        .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
        .setIssuer(GOOGLE_ISSUERS[0]!)
        .setAudience(AUDIENCE)
        .setSubject(subject)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + 3600)
        .sign(privateKey),
  };
}

/** Serves a JSON document on loopback, cacheable as Google's key endpoints are. */
async function serveJson(body: () => Promise<unknown>): Promise<{ url: string; close(): void }> {
  const server = http.createServer((_req, res) => {
    void body().then((document) => {
      res.writeHead(200, {
        "content-type": "application/json",
        "cache-control": "public, max-age=3600",
      });
      res.end(JSON.stringify(document));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
}

async function costPerToken(
  verify: (token: string) => Promise<unknown>,
  tokens: readonly string[],
  ms: number,
): Promise<VerifierCost> {
  let calls = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < ms) {
    await verify(tokens[calls % tokens.length]!);
    calls += 1;
  }
  const wall = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    wallMicroseconds: (wall * 1000) / calls,
    cpuMicroseconds: (cpu.user + cpu.system) / calls,
  };
}

export async function benchmarkVerification(
  rounds: number,
  msPerRound: number,
  progress: Progress,
): Promise<VerificationResult> {
  const { keyPem, certificatePem } = keyAndCertificate();
  const signer = await signerFor(keyPem, certificatePem);
  const jwks = await serveJson(async () => signer.jwks);
  const certificates = await serveJson(async () => ({ [signer.kid]: certificatePem }));
  try {
    // Distinct tokens, so neither side can profit from seeing the same string twice in a row.
    const now = Math.floor(Date.now() / 1000);
    const tokens = await Promise.all(Array.from({ length: 500 }, (_, i) => signer.sign(now - i)));
    const keys = remoteKeySet({ url: jwks.url });
    const jose = (token: string) =>
      verifyIdToken(token, {
        keys,
        audiences: [AUDIENCE],
        issuers: GOOGLE_ISSUERS,
        clockSkewSeconds: DEFAULT_CLOCK_SKEW_SECONDS,
      });
    const library = new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: certificates.url },
    });
    const googleAuthLibrary = (token: string) =>
      library.verifyIdToken({ idToken: token, audience: AUDIENCE });
    // Both verify once first: that fetches and caches the keys, and proves both accept the tokens.
    await jose(tokens[0]!);
    await googleAuthLibrary(tokens[0]!);

    const joseCosts: VerifierCost[] = [];
    const theirCosts: VerifierCost[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      progress.next(`verification, round ${round}/${rounds}`);
      joseCosts.push(await costPerToken(jose, tokens, msPerRound));
      theirCosts.push(await costPerToken(googleAuthLibrary, tokens, msPerRound));
    }
    const summary = (costs: VerifierCost[]): VerifierCost => ({
      wallMicroseconds: round(median(costs.map((c) => c.wallMicroseconds))),
      cpuMicroseconds: round(median(costs.map((c) => c.cpuMicroseconds))),
    });
    const joseCost = summary(joseCosts);
    const theirCost = summary(theirCosts);
    return {
      jose: joseCost,
      googleAuthLibrary: theirCost,
      ratio: {
        wall: round(joseCost.wallMicroseconds / theirCost.wallMicroseconds, 3),
        cpu: round(joseCost.cpuMicroseconds / theirCost.cpuMicroseconds, 3),
      },
      distinctTokens: tokens.length,
    };
  } finally {
    jwks.close();
    certificates.close();
  }
}
