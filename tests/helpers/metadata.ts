/** A metadata-server stand-in for one identity, with google-auth-library pointed at it. */
import { type RunningMetadataServer, startMetadataServer } from "../../local/metadataServer";
import { TokenIssuer } from "../../local/tokenIssuer";
import type { TestServers } from "./servers";

export const TEST_PROJECT = "demo-project";
export const CLIENT_EMAIL = `client@${TEST_PROJECT}.iam.gserviceaccount.com`;

export interface TestMetadata extends RunningMetadataServer {
  issuer: TokenIssuer;
}

/** Starts a stand-in that stops when `servers` close. */
export async function startMetadata(
  servers: TestServers,
  email = CLIENT_EMAIL,
  issuer = new TokenIssuer(),
): Promise<TestMetadata> {
  const metadata = await startMetadataServer({ projectId: TEST_PROJECT, email, issuer });
  servers.adopt(metadata.stop);
  return { ...metadata, issuer };
}

/**
 * Points google-auth-library, in this process, at the stand-in. GOOGLE_CLOUD_PROJECT keeps it
 * from spawning gcloud to look for a project.
 */
export function useMetadata(metadata: TestMetadata): void {
  process.env.GCE_METADATA_HOST = metadata.host;
  process.env.GOOGLE_CLOUD_PROJECT = TEST_PROJECT;
}
