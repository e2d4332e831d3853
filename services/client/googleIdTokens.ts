/**
 * ID tokens from Google's metadata server through google-auth-library: on Cloud Run the
 * service's own identity, locally the metadata stand-in named by GCE_METADATA_HOST.
 */
import { resetIsAvailableCache } from "gcp-metadata";
import { GoogleAuth, type IdTokenClient } from "google-auth-library";
import type { IdTokenFetcher } from "./idTokenCache";

/**
 * A fetcher for one audience. The library's ID-token client is created once, on first use,
 * and reused. If creating it fails (say the metadata server was down at that moment) the
 * failure is not kept: both google-auth-library and gcp-metadata remember a failed detection
 * for the life of the process, so the next attempt starts from a clean slate instead.
 */
export function googleIdTokenFetcher(audience: string): IdTokenFetcher {
  let client: Promise<IdTokenClient> | undefined;
  return async () => {
    client ??= new GoogleAuth().getIdTokenClient(audience).catch((error: unknown) => {
      client = undefined;
      resetIsAvailableCache();
      throw error;
    });
    return (await client).idTokenProvider.fetchIdToken(audience);
  };
}
