/**
 * What verifying one fresh token costs the target in `verify` mode (jose, plus the Google rules
 * on top), against google-auth-library's `OAuth2Client.verifyIdToken` on the same tokens and the
 * same published keys. Both run in this process, alternating in rounds; both have their keys
 * cached before timing starts, and neither sees a token twice in a row, so no cache of verified
 * tokens is involved.
 */
import { OAuth2Client } from "google-auth-library";
import { startMetadataServer } from "../local/metadataServer";
import { TokenIssuer } from "../local/tokenIssuer";
import { GOOGLE_ISSUERS, verifyIdToken } from "../services/shared/idToken";
import { remoteKeySet } from "../services/shared/remoteKeySet";
import { median, round } from "./measure";
import type { Progress } from "./progress";

export interface VerificationResult {
  /** Microseconds per fresh token, the target's verify mode (jose). */
  joseMicroseconds: number;
  googleAuthLibraryMicroseconds: number;
  /** jose / google-auth-library: below 1 is cheaper. */
  costRatio: number;
  distinctTokens: number;
}

const AUDIENCE = "https://target.bench.example";
const EMAIL = "s2s-client@bench-project.iam.gserviceaccount.com";

async function microsecondsPerCall(
  verify: (token: string) => Promise<unknown>,
  tokens: readonly string[],
  ms: number,
): Promise<number> {
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    await verify(tokens[calls % tokens.length]!);
    calls += 1;
  }
  return ((performance.now() - started) * 1000) / calls;
}

export async function benchmarkVerification(
  rounds: number,
  msPerRound: number,
  progress: Progress,
): Promise<VerificationResult> {
  const issuer = new TokenIssuer();
  const server = await startMetadataServer({ projectId: "bench-project", email: EMAIL, issuer });
  try {
    // Distinct tokens, so neither side can profit from seeing the same string twice in a row.
    const now = Math.floor(Date.now() / 1000);
    const tokens = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        issuer.issue({ email: EMAIL, audience: AUDIENCE, format: "full", issuedAt: now - i }),
      ),
    );
    const keys = remoteKeySet({ url: server.jwksUrl });
    const jose = (token: string) =>
      verifyIdToken(token, {
        keys,
        audiences: [AUDIENCE],
        issuers: GOOGLE_ISSUERS,
        clockSkewSeconds: 30,
      });
    const library = new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: `${server.url}/oauth2/v1/certs` },
    });
    const googleAuthLibrary = (token: string) =>
      library.verifyIdToken({ idToken: token, audience: AUDIENCE });
    // Both verify once first: that fetches and caches the keys, and proves both accept the tokens.
    await jose(tokens[0]!);
    await googleAuthLibrary(tokens[0]!);

    const joseTimes: number[] = [];
    const theirTimes: number[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      progress.next(`verification, round ${round}/${rounds}`);
      joseTimes.push(await microsecondsPerCall(jose, tokens, msPerRound));
      theirTimes.push(await microsecondsPerCall(googleAuthLibrary, tokens, msPerRound));
    }
    const joseMicroseconds = median(joseTimes);
    const googleAuthLibraryMicroseconds = median(theirTimes);
    return {
      joseMicroseconds: round(joseMicroseconds),
      googleAuthLibraryMicroseconds: round(googleAuthLibraryMicroseconds),
      costRatio: round(joseMicroseconds / googleAuthLibraryMicroseconds, 3),
      distinctTokens: tokens.length,
    };
  } finally {
    await server.stop();
  }
}
