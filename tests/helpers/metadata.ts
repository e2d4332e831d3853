/** A metadata-server stand-in for one identity, with google-auth-library pointed at it. */
import { createMetadataServer, type MetadataStats } from "../../local/metadataServer";
import { TokenIssuer } from "../../local/tokenIssuer";
import type { RunningServer } from "../../services/shared/lifecycle";
import type { TestServers } from "./servers";

export const TEST_PROJECT = "demo-project";
export const CLIENT_EMAIL = `client@${TEST_PROJECT}.iam.gserviceaccount.com`;

export interface TestMetadata {
  server: RunningServer;
  issuer: TokenIssuer;
  stats: MetadataStats;
  /** host:port, as GCE_METADATA_HOST wants it. */
  host: string;
  jwksUrl: string;
}

export async function startMetadata(
  servers: TestServers,
  email = CLIENT_EMAIL,
  issuer = new TokenIssuer(),
): Promise<TestMetadata> {
  const { app, stats } = createMetadataServer({ projectId: TEST_PROJECT, email, issuer });
  const server = await servers.serve(app);
  return {
    server,
    issuer,
    stats,
    host: `127.0.0.1:${server.port}`,
    jwksUrl: `${server.url}/oauth2/v3/certs`,
  };
}

/**
 * Points google-auth-library, in this process, at the stand-in. GOOGLE_CLOUD_PROJECT keeps it
 * from spawning gcloud to look for a project.
 */
export function useMetadata(metadata: TestMetadata): void {
  process.env.GCE_METADATA_HOST = metadata.host;
  process.env.GOOGLE_CLOUD_PROJECT = TEST_PROJECT;
}
